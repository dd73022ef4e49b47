"""Sharing, review and numbered releases, through the real loader, storage and jobs."""

import datetime
import io
import zipfile

import pytest
from django.core.files.storage import default_storage

from conftest import approved_user
from immunoport.ingest.tests.packages import (  # noqa: F401 - fixtures
    immediate_tasks_fixture,
    own_storage_fixture,
)
from immunoport.releases import public, services
from immunoport.releases.models import ReleasedStudy, SharingRequest
from immunoport.studies import registration, wizard
from immunoport.studies.tests.registrations import STEPS, register

pytestmark = pytest.mark.usefixtures("own_storage", "immediate_tasks")

TODAY = datetime.date(2026, 11, 24)
ALL_CHECKED = [key for key, _ in services.REVIEW_CHECKLIST]


@pytest.fixture
def curator(db):
    return approved_user("curator")


def share(study, curator, share_after=TODAY) -> SharingRequest:
    sharing = services.request_sharing(study, None, share_after)
    return services.review(sharing, curator, checked=ALL_CHECKED, approve=True)


def release(capture, **options):
    with capture(execute=True):  # the downloads are built once the release is stored
        return services.build_release(today=TODAY, **options)


def stored(name: str) -> bytes:
    with default_storage.open(name) as handle:
        return handle.read()


def snapshot_bytes(released: ReleasedStudy) -> dict[str, bytes]:
    folder = released.snapshot
    return {name: stored(f"{folder}/{name}") for name in default_storage.listdir(folder)[1]}


def test_nothing_is_public_before_a_release(workspace, curator, django_capture_on_commit_callbacks):
    study = register(workspace)
    share(study, curator, share_after=TODAY + datetime.timedelta(days=30))
    assert not services.shared_studies().exists()
    dr1 = release(django_capture_on_commit_callbacks)
    assert dr1.label == "DR1"
    assert not dr1.studies.exists()  # approved, but due only next month
    assert not services.shared_studies().exists()


def test_an_update_goes_into_the_next_release_and_leaves_the_earlier_one_as_it_was(
    workspace, other_workspace, curator, django_capture_on_commit_callbacks
):
    first, second = register(workspace), register(other_workspace)
    share(first, curator)
    share(second, curator)
    dr1 = release(django_capture_on_commit_callbacks, notes="First release")
    assert [(s.study_accession, s.version, s.change) for s in dr1.studies.all()] == [
        (first.pk, 1, "added"),
        (second.pk, 1, "added"),
    ]
    in_dr1 = public.released_study(first.pk, dr1)
    dr1_snapshot = snapshot_bytes(in_dr1)
    dr1_download = stored(in_dr1.download)

    edit = registration.start_edit(first, None)
    rows = {"study": [STEPS["basic-info"]["study"][0] | {"Brief Title": "A new title"}]}
    assert not registration.save_step(edit, wizard.step("basic-info"), rows)
    registration.finish(edit, None)
    assert public.public_table(in_dr1, "study")["brief_title"][0] != "A new title"

    dr2 = release(django_capture_on_commit_callbacks)
    notes = public.release_notes(dr2)
    assert [s.study_accession for s in notes["updated"]] == [first.pk]
    assert [s.study_accession for s in notes["unchanged"]] == [second.pk]
    assert not notes["added"]
    in_dr2 = public.released_study(first.pk, dr2)
    assert in_dr2.version == 2
    assert public.public_table(in_dr2, "study")["brief_title"][0] == "A new title"
    # DR1 is as it was: its rows, snapshot files and download
    in_dr1.refresh_from_db()
    assert (
        public.public_table(in_dr1, "study")["brief_title"][0]
        == (STEPS["basic-info"]["study"][0]["Brief Title"])
    )
    assert snapshot_bytes(in_dr1) == dr1_snapshot
    assert stored(in_dr1.download) == dr1_download
    assert in_dr2.download != in_dr1.download
    # the unchanged study shares its DR1 snapshot and download
    second_dr1, second_dr2 = (
        public.released_study(second.pk, dr1),
        public.released_study(second.pk, dr2),
    )
    assert (second_dr2.version, second_dr2.snapshot, second_dr2.download_md5) == (
        1,
        second_dr1.snapshot,
        second_dr1.download_md5,
    )
    assert [r.release.label for r in public.releases_of(first.pk)] == ["DR2", "DR1"]


def test_a_release_download_holds_the_public_tables_and_the_documents(
    workspace, curator, django_capture_on_commit_callbacks
):
    study = register(workspace)
    share(study, curator)
    dr1 = release(django_capture_on_commit_callbacks)
    released = public.released_study(study.pk, dr1)
    archive = zipfile.ZipFile(io.BytesIO(stored(released.download)))
    names = archive.namelist()
    top = f"{study.pk}-DR1"
    assert f"{top}/Tab/study.txt" in names
    assert f"{top}/files/protocol/protocol.pdf" in names
    header = archive.read(f"{top}/Tab/study.txt").decode().splitlines()[0].split("\t")
    assert "USER_DEFINED_ID" not in header
    assert "STUDY_ACCESSION" in header
    dr1.refresh_from_db()
    assert dr1.all_studies


def test_approval_needs_the_whole_checklist_and_a_refusal_a_reason(workspace, curator):
    sharing = services.request_sharing(register(workspace), None, TODAY)
    with pytest.raises(services.SharingError, match="Tick every item"):
        services.review(sharing, curator, checked=ALL_CHECKED[:-1], approve=True)
    with pytest.raises(services.SharingError, match="Say what"):
        services.review(sharing, curator, checked=[], approve=False)
    sharing.refresh_from_db()
    assert sharing.status == SharingRequest.Status.REQUESTED


def test_a_flagged_title_is_withheld_from_the_release_listing_too(
    workspace, curator, django_capture_on_commit_callbacks
):
    study = register(workspace)
    study.brief_title = "Flu cohort; questions to jane.roe@example.org"
    study.save()
    share(study, curator)
    released = public.released_study(study.pk, release(django_capture_on_commit_callbacks))
    assert "jane.roe" not in released.title
    assert released.title == STEPS["basic-info"]["study"][0]["Official Title"]
