"""immunoport.client against a real server over HTTP, with the demo studies released.

One walk through the client, as a notebook user would take it: sign in with a user
name and password, search, read a study and its results, look up a vocabulary, and
download a study, the second time resuming an interrupted download.
"""

import hashlib

import pandas as pd
import polars as pl
import pytest

from conftest import approved_user
from immunoport.client import ApiError, Client
from immunoport.demo.services import load_demo
from immunoport.ingest.tests.packages import own_storage_fixture  # noqa: F401 - fixture
from immunoport.releases import public, services

pytestmark = pytest.mark.django_db(transaction=True)

ACCESSION = "SDY702"


@pytest.fixture
def server(live_server, own_storage):
    load_demo()
    services.build_downloads(services.current_release().pk)
    approved_user("analyst")
    return live_server.url


def test_a_user_searches_reads_and_downloads_through_the_client(server, tmp_path):
    shared = Client(server, username="analyst", password="a long pass phrase")

    studies = shared.search_studies()
    assert sorted(studies["study_accession"]) == sorted(
        s.study_accession for s in public.released_studies()
    )
    two = shared.search_studies(studyAccession=["SDY702", "SDY208"])  # sent comma separated
    assert sorted(two["study_accession"]) == ["SDY208", "SDY702"]
    subjects = shared.search_subjects(studyAccession="SDY702")
    assert subjects.height == len(public.public_table(public.released_study(ACCESSION), "subject"))

    summary = shared.study(ACCESSION)
    assert summary["studyAccession"] == ACCESSION
    released = public.released_study(ACCESSION)
    arms = shared.study_table("arm", ACCESSION)
    assert arms.height == released.counts["arm_or_cohort"]
    assert set(arms["armAccession"]) == set(
        public.public_table(released, "arm_or_cohort")["arm_accession"]
    )

    flu = public.released_study("SDY208")  # the demo's study with HAI titers
    hai = shared.results("hai", studyAccession=flu.study_accession)
    assert hai.height == flu.counts["hai_result"]
    assert set(hai["studyAccession"]) == {flu.study_accession}
    as_pandas = shared.results("hai", frame="pandas", studyAccession=flu.study_accession)
    assert isinstance(as_pandas, pd.DataFrame)
    assert len(as_pandas) == hai.height

    focus = shared.lookup("lkResearchFocus")
    assert "Vaccine Response" in focus["name"].to_list()

    target = shared.download_study(ACCESSION, tmp_path / "downloads")
    assert hashlib.md5(target.read_bytes()).hexdigest() == released.download_md5
    assert target.stat().st_size == released.download_size


def test_an_interrupted_download_resumes_where_it_stopped(server, tmp_path):
    shared = Client(server, username="analyst", password="a long pass phrase")
    archive = shared.manifest(ACCESSION, "archive_file").row(0, named=True)
    whole = tmp_path / "whole.zip"
    shared.download(archive["fileUUID"], whole)
    content = whole.read_bytes()

    target = tmp_path / "again.zip"
    target.with_name("again.zip.part").write_bytes(content[: len(content) // 3])
    shared.download(archive["fileUUID"], target)
    assert target.read_bytes() == content
    assert not target.with_name("again.zip.part").exists()


def test_a_wrong_password_and_an_unknown_study_are_errors_that_say_so(server):
    with pytest.raises(ApiError) as refused:
        Client(server, username="analyst", password="not it").study(ACCESSION)
    assert refused.value.status in (400, 401)

    shared = Client(server, username="analyst", password="a long pass phrase")
    with pytest.raises(ApiError) as missing:
        shared.study("SDY999999")
    assert missing.value.status == 404
    assert isinstance(shared.lookup("lkSex"), pl.DataFrame)
