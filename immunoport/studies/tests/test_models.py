import subprocess
import sys
from pathlib import Path

import pytest

from immunoport.core.models import AccessionedRecord
from immunoport.schema.reference import tables
from immunoport.studies.registry import models_by_table

ROOT = Path(__file__).resolve().parents[3]
RESEARCH_TABLES = sorted(n for n in tables() if not n.startswith("lk_") and n != "workspace")


def db_columns(model) -> set[str]:
    return {field.column for field in model._meta.concrete_fields}


def test_every_research_table_has_a_model_with_immports_columns():
    models = models_by_table()
    assert len(RESEARCH_TABLES) == 71
    assert sorted(models) == RESEARCH_TABLES
    for name in RESEARCH_TABLES:
        expected = {column["name"] for column in tables()[name]["columns"]}
        assert expected <= db_columns(models[name]), name
        assert "workspace_id" in db_columns(models[name]), name


def test_accessioned_tables_carry_a_private_user_defined_id():
    accessioned = {
        name: model
        for name, model in models_by_table().items()
        if issubclass(model, AccessionedRecord)
    }
    assert accessioned["study"].accession_prefix == "SDY"
    assert accessioned["expsample"].accession_prefix == "ES"
    assert accessioned["reagent"].accession_prefix == "ESR"
    assert accessioned["study_personnel"].accession_prefix == "PSN"
    for name, model in accessioned.items():
        assert model._meta.pk.column == tables()[name]["primary_key"][0]
        assert "user_defined_id" in db_columns(model)


def test_references_keep_immports_column_names():
    biosample = models_by_table()["biosample"]
    subject = biosample._meta.get_field("subject")
    assert subject.column == "subject_accession"
    assert subject.related_model is models_by_table()["subject"]
    # lookups stay values: the provider's reported term survives vocabulary changes
    assert biosample._meta.get_field("type").get_internal_type() == "CharField"


@pytest.mark.parametrize("table", ["arm_2_subject", "study_pubmed", "expsample_2_biosample"])
def test_composite_keys_are_unique_constraints(table):
    model = models_by_table()[table]
    constraint = next(c for c in model._meta.constraints if c.name == f"{table}_immport_key")
    key = tables()[table]["primary_key"]
    assert sorted(model._meta.get_field(f).column for f in constraint.fields) == sorted(key)


def test_generated_models_are_up_to_date():
    result = subprocess.run(
        [sys.executable, "scripts/generate_models.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
