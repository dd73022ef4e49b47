"""Requesting a workspace, and staff approving or rejecting the request in the admin."""

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client

from conftest import approved_user
from immunoport.accounts.models import AuditEvent
from immunoport.workspaces import services
from immunoport.workspaces.models import Membership, Workspace, WorkspaceRequest

CHANGELIST = "/admin/workspaces/workspacerequest/"

FORM = {
    "name": "Hawthorn vaccine cohort",
    "description": "Influenza vaccine responses in 120 adults over two seasons.",
    "data_types": ["clinical", "cytometry", "hla-kir"],
    "subject_count": "120",
    "data_size_gb": "35.5",
    "consortium": "HIPC",
    "shares_subjects": "yes",
    "shared_with": "SDY0000 (the first season)",
    "accession_needed_by": "2027-03-01",
    "share_publicly_on": "",
    "share_on_publication": "on",
    "grant": "U19 AI000000, Hawthorn Human Immunology Project",
}

FORM_DATA = {
    "name": FORM["name"],
    "description": FORM["description"],
    "data_types": ["clinical"],
    "subject_count": 120,
    "data_size_gb": "35.5",
    "accession_needed_by": "2027-03-01",
    "share_on_publication": True,
    "grant": FORM["grant"],
}


@pytest.fixture
def requester(db) -> User:
    return approved_user("provider", first_name="Pat", last_name="Provider")


@pytest.fixture
def staff(db) -> User:
    return approved_user("staffer", is_staff=True, is_superuser=True)


def submit(client, **changes):
    return client.post("/workspaces/request/", {**FORM, **changes})


def admin_action(client, action: str, *requests: WorkspaceRequest):
    return client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [r.pk for r in requests]},
        follow=True,
    )


@pytest.mark.django_db
def test_a_signed_in_user_requests_a_workspace_and_staff_are_told(
    client, sign_in, requester, staff
):
    User.objects.create_user("quiet-staff", is_staff=True)  # no address: not written to
    approved_user("gone-staff", is_staff=True, is_active=False)
    sign_in(client, requester)
    page = client.get("/workspaces/request/").content.decode()
    assert "csrfmiddlewaretoken" in page
    assert "Flow or mass cytometry" in page

    response = submit(client)

    assert response.status_code == 302
    assert response["Location"] == "/workspaces/"
    ws_request = WorkspaceRequest.objects.get()
    assert ws_request.requester == requester
    assert ws_request.status == WorkspaceRequest.Status.PENDING
    assert ws_request.data_types == ["clinical", "cytometry", "hla-kir"]
    assert ws_request.shares_subjects is True
    assert ws_request.share_on_publication is True
    assert ws_request.share_publicly_on is None
    assert str(ws_request.data_size_gb) == "35.5"
    assert [m.to for m in mail.outbox] == [[staff.email]]
    assert "Hawthorn vaccine cohort" in mail.outbox[0].body
    assert f"/admin/workspaces/workspacerequest/{ws_request.pk}/change/" in mail.outbox[0].body
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.WORKSPACE_REQUESTED, actor=requester, target=ws_request.name
    ).exists()
    listing = client.get("/workspaces/").content.decode()
    assert "Hawthorn vaccine cohort" in listing
    assert "Pending" in listing
    assert not Workspace.objects.filter(name=ws_request.name).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"shares_subjects": "yes", "shared_with": ""}, "shared_with"),
        ({"share_on_publication": "", "share_publicly_on": ""}, "share_publicly_on"),
        ({"share_publicly_on": "2028-01-01"}, "share_publicly_on"),  # and on publication
        ({"data_types": []}, "data_types"),
        ({"name": ""}, "name"),
        ({"grant": ""}, "grant"),
    ],
)
def test_an_incomplete_request_is_sent_back(client, sign_in, requester, changes, field):
    sign_in(client, requester)
    response = submit(client, **changes)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not WorkspaceRequest.objects.exists()
    assert mail.outbox == []


@pytest.mark.django_db
def test_not_sharing_subjects_forgets_which_studies(client, sign_in, requester):
    sign_in(client, requester)
    submit(client, shares_subjects="no", shared_with="typed by mistake")
    ws_request = WorkspaceRequest.objects.get()
    assert ws_request.shares_subjects is False
    assert ws_request.shared_with == ""


@pytest.mark.django_db
def test_the_request_form_needs_a_signed_in_user(client):
    response = client.post("/workspaces/request/", FORM)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not WorkspaceRequest.objects.exists()


@pytest.mark.django_db
def test_staff_approve_in_the_admin_and_the_requester_owns_the_workspace(
    client, sign_in, requester, staff
):
    sign_in(client, requester)
    submit(client)
    ws_request = WorkspaceRequest.objects.get()
    mail.outbox.clear()
    staff_client = Client()
    sign_in(staff_client, staff)
    assert (
        "Hawthorn vaccine cohort"
        in staff_client.get(f"{CHANGELIST}?status=pending").content.decode()
    )

    page = admin_action(staff_client, "approve", ws_request).content.decode()

    workspace = Workspace.objects.get(name="Hawthorn vaccine cohort")
    assert "created, owned by provider" in page
    assert Membership.objects.get(workspace=workspace).user == requester
    assert Membership.objects.get(workspace=workspace).role == Membership.Role.OWNER
    ws_request.refresh_from_db()
    assert ws_request.status == WorkspaceRequest.Status.APPROVED
    assert ws_request.decided_by == staff
    assert ws_request.decided_at is not None
    assert ws_request.workspace == workspace
    assert [m.to for m in mail.outbox] == [[requester.email]]
    assert f"/workspaces/{workspace.pk}/" in mail.outbox[0].body
    created = AuditEvent.objects.get(action=AuditEvent.Action.WORKSPACE_CREATED)
    assert (created.actor, created.workspace, created.target) == (staff, workspace, workspace.name)
    added = AuditEvent.objects.get(action=AuditEvent.Action.MEMBER_ADDED)
    assert (added.workspace, added.target, added.detail["role"]) == (workspace, "provider", "owner")

    # The requester now reaches the workspace and its members page; enrolling TOTP first,
    # since an owner must have a second factor.
    sign_in(client, requester)
    assert client.get(f"/workspaces/{workspace.pk}/").status_code == 200
    assert client.get(f"/workspaces/{workspace.pk}/members/").status_code == 200
    assert "Approved" in client.get("/workspaces/").content.decode()

    # A decided request is not decided again.
    page = admin_action(staff_client, "approve", ws_request).content.decode()
    assert "already been approved" in page
    assert Workspace.objects.filter(name="Hawthorn vaccine cohort").count() == 1


@pytest.mark.django_db
def test_staff_reject_with_a_note_the_requester_reads(client, sign_in, requester, staff):
    ws_request = services.request_workspace(requester, {**FORM_DATA})
    WorkspaceRequest.objects.filter(pk=ws_request.pk).update(
        staff_note="Deposit the data under the consortium's existing workspace."
    )
    mail.outbox.clear()
    sign_in(client, staff)

    page = admin_action(client, "reject", ws_request).content.decode()

    assert "rejected" in page
    ws_request.refresh_from_db()
    assert ws_request.status == WorkspaceRequest.Status.REJECTED
    assert ws_request.decided_by == staff
    assert ws_request.workspace is None
    assert not Workspace.objects.filter(name=FORM["name"]).exists()
    assert [m.to for m in mail.outbox] == [[requester.email]]
    assert "consortium's existing workspace" in mail.outbox[0].body
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.WORKSPACE_REQUEST_REJECTED, actor=staff, target=FORM["name"]
    ).exists()
    requester_client = Client()
    sign_in(requester_client, requester)
    listing = requester_client.get("/workspaces/").content.decode()
    assert "Rejected" in listing
    assert "consortium&#x27;s existing workspace" in listing
    with pytest.raises(services.WorkspaceError, match="already been rejected"):
        services.approve_request(ws_request, staff)
    assert not Workspace.objects.filter(name=FORM["name"]).exists()


@pytest.mark.django_db
def test_a_name_that_is_taken_is_refused_until_staff_change_it(
    client, sign_in, requester, staff, workspace
):
    ws_request = services.request_workspace(requester, {**FORM_DATA, "name": "PROVIDER LAB"})
    sign_in(client, staff)

    page = admin_action(client, "approve", ws_request).content.decode()

    assert "Not approved: A workspace named “PROVIDER LAB” already exists" in page
    ws_request.refresh_from_db()
    assert ws_request.status == WorkspaceRequest.Status.PENDING
    assert list(Workspace.objects.all()) == [workspace]
    assert not Membership.objects.filter(user=requester).exists()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.WORKSPACE_CREATED).exists()

    # Staff rename the pending request in its admin page, then approve it.
    change = client.get(f"{CHANGELIST}{ws_request.pk}/change/")
    assert change.status_code == 200
    response = client.post(
        f"{CHANGELIST}{ws_request.pk}/change/",
        {"name": "Provider lab, Hawthorn cohort", "staff_note": "Renamed: the name was taken."},
    )
    assert response.status_code == 302
    ws_request.refresh_from_db()
    assert ws_request.name == "Provider lab, Hawthorn cohort"
    new = services.approve_request(ws_request, staff)
    assert new.name == "Provider lab, Hawthorn cohort"
    assert Membership.objects.get(workspace=new).user == requester


@pytest.mark.django_db
def test_staff_find_requests_by_status_and_by_requester(client, sign_in, requester, staff):
    pending = services.request_workspace(requester, FORM_DATA)
    other = approved_user("someone-else")
    rejected = services.request_workspace(other, {**FORM_DATA, "name": "Sparrow study"})
    services.reject_request(rejected, staff, "Not a human immunology study.")
    sign_in(client, staff)

    def names(query: str) -> set[str]:
        page = client.get(f"{CHANGELIST}?{query}").content.decode()
        return {name for name in (pending.name, rejected.name) if name in page}

    assert names("status__exact=pending") == {pending.name}
    assert names("status__exact=rejected") == {rejected.name}
    assert names("q=someone-else") == {rejected.name}
    assert names("q=provider") == {pending.name}


@pytest.mark.django_db
def test_a_member_sees_only_their_own_requests(client, sign_in, requester):
    other = approved_user("someone-else")
    services.request_workspace(other, {**FORM_DATA, "name": "Secret sparrow study"})
    services.request_workspace(requester, FORM_DATA)
    sign_in(client, requester)
    listing = client.get("/workspaces/").content.decode()
    assert FORM["name"] in listing
    assert "Secret sparrow study" not in listing
