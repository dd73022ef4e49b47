"""ImmPort's own API client (immport-client, generated from ImmPort's OpenAPI description)
pointed at this server, unchanged: every call it offers for studies, results, files,
lookups and search answers, and its models accept what we send.

The client validates every answer against its pydantic models, so a field of the wrong
type or a missing required one fails here as it would fail for ImmPort's users.
"""

import hashlib
import inspect

import immport_client
import pytest
import urllib3

from conftest import approved_user
from immunoport.accounts.models import ApiToken
from immunoport.accounts.services import create_token
from immunoport.demo.services import load_demo
from immunoport.ingest.tests.packages import own_storage_fixture  # noqa: F401 - fixture
from immunoport.releases import public, services

pytestmark = pytest.mark.django_db(transaction=True)

ACCESSION = "SDY702"
WITH_RESULTS = ["SDY208", "SDY139"]  # the demo's studies with HAI and other results


@pytest.fixture
def api(live_server, own_storage):  # noqa: F811 - the fixture imported above
    load_demo()
    services.build_downloads(services.current_release().pk)
    _, secret = create_token(approved_user("analyst"), "immport-client", ApiToken.Scope.READ_SHARED)
    configuration = immport_client.Configuration(
        host=f"{live_server.url}/data/query", access_token=secret
    )
    return immport_client.ApiClient(configuration)


def calls(api_class) -> list[str]:
    """The public calls of one of the client's API classes (not their variants)."""
    return [
        name
        for name, _ in inspect.getmembers(api_class, inspect.isfunction)
        if not name.startswith("_")
        and not name.endswith(("_with_http_info", "_without_preload_content"))
    ]


def test_every_study_data_call_answers_in_the_clients_models(api):
    studies = immport_client.StudyDataApi(api)
    answered = {}
    for name in calls(immport_client.StudyDataApi):
        method = getattr(studies, name)
        if "study_accession" in inspect.signature(method).parameters:
            answered[name] = method(study_accession=ACCESSION)
        else:
            answered[name] = method()
    released = public.released_study(ACCESSION)
    assert len(answered["get_study_arm_api"]) == released.counts["arm_or_cohort"]
    assert {arm.arm_accession for arm in answered["get_study_arm_api"]} == set(
        public.public_table(released, "arm_or_cohort")["arm_accession"]
    )
    assert len(answered["get_study_subject_demographic_api"]) == released.counts["arm_2_subject"]
    assert answered["get_study_summary"].study_accession == ACCESSION
    assert answered["get_restricted_study_accessions"] == []
    assert len(answered) == 26


def test_every_result_call_answers_and_filters_by_study(api):
    results = immport_client.StudyResultApi(api)
    for name in calls(immport_client.StudyResultApi):
        rows = getattr(results, name)(study_accession=WITH_RESULTS)
        assert {row.study_accession for row in rows} <= set(WITH_RESULTS), name
    hai = results.get_hai_result(study_accession=["SDY208"])
    assert len(hai) == public.released_study("SDY208").counts["hai_result"]


def test_every_lookup_call_answers(api):
    lookups = immport_client.LookupOrControlledVocabularyApi(api)
    answered = {
        name: getattr(lookups, name)()
        for name in calls(immport_client.LookupOrControlledVocabularyApi)
    }
    assert len(answered) == 45
    assert "Vaccine Response" in {term.name for term in answered["get_lk_research_focus"]}


def test_search_then_manifest_then_download_through_drs(api):
    search = immport_client.StudySearchApi(api)
    found = search.study_search(study_accession=ACCESSION, page_size="5")
    assert [hit["_source"]["study_accession"] for hit in found["hits"]["hits"]] == [ACCESSION]
    subjects = search.subject_search(study_accession=ACCESSION, page_size="1000")
    assert subjects["hits"]["total"]["value"] == len(
        public.public_table(public.released_study(ACCESSION), "subject")
    )

    manifest = immport_client.StudyFileManifestApi(api).get_file_details(
        ACCESSION, file_type="archive_file"
    )
    (archive,) = manifest
    located = immport_client.DownloadStudyFilesApi(api).get_url_from_drs(
        archive.file_uuid, "stream"
    )
    body = urllib3.request("GET", located.url).data
    assert (
        hashlib.md5(body).hexdigest()
        == archive.generated_md5
        == public.released_study(ACCESSION).download_md5
    )
