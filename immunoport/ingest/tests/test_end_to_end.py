"""The issue's acceptance path, with nothing stood in: a ZIP package with a study,
subjects, biosamples, experiment samples, results and an FCS file goes up through
HTTP (the `upload` command: JSON API + tus), the background job validates and loads
it with the real loader, and the status page lists the records with their
accessions. Run on local disk and on an S3-compatible server."""

import hashlib
import io
import re

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command

from conftest import approved_user
from immunoport.accounts.services import create_token
from immunoport.ingest.models import Package
from immunoport.ingest.tests.packages import (
    as_zip,
    immediate_tasks_fixture,  # noqa: F401 - fixture
    own_storage_fixture,  # noqa: F401 - fixture
    valid_files,
)
from immunoport.studies import models as m
from immunoport.tus.models import Upload
from immunoport.workspaces.models import Membership

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("immediate_tasks")]

# A minimal FCS 3.0 file: the header's text segment offsets, then a text segment.
FCS = (
    b"FCS3.0    " + b"%8d%8d%8d%8d%8d%8d" % (58, 120, 0, 0, 0, 0) + b"|$TOT|0|$PAR|1|$P1N|FSC-A|"
).ljust(200, b" ")


@pytest.fixture(autouse=True)
def _resume_file_in_tmp(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture(params=["local disk", "s3"])
def file_storage(request):
    return request.getfixturevalue("s3_storage" if request.param == "s3" else "own_storage")


def package_zip() -> bytes:
    files = valid_files(
        {
            "experimentSamples.ELISA.txt": (
                "trt_none\t\t\t\tflu_vax_2021",
                "trt_none\t\t\tplate1.fcs\tflu_vax_2021",
            )
        }
    )
    files["plate1.fcs"] = FCS
    return as_zip(files, "flu_vaccine/")


def test_a_zip_package_goes_up_over_http_and_its_records_get_accessions(
    live_server, client, sign_in, workspace, tmp_path, file_storage
):
    uploader = approved_user("uploader")
    Membership.objects.create(workspace=workspace, user=uploader, role=Membership.Role.UPLOADER)
    token = create_token(uploader, "laptop", "workspace-write", workspace)[1]
    archive = tmp_path / "flu_vaccine.zip"
    archive.write_bytes(package_zip())

    out = io.StringIO()
    call_command(
        "upload",
        str(archive),
        workspace=workspace.pk,
        token=token,
        url=live_server.url,
        wait=True,
        stdout=out,
        stderr=io.StringIO(),
    )
    package = Package.objects.get()
    assert package.state == "loaded", package.error
    assert out.getvalue().rstrip().endswith("Loaded")

    # records, each with an accession of its kind, the user-defined IDs kept beside them
    study = m.Study.objects.get(workspace_id=workspace.pk)
    assert re.fullmatch(r"SDY\d+", study.study_accession)
    assert study.user_defined_id == "flu_vax_2021"
    subjects = m.Subject.objects.filter(workspace_id=workspace.pk)
    biosamples = m.Biosample.objects.filter(workspace_id=workspace.pk)
    expsamples = m.Expsample.objects.filter(workspace_id=workspace.pk)
    assert subjects.count() >= 2
    assert all(re.fullmatch(r"SUB\d+", s.subject_accession) for s in subjects)
    assert all(re.fullmatch(r"BS\d+", b.biosample_accession) for b in biosamples)
    assert all(re.fullmatch(r"ES\d+", e.expsample_accession) for e in expsamples)
    assert m.ElisaResult.objects.filter(workspace_id=workspace.pk).exists()

    # the FCS file is stored, linked to its experiment sample, byte for byte
    link = m.Expsample2FileInfo.objects.select_related("file_info", "expsample").get(
        file_info__original_file_name="plate1.fcs"
    )
    assert link.expsample.user_defined_id == "es_1_d0"
    assert link.file_info.filesize_bytes == len(FCS)
    uploaded = package.files.get()
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    assert uploaded.sha256 == digest
    # the client sent the whole file's checksum, which the server checked at the end
    assert Upload.objects.get().metadata["sha256"] == digest
    stored = [name for name in _stored_names() if name.endswith("plate1.fcs")]
    assert len(stored) == 1
    with default_storage.open(stored[0]) as fcs:
        assert fcs.read() == FCS

    # the status page lists what was created, with accessions
    sign_in(client, uploader)
    html = client.get(f"/workspaces/{workspace.pk}/packages/{package.pk}/").content.decode()
    assert "<strong>Loaded</strong>" in html
    for accession in (
        study.study_accession,
        subjects.first().subject_accession,
        expsamples.first().expsample_accession,
    ):
        assert accession in html
    records = package.records.values_list("table", "action")
    assert ("study", "created") in records
    assert ("expsample", "created") in records


def _stored_names(folder: str = "") -> list[str]:
    folders, files = default_storage.listdir(folder)
    names = [f"{folder}{name}" for name in files]
    for sub in folders:
        names += _stored_names(f"{folder}{sub}/")
    return names
