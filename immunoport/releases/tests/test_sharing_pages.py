"""The owner's sharing page, through real HTTP: asking to share a registered study."""

import datetime

import pytest
from django.urls import reverse

from conftest import approved_user
from immunoport.accounts.models import AuditEvent
from immunoport.curation.models import TextFlag
from immunoport.ingest.tests.packages import own_storage_fixture  # noqa: F401 - fixture
from immunoport.releases.models import SharingRequest
from immunoport.studies.models import Study
from immunoport.studies.tests.registrations import register
from immunoport.workspaces.models import Membership

pytestmark = pytest.mark.usefixtures("own_storage")

WITH_EMAIL = "Serum was taken before and after vaccination; write to ada.okafor@example.org."


def member(workspace, name: str, role: str):
    user = approved_user(name)
    Membership.objects.create(workspace=workspace, user=user, role=role)
    return user


@pytest.fixture
def study(workspace):
    study = register(workspace)
    Study.objects.filter(pk=study.pk).update(description=WITH_EMAIL)
    return study


def share_url(study) -> str:
    return reverse("releases:share", args=[study.workspace_id, study.pk])


def test_the_owner_asks_to_share_and_the_free_text_is_flagged(client, sign_in, workspace, study):
    owner = member(workspace, "owner", Membership.Role.OWNER)
    sign_in(client, owner)
    listing = client.get(reverse("studies:registrations", args=[workspace.pk]))
    assert share_url(study) in listing.content.decode()

    page = client.get(share_url(study))
    assert page.status_code == 200
    body = page.content.decode()
    assert study.brief_title in body
    assert f'value="{datetime.date.today():%Y-%m-%d}"' in body  # share after: today
    assert "None yet." in body

    response = client.post(
        share_url(study), {"share_after": "2030-01-01", "message": "Embargo until the paper."}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("studies:registrations", args=[workspace.pk])
    sharing = SharingRequest.objects.get()
    assert (sharing.study_id, sharing.requested_by, sharing.status) == (
        study.pk,
        owner,
        SharingRequest.Status.REQUESTED,
    )
    assert sharing.share_after == datetime.date(2030, 1, 1)
    assert sharing.message == "Embargo until the paper."
    flags = TextFlag.objects.filter(study_accession=study.pk, cleared_at__isnull=True)
    assert ("study", study.pk, "description", "e-mail address") in {
        (f.table_name, f.record_key, f.column_name, f.reason) for f in flags
    }
    assert AuditEvent.objects.filter(action="sharing-requested", target=study.pk).exists()
    followed = client.get(response["Location"])
    assert f"{study.pk} waits for the curators" in followed.content.decode()

    # asked once; a second request is refused while the first waits
    again = client.post(share_url(study), {"share_after": "2030-01-01"})
    assert again.status_code == 200
    assert f"{study.pk} already waits for review" in again.content.decode()
    assert SharingRequest.objects.count() == 1
    assert "Waiting for review" in again.content.decode()


def test_the_page_shows_the_curators_comment(client, sign_in, workspace, study):
    owner = member(workspace, "owner", Membership.Role.OWNER)
    SharingRequest.objects.create(
        workspace=workspace,
        study=study,
        share_after=datetime.date(2030, 1, 1),
        status=SharingRequest.Status.REJECTED,
        review_comment="Add the consent form.",
    )
    sign_in(client, owner)
    body = client.get(share_url(study)).content.decode()
    assert "Returned to the provider" in body
    assert "Add the consent form." in body


@pytest.mark.parametrize("role", [Membership.Role.UPLOADER, Membership.Role.VIEWER])
def test_members_who_do_not_own_the_workspace_get_a_404(client, sign_in, workspace, study, role):
    sign_in(client, member(workspace, "member", role))
    listing = client.get(reverse("studies:registrations", args=[workspace.pk]))
    assert share_url(study) not in listing.content.decode()
    assert client.get(share_url(study)).status_code == 404
    assert client.post(share_url(study), {"share_after": "2030-01-01"}).status_code == 404
    assert not SharingRequest.objects.exists()


def test_an_owner_of_another_workspace_gets_a_404(
    client, sign_in, workspace, other_workspace, study
):
    sign_in(client, member(other_workspace, "other", Membership.Role.OWNER))
    assert client.get(share_url(study)).status_code == 404
    elsewhere = reverse("releases:share", args=[other_workspace.pk, study.pk])
    assert client.get(elsewhere).status_code == 404
