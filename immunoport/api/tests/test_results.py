"""The result endpoints against the demo's six real ImmPort studies (DR1).

Expected rows come from the released snapshots, filtered here with polars on their own
columns, and values are spot-checked against ImmPort's own download of SDY208.
"""

import io
import json
from pathlib import Path

import polars as pl
import pytest
from django.contrib.auth.models import User
from django.db import transaction

from immunoport.accounts.models import ApiToken
from immunoport.accounts.services import create_token
from immunoport.api import reference, results
from immunoport.portal.tests.conftest import build_study
from immunoport.releases import public, services
from immunoport.workspaces.models import Workspace

pytestmark = pytest.mark.django_db

REAL_DATA = Path("/work/shared/reference/real-data")
# The demo's result tables by endpoint; MBAA, HLA and the others hold no demo rows.
DEMO_RESULTS = {
    "/result/elisa": "elisa_result",
    "/result/elispot": "elispot_result",
    "/result/hai": "hai_result",
    "/result/neutAbTiter": "neut_ab_titer_result",
    "/result/pcr": "pcr_result",
    "/result/fcsAnalyzed": "fcs_analyzed_result",
    "/result/filePath": "expsample_2_file_info",
}


@pytest.fixture
def bearer(demo_release):
    user = User.objects.create_user("reader", password="a long pass phrase")
    _, secret = create_token(user, "results", ApiToken.Scope.READ_SHARED)
    return {"HTTP_AUTHORIZATION": f"bearer {secret}"}


def get(client, bearer, path, **params):
    response = client.get(f"/data/query{path}", params, **bearer)
    assert response.status_code == 200, response.content[:500]
    return response


def answer(client, bearer, path, **params) -> list[dict]:
    return json.loads(get(client, bearer, path, **params).content)


def snapshot(table: str) -> pl.DataFrame:
    return public.released_table(table)


def test_every_result_endpoint_of_the_reference_is_served():
    documented = {path for path in reference.endpoints() if path.startswith("/result/")}
    assert set(results.RESULTS) == documented


@pytest.mark.parametrize("path", sorted(results.RESULTS))
def test_a_result_endpoint_needs_a_token(client, demo_release, path):
    assert client.get(f"/data/query{path}").status_code == 401
    bad = {"HTTP_AUTHORIZATION": "bearer not-a-token"}
    assert client.get(f"/data/query{path}", **bad).status_code == 401


@pytest.mark.parametrize("path", sorted(results.RESULTS))
def test_the_fields_are_the_references_in_order(client, bearer, path):
    rows = get(client, bearer, path, format="tsv").content.decode().splitlines()
    assert rows[0].split("\t") == reference.field_names(path)


@pytest.mark.parametrize("path", sorted(DEMO_RESULTS))
def test_each_study_answers_its_snapshot_rows(client, bearer, demo_release, path):
    table = DEMO_RESULTS[path]
    for released in public.released_studies(demo_release):
        rows = answer(client, bearer, path, studyAccession=released.study_accession)
        assert len(rows) == released.counts.get(table, 0), (path, released.study_accession)
        assert {row["studyAccession"] for row in rows} <= {released.study_accession}
    everything = answer(client, bearer, path)
    assert len(everything) == len(snapshot(table)) > 0
    assert all(set(row) == set(reference.field_names(path)) for row in everything)


def test_the_view_joins_subject_arm_biosample_experiment_and_study(client, bearer):
    rows = answer(client, bearer, "/result/hai")
    subjects = snapshot("subject").unique("subject_accession")
    biosamples = snapshot("biosample")
    for row in rows:
        subject = subjects.row(
            by_predicate=pl.col("subject_accession") == row["subjectAccession"], named=True
        )
        biosample = biosamples.row(
            by_predicate=pl.col("biosample_accession") == row["biosampleAccession"], named=True
        )
        assert (row["gender"], row["species"], row["strain"]) == (
            subject["gender"], subject["species"], subject["strain"]
        )  # fmt: skip
        assert (row["biosampleType"], row["plannedVisitAccession"]) == (
            biosample["type"], biosample["planned_visit_accession"]
        )  # fmt: skip
        assert all(row[name] for name in ("armName", "measurementTechnique", "studyTitle"))
        assert row["minSubjectAge"] is not None


def test_values_match_immports_own_download_of_sdy208(client, bearer):
    """SDY208's DR16 hai_result: the same subjects, strains and reported titers."""
    immport = pl.read_csv(
        REAL_DATA / "SDY208/SDY208-DR16_Tab/Tab/hai_result.txt", separator="\t", infer_schema=False
    )
    ours = pl.DataFrame(answer(client, bearer, "/result/hai", studyAccession="SDY208"))
    columns = {"SUBJECT_ACCESSION": "subjectAccession", "VALUE_REPORTED": "valueReported"}
    expected = immport.select(**{name: pl.col(column) for column, name in columns.items()})
    assert sorted(ours.select(columns.values()).rows()) == sorted(expected.rows())


def filtered(table: str, condition: pl.Expr) -> set[int]:
    return set(snapshot(table).filter(condition)["result_id"])


def ids(rows: list[dict]) -> set[int]:
    return {row["resultId"] for row in rows}


def test_study_and_subject_filters_take_repeats_and_commas(client, bearer):
    subjects = sorted(snapshot("elispot_result")["subject_accession"].unique())[:3]
    expected = filtered("elispot_result", pl.col("subject_accession").is_in(subjects))
    repeated = client.get(
        "/data/query/result/elispot", [("subjectAccession", s) for s in subjects], **bearer
    )
    assert ids(json.loads(repeated.content)) == expected
    comma = answer(client, bearer, "/result/elispot", subjectAccession=",".join(subjects))
    assert ids(comma) == expected
    lower = answer(client, bearer, "/result/elispot", studyAccession="sdy139,SDY208")
    assert ids(lower) == set(snapshot("elispot_result")["result_id"])


def test_biosample_time_and_sex_filters_narrow_as_the_snapshot_does(client, bearer):
    joined = (
        snapshot("elisa_result")
        .join(snapshot("biosample").select("biosample_accession", "type"), on="biosample_accession")
        .join(snapshot("subject").unique("subject_accession"), on="subject_accession")
    )
    kind = joined["type"][0]
    by_type = answer(client, bearer, "/result/elisa", biosampleType=kind.upper())
    assert ids(by_type) == set(joined.filter(pl.col("type") == kind)["result_id"])
    early = answer(client, bearer, "/result/elisa", studyTimeCollectedLt=30)
    assert ids(early) == set(joined.filter(pl.col("study_time_collected") < 30)["result_id"])
    assert 0 < len(early) < len(joined)
    sex = joined["gender"].drop_nulls()[0]
    by_sex = answer(client, bearer, "/result/elisa", sex=sex)
    assert ids(by_sex) == set(joined.filter(pl.col("gender") == sex)["result_id"])
    assert ids(answer(client, bearer, "/result/elisa", gender=sex)) == ids(by_sex)


def test_age_filters_compare_the_arm_ages(client, bearer):
    ages = snapshot("elispot_result").join(
        snapshot("arm_2_subject"), on=["arm_accession", "subject_accession"], how="left"
    )
    bound = ages["min_subject_age"].drop_nulls().median()
    rows = answer(client, bearer, "/result/elispot", minSubjectAgeGte=bound)
    assert ids(rows) == set(ages.filter(pl.col("min_subject_age") >= bound)["result_id"])
    assert rows


def test_a_treatment_filter_matches_any_of_a_samples_treatments(client, bearer):
    treated = snapshot("expsample_2_treatment")
    files = snapshot("expsample_2_file_info")
    treatment = treated["treatment_accession"][0]
    samples = set(treated.filter(pl.col("treatment_accession") == treatment)["expsample_accession"])
    rows = answer(client, bearer, "/result/filePath", treatmentAccession=treatment)
    assert {row["sourceAccession"] for row in rows} == samples & set(files["expsample_accession"])
    assert rows


def test_tsv_holds_the_same_rows_as_json(client, bearer):
    rows = answer(client, bearer, "/result/pcr")
    tsv = get(client, bearer, "/result/pcr", format="tsv")
    assert tsv["Content-Type"] == "text/tab-separated-values"
    parsed = pl.read_csv(io.BytesIO(tsv.content), separator="\t", infer_schema_length=None)
    assert parsed.to_dicts() == pl.DataFrame(rows, schema=parsed.schema).to_dicts()


@pytest.mark.parametrize(
    "params",
    [{"minSubjectAgeGte": "abc"}, {"studyTimeCollected": "soon"}, {"format": "xml"}],
)
def test_bad_values_are_refused_with_a_clear_message(client, bearer, params):
    response = client.get("/data/query/result/hai", params, **bearer)
    assert response.status_code == 422
    assert list(params) == [error["loc"][-1] for error in response.json()["detail"]]


def test_a_too_large_answer_asks_for_a_study(client, bearer, monkeypatch):
    monkeypatch.setattr(results, "MAX_ROWS", 100)
    response = client.get("/data/query/result/elispot", **bearer)
    assert response.status_code == 400
    assert "Filter by studyAccession" in response.json()["detail"]
    assert get(client, bearer, "/result/elispot", studyAccession="SDY208")


def test_a_private_studys_results_never_appear(client, bearer, demo_release):
    with transaction.atomic():
        private = build_study(
            Workspace.objects.create(name="Private lab"), title="Private lupus cohort",
            subjects=3, condition="Lupus", results_per_subject=2, shared=False,
        )  # fmt: skip
        services.build_release()
        body = get(client, bearer, "/result/elisa", format="tsv").content.decode()
        assert private.accession not in body
        assert "Private lupus" not in body
        assert len(body.splitlines()) == 1 + len(snapshot("elisa_result"))
        transaction.set_rollback(True)
