"""ImmPort's research tables looked up by their ImmPort names."""

from functools import cache

from django.apps import apps
from django.db import models


@cache
def models_by_table() -> dict[str, type[models.Model]]:
    """``{"study": Study, "arm_2_subject": Arm2Subject, ...}``."""
    return {m._meta.db_table: m for m in apps.get_app_config("studies").get_models()}


def result_models() -> list[type[models.Model]]:
    """The assay and measurement result tables (elisa_result, hai_result, ...)."""
    return [m for table, m in sorted(models_by_table().items()) if table.endswith("_result")]
