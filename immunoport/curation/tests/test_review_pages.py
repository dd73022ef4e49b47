"""The curators' pages through real HTTP: reviewing a sharing request, clearing flagged
free text and building a release."""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from conftest import approved_user
from immunoport.accounts.models import AuditEvent
from immunoport.curation.models import TextFlag
from immunoport.ingest.tests.packages import (  # noqa: F401 - fixtures
    immediate_tasks_fixture,
    own_storage_fixture,
)
from immunoport.releases import services
from immunoport.releases.models import SharingRequest
from immunoport.studies.models import Study
from immunoport.studies.tests.registrations import register
from immunoport.workspaces.models import Membership

pytestmark = pytest.mark.usefixtures("own_storage", "immediate_tasks")

EMAIL = "ada.okafor@example.org"
ALL_CHECKED = [key for key, _ in services.REVIEW_CHECKLIST]


@pytest.fixture
def curator(db):
    user = approved_user("curator")
    user.groups.add(Group.objects.get(name="Curators"))
    return user


@pytest.fixture
def sharing(workspace) -> SharingRequest:
    study = register(workspace)
    Study.objects.filter(pk=study.pk).update(description=f"Questions to {EMAIL}, please.")
    study.refresh_from_db()
    return services.request_sharing(study, None, datetime.date(2020, 1, 1), "Please share it.")


def review_url(sharing) -> str:
    return reverse("curation:review", args=[sharing.pk])


def test_the_queue_and_the_review_page_show_what_a_curator_reads(client, sign_in, curator, sharing):
    sign_in(client, curator)
    index = client.get(reverse("curation:index")).content.decode()
    assert "sharing requests waiting" in index
    listing = client.get(reverse("curation:sharing")).content.decode()
    assert sharing.study_id in listing
    assert "Antibody response to seasonal influenza vaccine" in listing
    assert "Provider lab" in listing
    assert review_url(sharing) in listing

    page = client.get(review_url(sharing))
    assert page.status_code == 200
    body = page.content.decode()
    assert "Please share it." in body
    counts = dict(page.context["counts"])
    assert counts["Arms or cohorts"] == 2
    flagged = [(flag.table_name, flag.column_name, value) for flag, value in page.context["flags"]]
    assert ("study", "description", f"Questions to {EMAIL}, please.") in flagged
    assert EMAIL in body  # a curator reads the value
    for _, text in services.REVIEW_CHECKLIST:
        assert text in body
    assert AuditEvent.objects.filter(action="viewed", target=sharing.study_id).exists()


def test_approving_with_the_full_checklist(client, sign_in, curator, sharing):
    sign_in(client, curator)
    response = client.post(
        review_url(sharing), {"checked": ALL_CHECKED, "decision": "approve", "comment": ""}
    )
    assert response.status_code == 302
    sharing.refresh_from_db()
    assert sharing.status == SharingRequest.Status.APPROVED
    assert sharing.reviewed_by == curator
    assert sharing.checklist == dict.fromkeys(ALL_CHECKED, True)
    assert AuditEvent.objects.filter(action="sharing-approved", target=sharing.study_id).exists()
    # decided: the page shows the decision, no longer the buttons
    body = client.get(review_url(sharing)).content.decode()
    assert "Approved for the next release" in body
    assert 'value="approve"' not in body


def test_approving_with_an_item_missing_changes_nothing_and_keeps_the_ticks(
    client, sign_in, curator, sharing
):
    sign_in(client, curator)
    ticked = ALL_CHECKED[:-1]
    response = client.post(review_url(sharing), {"checked": ticked, "decision": "approve"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Tick every item of the checklist to approve" in body
    for key in ALL_CHECKED:
        box = f'value="{key}"'
        assert box in body
        assert (f'{box} id="id_checked_{ALL_CHECKED.index(key)}" checked' in body) == (
            key in ticked
        )
    sharing.refresh_from_db()
    assert sharing.status == SharingRequest.Status.REQUESTED
    assert sharing.reviewed_by is None


def test_returning_needs_a_comment(client, sign_in, curator, sharing):
    sign_in(client, curator)
    refused = client.post(review_url(sharing), {"decision": "return", "comment": " "})
    assert "Say what the provider must change" in refused.content.decode()
    sharing.refresh_from_db()
    assert sharing.status == SharingRequest.Status.REQUESTED

    response = client.post(
        review_url(sharing), {"decision": "return", "comment": "Remove the e-mail address."}
    )
    assert response.status_code == 302
    sharing.refresh_from_db()
    assert sharing.status == SharingRequest.Status.REJECTED
    assert sharing.review_comment == "Remove the e-mail address."


def test_clearing_a_flag(client, sign_in, curator, sharing):
    flag = TextFlag.objects.get(study_accession=sharing.study_id, column_name="description")
    sign_in(client, curator)
    url = reverse("curation:flag-clear", args=[sharing.pk, flag.pk])
    assert url in client.get(review_url(sharing)).content.decode()
    response = client.post(url)
    assert response["Location"] == review_url(sharing)
    flag.refresh_from_db()
    assert flag.cleared
    assert flag.cleared_by == curator
    event = AuditEvent.objects.get(action="text-cleared")
    assert (event.target, event.detail["column"]) == (sharing.study_id, "description")
    body = client.get(review_url(sharing)).content.decode()
    assert url not in body
    assert "Cleared" in body


def test_a_flag_of_another_study_is_not_cleared_through_this_request(
    client, sign_in, curator, sharing, other_workspace
):
    other = TextFlag.objects.create(
        workspace=other_workspace,
        study_accession="SDY999999",
        table_name="study",
        record_key="SDY999999",
        column_name="description",
        reason="date",
        value_md5="0" * 32,
    )
    sign_in(client, curator)
    url = reverse("curation:flag-clear", args=[sharing.pk, other.pk])
    assert client.post(url).status_code == 404
    other.refresh_from_db()
    assert not other.cleared


def test_building_a_release_from_the_page(
    client, sign_in, curator, sharing, django_capture_on_commit_callbacks
):
    services.review(sharing, curator, checked=ALL_CHECKED, approve=True)
    sign_in(client, curator)
    page = client.get(reverse("curation:releases")).content.decode()
    assert sharing.study_id in page
    assert "In the next release" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("curation:releases"), {"notes": "The first release"})
    assert response.status_code == 302
    body = client.get(response["Location"]).content.decode()
    assert "DR1 built: 1 added, 0 updated, 0 unchanged." in body
    assert "The first release" in body
    assert list(services.shared_studies().values_list("pk", flat=True)) == [sharing.study_id]
    assert services.current_release().all_studies  # the download job ran


def test_a_point_release_needs_a_release_before_it(client, sign_in, curator):
    sign_in(client, curator)
    response = client.post(reverse("curation:releases"), {"point": "on"})
    assert response.status_code == 200
    assert "A point release needs a release before it." in response.content.decode()


@pytest.mark.parametrize("role", ["owner", "outsider"])
def test_curator_pages_are_404_for_everyone_else(client, sign_in, workspace, sharing, role):
    user = approved_user("someone")
    if role == "owner":
        Membership.objects.create(workspace=workspace, user=user, role=Membership.Role.OWNER)
    sign_in(client, user)
    assert "Curation" not in client.get(reverse("portal:home")).content.decode()
    for url in (reverse("curation:index"), reverse("curation:sharing"), review_url(sharing)):
        assert client.get(url).status_code == 404
    refused = client.post(review_url(sharing), {"decision": "return", "comment": "x"})
    assert refused.status_code == 404
    sharing.refresh_from_db()
    assert sharing.status == SharingRequest.Status.REQUESTED


def test_the_header_links_curators_to_curation(client, sign_in, curator):
    sign_in(client, curator)
    assert reverse("curation:index") in client.get(reverse("portal:home")).content.decode()
