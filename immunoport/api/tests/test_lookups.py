"""ImmPort's lookup endpoints and legacy listings, over the lookups the demo loads."""

import io

import polars as pl
import pytest

from immunoport.api import reference
from immunoport.api.lookups import lookup_paths, lookup_table
from immunoport.schema.models import Lookup, LookupTerm

pytestmark = pytest.mark.django_db

BASE = "/data/query"


def test_every_documented_lookup_has_an_endpoint():
    assert len(lookup_paths()) == 45
    assert lookup_table("/api/lookup/lkSex") == "lk_gender"
    assert lookup_table("/api/lookup/lkExpMeasurementTech") == "lk_exp_measurement_tech"


@pytest.mark.parametrize("path", lookup_paths())
def test_each_lookup_answers_its_documented_fields_as_json_and_tsv(client, demo_release, path):
    answer = client.get(BASE + path)
    assert answer.status_code == 200
    rows = answer.json()
    loaded = LookupTerm.objects.filter(lookup=lookup_table(path)).count()
    assert len(rows) == loaded
    fields = reference.field_names(path)
    assert all(list(row) == fields for row in rows)

    tsv = client.get(BASE + path, {"format": "tsv"})
    assert tsv["Content-Type"].startswith("text/tab-separated-values")
    frame = pl.read_csv(io.BytesIO(tsv.content), separator="\t", infer_schema=False)
    assert frame.columns == fields
    assert frame.height == loaded


def test_lk_sex_answers_the_gender_terms(client, demo_release):
    names = [row["name"] for row in client.get(f"{BASE}/api/lookup/lkSex").json()]
    assert {"Female", "Male"} <= set(names)


def test_composite_parts_fill_their_fields(client, demo_release):
    rows = client.get(f"{BASE}/api/lookup/lkDisease").json()
    assert any(row["diseaseOntologyId"] for row in rows)


def test_a_curators_added_term_is_answered(client, demo_release):
    LookupTerm.objects.create(
        lookup=Lookup.objects.get(name="lk_research_focus"), name="Curated focus", curated=True
    )
    names = [row["name"] for row in client.get(f"{BASE}/api/lookup/lkResearchFocus").json()]
    assert "Curated focus" in names


def test_all_study_accessions_and_the_data_release(client, demo_release):
    accessions = client.get(f"{BASE}/study/findAllStudyAccessions").json()["studyAccessions"]
    assert sorted(accessions) == sorted(
        ["SDY139", "SDY208", "SDY702", "SDY1041", "SDY1097", "SDY1389"]
    )
    release = client.get(f"{BASE}/studydatarel/datarelver").json()
    assert release["version"] == demo_release.label
