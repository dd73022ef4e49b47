"""ImmPort's /api/study/ endpoints over the demo's real studies, released as DR1.

Values are spot-checked against ImmPort's own DR34 download of SDY702 (a test-only
copy under /work/shared/reference/real-data/; see its README).
"""

import io
from pathlib import Path

import polars as pl
import pytest
from django.contrib.auth.models import User

from immunoport.accounts.models import ApiToken
from immunoport.accounts.services import create_token
from immunoport.api.reference import field_names
from immunoport.api.study_data import ENDPOINTS, reference_path
from immunoport.portal.tests.conftest import build_study
from immunoport.releases.public import released_study
from immunoport.schema.reference import tables
from immunoport.studies.models import Subject

pytestmark = pytest.mark.django_db

IMMPORT_SDY702 = Path("/work/shared/reference/real-data/SDY702/SDY702-DR34_MySQL/MySQL")
ACCESSIONS = ("SDY702", "SDY208")  # one arm of organ donors; seven arms with results
ROW_PATHS = [reference_path(endpoint) for endpoint in ENDPOINTS]
FILE_PATHS = [
    "/api/study/manifest/{studyAccession}",
    "/api/study/filePath/{studyAccession}",
    "/api/study/filePath/protocolFiles/{studyAccession}",
    "/api/study/filePath/resultFiles/{studyAccession}",
    "/api/study/filePath/studyFiles/{studyAccession}",
]
# DR34's arm_or_cohort had one type column where the model now has two
ARM_COLUMNS = ["arm_accession", "description", "name", "study_accession"]
SUMMARY = "/api/study/summary/{studyAccession}"
STUDY_PATHS = [*ROW_PATHS, *FILE_PATHS, SUMMARY]


@pytest.fixture
def bearer(demo_release):
    user = User.objects.create_user("study-reader", password="a long pass phrase")
    _, secret = create_token(user, "study", ApiToken.Scope.READ_SHARED)
    return {"HTTP_AUTHORIZATION": f"bearer {secret}"}


def url(path: str, accession: str) -> str:
    return "/data/query" + path.replace("{studyAccession}", accession)


def immport_rows(table: str, columns: list[str] | None = None) -> pl.DataFrame:
    """A table of ImmPort's MySQL package: no header, ``columns`` (by default the model's)
    in order, ``~@~`` between fields, ``~@@~`` ending a row, ``\\N`` for null."""
    columns = columns or [column["name"] for column in tables()[table]["columns"]]
    text = (IMMPORT_SDY702 / f"{table}.txt").read_text(encoding="utf-8")
    rows = [line.split("~@~") for line in text.split("~@@~\n") if line.strip()]
    return pl.DataFrame(
        [[None if value == "\\N" else value for value in row] for row in rows],
        schema=columns,
        orient="row",
    )


@pytest.mark.parametrize("accession", ACCESSIONS)
@pytest.mark.parametrize("path", STUDY_PATHS)
def test_every_endpoint_answers_the_reference_fields_in_json_and_tsv(
    client, bearer, path, accession
):
    answer = client.get(url(path, accession), **bearer)
    assert answer.status_code == 200, answer.content[:300]
    fields = field_names(path)
    if path == SUMMARY:
        assert list(answer.json()) == fields
        return
    rows = answer.json()
    assert all(list(row) == fields for row in rows)
    tsv = client.get(url(path, accession), {"format": "tsv"}, **bearer)
    assert tsv.status_code == 200
    assert tsv["Content-Type"].startswith("text/tab-separated-values")
    parsed = pl.read_csv(io.BytesIO(tsv.content), separator="\t", infer_schema=False)
    assert parsed.columns == fields
    assert parsed.height == len(rows)


@pytest.mark.parametrize("accession", ACCESSIONS)
def test_each_endpoint_has_a_row_per_row_of_its_public_table(client, bearer, accession):
    released = released_study(accession)
    for endpoint, source in ENDPOINTS.items():
        rows = client.get(url(reference_path(endpoint), accession), **bearer).json()
        assert len(rows) == released.counts.get(source.table, 0), endpoint
    assert released.counts["subject"] > 0
    assert released.counts["biosample"] > 0


@pytest.mark.parametrize("path", [*STUDY_PATHS, "/api/study/getRestrictedStudyAccessions"])
def test_every_endpoint_refuses_a_caller_without_a_token(client, demo_release, path):
    assert client.get(url(path, "SDY702")).status_code == 401
    bad = {"HTTP_AUTHORIZATION": "bearer not-a-token"}
    assert client.get(url(path, "SDY702"), **bad).status_code == 401


def test_no_study_is_restricted(client, bearer):
    answer = client.get("/data/query/api/study/getRestrictedStudyAccessions", **bearer)
    assert answer.json() == []


def test_a_private_or_unknown_accession_is_not_found_and_never_named(client, bearer, workspace):
    private = build_study(
        workspace, title="Secret tuberculosis cohort", subjects=2, condition="Tuberculosis",
        results_per_subject=1, shared=False,
    )  # fmt: skip
    private_ids = [
        private.pk,
        *Subject.objects.filter(workspace=workspace).values_list("pk", flat=True),
    ]
    unknown = client.get(url(ROW_PATHS[0], "SDY999999"), **bearer)
    for path in STUDY_PATHS:
        answer = client.get(url(path, private.pk), **bearer)
        assert answer.status_code == 404, path
        assert answer.json() == unknown.json()
        assert client.get(url(path, "SDY999999"), **bearer).status_code == 404
        shared = client.get(url(path, "SDY702"), **bearer).content.decode()
        assert "Secret tuberculosis" not in shared
        assert not any(str(pk) in shared for pk in private_ids)


def test_sdy702_values_are_immports(client, bearer):
    def get(endpoint: str) -> pl.DataFrame:
        return pl.DataFrame(client.get(url(reference_path(endpoint), "SDY702"), **bearer).json())

    study = get("").row(0, named=True)
    assert (study["briefTitle"], study["actualEnrollment"]) == ("Human T Cell Profile", 56)
    arm = get("arm").row(0, named=True)
    immport_arm = immport_rows("arm_or_cohort", [*ARM_COLUMNS, "type", "workspace_id"]).row(
        0, named=True
    )
    assert (arm["armAccession"], arm["name"]) == (
        immport_arm["arm_accession"],
        immport_arm["name"],
    )
    experiment = get("experiment").row(0, named=True)
    assert experiment["measurementTechnique"] == "Flow Cytometry"

    demographic = get("demographic").sort("subjectAccession")
    subjects = immport_rows("subject").sort("subject_accession")
    assert demographic["subjectAccession"].to_list() == subjects["subject_accession"].to_list()
    for field, column in (("gender", "gender"), ("ethnicity", "ethnicity"), ("species", "species")):
        assert demographic[field].to_list() == subjects[column].to_list(), field
    assert set(demographic["armAccession"]) == {immport_arm["arm_accession"]}
    assert set(demographic["armName"]) == {immport_arm["name"]}

    # biosamples joined to their subjects and visits as ImmPort's rows join them
    biosample = get("biosample").sort("biosampleAccession")
    samples = immport_rows("biosample").sort("biosample_accession")
    assert (
        biosample.select(
            "biosampleAccession", "subjectAccession", "plannedVisitAccession", "type"
        ).rows()
        == samples.select(
            "biosample_accession", "subject_accession", "planned_visit_accession", "type"
        ).rows()
    )
    assert biosample["gender"].null_count() == 0

    expsample = get("expsample").sort("expsampleAccession")
    links = immport_rows("expsample_2_biosample").sort("expsample_accession")
    assert (
        expsample.select("expsampleAccession", "biosampleAccession").rows()
        == links.select("expsample_accession", "biosample_accession").rows()
    )
    assert set(expsample["measurementTechnique"]) == {"Flow Cytometry"}


def test_the_summary_nests_links_publications_and_personnel(client, bearer):
    summary = client.get(url(SUMMARY, "SDY702"), **bearer).json()
    pubmed = client.get(url(reference_path("pubmed"), "SDY702"), **bearer).json()
    assert summary["studyAccession"] == "SDY702"
    assert summary["title"] == "Human T Cell Profile"
    assert summary["subjectsNumber"] == 56
    assert summary["studyPubmeds"] == pubmed
    assert pubmed
    assert summary["studyPersonnel"]
    assert summary["contractGrant"]
    assert summary["program"]
    assert all(list(row) == field_names(reference_path("link")) for row in summary["studyLinks"])


def test_the_open_ui_summary_is_the_api_summary(client, bearer):
    opened = client.get("/data/query/ui/study/summary/SDY702")
    assert opened.status_code == 200
    assert opened.json() == client.get(url(SUMMARY, "SDY702"), **bearer).json()
    assert client.get("/data/query/ui/study/summary/SDY999999").status_code == 404
