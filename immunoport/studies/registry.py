"""ImmPort's research tables looked up by their ImmPort names."""

from functools import cache

from django.apps import apps
from django.db import models

from immunoport.schema.reference import tables


@cache
def models_by_table() -> dict[str, type[models.Model]]:
    """``{"study": Study, "arm_2_subject": Arm2Subject, ...}``."""
    immport = tables()  # the app also holds RecordHistory, which is none of ImmPort's
    return {
        m._meta.db_table: m
        for m in apps.get_app_config("studies").get_models()
        if m._meta.db_table in immport
    }


def result_models() -> list[type[models.Model]]:
    """The assay and measurement result tables (elisa_result, hai_result, ...)."""
    return [m for table, m in sorted(models_by_table().items()) if table.endswith("_result")]
