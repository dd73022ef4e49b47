"""A study registered with the wizard is the study its templates would load, column by
column, and its export is a package that validates and loads back to the same rows."""

import datetime
import io
import zipfile

import pytest
from django.core.files.storage import default_storage

from immunoport.ingest.loader import load_package
from immunoport.ingest.tests.packages import own_storage_fixture  # noqa: F401 - fixture
from immunoport.studies import registration
from immunoport.studies.models import FileInfo
from immunoport.studies.tests.registrations import (
    CONSENT_DOCUMENT,
    PROTOCOL_DOCUMENT,
    STEPS,
    STUDY_TABLES,
    register,
    study_rows,
    write_templates,
)
from immunoport.validation.validator import validate_package
from immunoport.workspaces.models import Workspace

pytestmark = pytest.mark.usefixtures("own_storage")


@pytest.fixture
def registered(workspace):
    return register(workspace)


def test_the_wizard_stores_what_the_templates_would_column_by_column(
    registered, workspace, other_workspace, tmp_path
):
    load_package(write_templates(tmp_path / "package"), other_workspace)

    wizard_rows, template_rows = study_rows(workspace), study_rows(other_workspace)
    for table in STUDY_TABLES:
        assert wizard_rows[table], f"the wizard wrote no {table} row"
        assert wizard_rows[table] == template_rows[table], table
    # the rows compared hold the study's values, not nulls on both sides
    (study,) = wizard_rows["study"]
    entered = STEPS["basic-info"]["study"][0]
    assert study["official_title"] == entered["Official Title"]
    assert study["actual_start_date"] == datetime.date(2024, 9, 15)
    assert study["target_enrollment"] == 40
    assert {(a["user_defined_id"], a["study_accession"]) for a in wizard_rows["arm_or_cohort"]} == {
        ("arm_young", "ref:flu_vax_2024"),
        ("arm_older", "ref:flu_vax_2024"),
    }
    assert wizard_rows["study_2_protocol"] == [
        {"study_accession": "ref:flu_vax_2024", "protocol_accession": "ref:prot_main"}
    ]
    # the documents: recorded alike (file_info's storage name holds the workspace)
    assert (
        documents(workspace)
        == documents(other_workspace)
        == {
            ("protocol.pdf", len(PROTOCOL_DOCUMENT), PROTOCOL_DOCUMENT),
            ("consent.txt", len(CONSENT_DOCUMENT), CONSENT_DOCUMENT),
        }
    )


def documents(workspace) -> set[tuple[str, int, bytes]]:
    found = set()
    for info in FileInfo.objects.filter(workspace=workspace):
        with default_storage.open(info.name, "rb") as stored:
            found.add((info.original_file_name, info.filesize_bytes, stored.read()))
    return found


def test_the_export_validates_cleanly_and_loads_back_to_the_same_rows(
    registered, workspace, tmp_path
):
    archive = tmp_path / "export.zip"
    archive.write_bytes(registration.export_package(registered))

    report = validate_package(archive, existing=None)
    assert report.errors == 0, report.findings.to_dicts()
    assert report.warnings == 0, report.findings.to_dicts()
    with zipfile.ZipFile(io.BytesIO(archive.read_bytes())) as opened:
        assert sorted(opened.namelist()) == [
            "basic_study_design.txt",
            "consent.txt",
            "protocol.pdf",
            "protocols.txt",
        ]
        opened.extractall(tmp_path / "unpacked")

    fresh = Workspace.objects.create(name="Round-trip lab")
    load_package(tmp_path / "unpacked", fresh)
    assert study_rows(fresh) == study_rows(workspace)
