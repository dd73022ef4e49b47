"""The public release pages and downloads: DR1, then DR2 with one study updated."""

import datetime
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass

import pytest
from django.urls import reverse

from conftest import approved_user
from immunoport.ingest.tests.packages import (  # noqa: F401 - fixtures
    immediate_tasks_fixture,
    own_storage_fixture,
)
from immunoport.releases import public, services
from immunoport.releases.models import DataRelease
from immunoport.studies import registration, wizard
from immunoport.studies.models import Study
from immunoport.studies.tests.registrations import STEPS, register
from immunoport.workspaces.models import Workspace

pytestmark = pytest.mark.usefixtures("own_storage", "immediate_tasks")

TODAY = datetime.date(2026, 11, 24)
ALL_CHECKED = [key for key, _ in services.REVIEW_CHECKLIST]
FIRST_TITLE = STEPS["basic-info"]["study"][0]["Brief Title"]
NEW_TITLE = "Antibody response to seasonal influenza vaccine, two seasons"
PRIVATE_TITLE = "Private lupus cohort"


@dataclass
class Releases:
    updated: str  # accession of the study updated in DR2
    unchanged: str  # accession of the study DR2 carries unchanged
    private: str  # accession of a study never shared
    dr1: DataRelease
    dr2: DataRelease


def share(study, curator) -> None:
    sharing = services.request_sharing(study, None, TODAY)
    services.review(sharing, curator, checked=ALL_CHECKED, approve=True)


def release(capture, **options) -> DataRelease:
    with capture(execute=True):  # the downloads are built once the release is stored
        made = services.build_release(today=TODAY, **options)
    made.refresh_from_db()
    return made


@pytest.fixture
def releases(workspace, other_workspace, django_capture_on_commit_callbacks) -> Releases:
    curator = approved_user("curator")
    first, second = register(workspace), register(other_workspace)
    private = Study.objects.create(
        workspace=Workspace.objects.create(name="Lupus lab"), brief_title=PRIVATE_TITLE
    )
    share(first, curator)
    share(second, curator)
    dr1 = release(django_capture_on_commit_callbacks, notes="The first studies.")
    edit = registration.start_edit(first, None)
    rows = {"study": [STEPS["basic-info"]["study"][0] | {"Brief Title": NEW_TITLE}]}
    assert not registration.save_step(edit, wizard.step("basic-info"), rows)
    registration.finish(edit, None)
    dr2 = release(django_capture_on_commit_callbacks, notes="A new title for one study.")
    return Releases(first.pk, second.pk, private.pk, dr1, dr2)


def body(response) -> bytes:
    """The whole body; reading a streamed one to its end closes its file."""
    return b"".join(response.streaming_content) if response.streaming else response.content


def fetch(client, url: str) -> tuple[int, bytes]:
    response = client.get(url)
    return response.status_code, body(response)


def test_the_releases_page_lists_every_release_newest_first_with_its_changes(
    client, releases, django_assert_num_queries
):
    with django_assert_num_queries(1):  # one query, however many releases
        response = client.get(reverse("portal:releases"))
    assert response.status_code == 200
    listed = [(r.label, r.total, r.added, r.updated) for r in response.context["releases"]]
    assert listed == [("DR2", 2, 0, 1), ("DR1", 2, 2, 0)]
    html = response.content.decode()
    assert html.index('href="/shared/releases/DR2/"') < html.index('href="/shared/releases/DR1/"')
    assert "A new title for one study." in html
    assert "The first studies." in html


def test_the_release_notes_list_studies_added_updated_and_unchanged(client, releases):
    dr1 = client.get(reverse("portal:release", args=["DR1"]))
    notes = dr1.context["notes"]
    assert [(s.study_accession, s.version) for s, _ in notes["added"]] == [
        (releases.updated, 1),
        (releases.unchanged, 1),
    ]
    assert not notes["updated"]
    assert not notes["unchanged"]
    html = dr1.content.decode()
    assert FIRST_TITLE in html
    assert 'href="/shared/releases/DR1/ALLSTUDIES.zip"' in html

    dr2 = client.get(reverse("portal:release", args=["DR2"]))
    notes = dr2.context["notes"]
    assert not notes["added"]
    assert [(s.study_accession, s.version, s.title) for s, _ in notes["updated"]] == [
        (releases.updated, 2, NEW_TITLE)
    ]
    assert [(s.study_accession, s.version) for s, _ in notes["unchanged"]] == [
        (releases.unchanged, 1)
    ]
    figures = notes["updated"][0][1]
    assert figures == {
        "subjects": 0,
        "biosamples": 0,
        "experiments": 0,
        "expsamples": 0,
        "results": 0,
    }
    html = dr2.content.decode()
    assert NEW_TITLE in html
    assert f'href="/shared/study/{releases.updated}/"' in html
    assert f'href="/shared/study/{releases.unchanged}/"' in html
    assert PRIVATE_TITLE not in html
    assert releases.private not in html


def test_the_study_page_shows_the_current_release_and_every_download_with_its_md5(client, releases):
    response = client.get(reverse("portal:study", args=[releases.updated]))
    assert response.status_code == 200
    html = response.content.decode()
    assert f"<h1>{NEW_TITLE}</h1>" in html
    assert "Young adults" in html
    assert "Day 28" in html
    assert "Pregnancy" in html
    assert "influenza" in html
    assert [(r.release.label, r.version) for r in response.context["releases"]] == [
        ("DR2", 2),
        ("DR1", 1),
    ]
    citation = public.released_study(releases.updated).citation()
    assert citation in html
    assert "version 2, data release DR2" in citation

    rows = re.findall(
        r'<a href="(/shared/study/[^"]+\.zip)" download>.*?data-bytes="(\d+)".*?'
        r'<code class="md5">([0-9a-f]{32})</code>',
        html,
        re.S,
    )
    assert [url for url, _, _ in rows] == [
        f"/shared/study/{releases.updated}/DR2.zip",
        f"/shared/study/{releases.updated}/DR1.zip",
    ]
    contents = []
    for url, size, md5 in rows:
        download = client.get(url)
        assert download.status_code == 200
        assert download["Content-Type"] == "application/zip"
        assert download["Content-Disposition"].startswith("attachment;")
        content = body(download)
        assert (hashlib.md5(content).hexdigest(), len(content)) == (md5, int(size))
        contents.append(content)
    assert rows[0][2] != rows[1][2]
    titles = [
        zipfile.ZipFile(io.BytesIO(content))
        .read(f"{releases.updated}-{label}/Tab/study.txt")
        .decode()
        for content, label in zip(contents, ("DR2", "DR1"), strict=True)
    ]
    assert NEW_TITLE in titles[0]
    assert NEW_TITLE not in titles[1]


def test_an_unchanged_study_is_served_in_each_release_with_the_same_download(client, releases):
    html = client.get(reverse("portal:study", args=[releases.unchanged])).content.decode()
    md5s = re.findall(r'<code class="md5">([0-9a-f]{32})</code>', html)
    assert len(md5s) == 2
    assert md5s[0] == md5s[1]
    for label in ("DR1", "DR2"):
        content = body(client.get(f"/shared/study/{releases.unchanged}/{label}.zip"))
        assert hashlib.md5(content).hexdigest() == md5s[0]


def test_allstudies_is_served_with_its_md5(client, releases):
    for made in (releases.dr1, releases.dr2):
        response = client.get(reverse("portal:release-allstudies", args=[made.label]))
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith("attachment;")
        content = body(response)
        assert hashlib.md5(content).hexdigest() == made.all_studies_md5
        table = zipfile.ZipFile(io.BytesIO(content)).read(f"ALLSTUDIES-{made.label}/ALLSTUDIES.tsv")
        assert releases.updated.encode() in table
        assert PRIVATE_TITLE.encode() not in table


def test_the_shared_data_list_links_to_study_pages_and_releases(client, releases):
    html = client.get(reverse("portal:shared-data")).content.decode()
    assert f'<a href="/shared/study/{releases.updated}/">{releases.updated}</a>' in html
    assert 'href="/shared/releases/"' in html
    assert PRIVATE_TITLE not in html


NOT_FOUND = (
    "/shared/releases/DR9/",
    "/shared/releases/DR1.0/",  # DR1's label is DR1
    "/shared/releases/dr1/",
    "/shared/releases/latest/",
    "/shared/releases/DR9/ALLSTUDIES.zip",
    "/shared/study/SDY999999/",
    "/shared/study/SDY999999/DR1.zip",
    "/shared/study/{updated}/DR9.zip",
    "/shared/study/{updated}/DR1.0.zip",
    "/shared/study/{private}/",
    "/shared/study/{private}/DR1.zip",
    "/shared/study/{private}/DR2.zip",
)


def test_unknown_releases_and_studies_and_private_studies_are_not_found(client, releases):
    for url in NOT_FOUND:
        status, content = fetch(
            client, url.format(updated=releases.updated, private=releases.private)
        )
        assert status == 404, url
        assert PRIVATE_TITLE.encode() not in content


def test_a_private_study_answers_exactly_as_an_unknown_one(client, releases):
    private = client.get(f"/shared/study/{releases.private}/")
    unknown = client.get("/shared/study/SDY999999/")
    assert private.content.replace(releases.private.encode(), b"") == unknown.content.replace(
        b"SDY999999", b""
    )


def test_a_study_added_later_has_no_download_in_an_earlier_release(
    client, releases, django_capture_on_commit_callbacks
):
    late = register(Workspace.objects.create(name="Late lab"))
    share(late, approved_user("another-curator"))
    release(django_capture_on_commit_callbacks)
    assert fetch(client, f"/shared/study/{late.pk}/DR3.zip")[0] == 200
    assert fetch(client, f"/shared/study/{late.pk}/DR2.zip")[0] == 404
    html = client.get(f"/shared/study/{late.pk}/").content.decode()
    assert "DR3.zip" in html
    assert "DR2.zip" not in html


def test_downloads_not_built_yet_are_being_prepared(client, workspace):
    share(register(workspace), approved_user("curator"))
    made = services.build_release(today=TODAY)  # its download job has not run
    accession = made.studies.get().study_accession
    for url in (f"/shared/study/{accession}/DR1.zip", "/shared/releases/DR1/ALLSTUDIES.zip"):
        response = client.get(url)
        assert response.status_code == 404
        assert "being prepared" in response.content.decode()
    html = client.get(f"/shared/study/{accession}/").content.decode()
    assert "Being prepared" in html
    assert ".zip</a>" not in html
