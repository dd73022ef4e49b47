"""A workspace's members page: invitations, roles, removal, and who may do each."""

import hashlib
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conftest import approved_user
from immunoport.accounts.models import AuditEvent
from immunoport.workspaces import services
from immunoport.workspaces.models import Invitation, Membership, Workspace

LINK = re.compile(r"https?://[^/\s]+(/workspaces/invitations/([\w-]+)/)")


@pytest.fixture
def owner(workspace) -> User:
    user = approved_user("olive", first_name="Olive", last_name="Owner")
    Membership.objects.create(workspace=workspace, user=user, role=Membership.Role.OWNER)
    return user


@pytest.fixture
def viewer(workspace) -> User:
    user = approved_user("victor", first_name="Victor", last_name="Viewer")
    Membership.objects.create(workspace=workspace, user=user, role=Membership.Role.VIEWER)
    return user


@pytest.fixture
def outsider(db) -> User:
    return approved_user("oscar")


@pytest.fixture
def other_owner(other_workspace) -> User:
    """Owner of the other workspace, with a pending invitation there."""
    user = approved_user("bluebird-owner")
    Membership.objects.create(workspace=other_workspace, user=user, role=Membership.Role.OWNER)
    services.invite(other_workspace, user, "bluebird-guest@example.net", "viewer")
    mail.outbox.clear()
    return user


def members_url(workspace: Workspace) -> str:
    return f"/workspaces/{workspace.pk}/members/"


def signed_in(sign_in, user: User) -> Client:
    client = Client()
    sign_in(client, user)
    return client


def invite(client: Client, workspace: Workspace, email: str, role: str = "viewer"):
    return client.post(f"{members_url(workspace)}invite/", {"email": email, "role": role})


def link_in_last_mail() -> tuple[str, str]:
    """The invitation link's path and its token, from the last e-mail sent."""
    found = LINK.search(mail.outbox[-1].body)
    assert found, mail.outbox[-1].body
    return found.group(1), found.group(2)


def events(action: str, workspace: Workspace) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, workspace=workspace).order_by("pk"))


@pytest.mark.django_db
def test_every_member_sees_the_member_list_but_only_owners_manage_it(
    sign_in, workspace, owner, viewer
):
    services.invite(workspace, owner, "pending-guest@example.net", "uploader")
    as_viewer = signed_in(sign_in, viewer)
    page = as_viewer.get(members_url(workspace)).content.decode()
    for shown in ("olive", "Olive Owner", "victor", "Victor Viewer", "Owner", "Viewer"):
        assert shown in page
    assert "Invite someone" not in page
    assert "pending-guest@example.net" not in page  # invitations are the owners' business
    assert "Leave the workspace" in page
    assert ">Remove<" not in page

    page = signed_in(sign_in, owner).get(members_url(workspace)).content.decode()
    assert "Invite someone" in page
    assert "pending-guest@example.net" in page
    assert ">Remove<" in page
    # Every form on the page posts with a CSRF token.
    assert page.count('method="post"') == page.count("csrfmiddlewaretoken") > 3
    viewed = events(AuditEvent.Action.VIEWED, workspace)
    assert [(e.actor, e.target, e.detail) for e in viewed] == [
        (viewer, workspace.name, {"page": "members"}),
        (owner, workspace.name, {"page": "members"}),
    ]


@pytest.mark.django_db
def test_the_detail_page_links_to_the_members_and_is_logged(sign_in, workspace, viewer):
    client = signed_in(sign_in, viewer)
    page = client.get(f"/workspaces/{workspace.pk}/").content.decode()
    assert f'href="{members_url(workspace)}"' in page
    assert 'href="/workspaces/request/"' in client.get("/workspaces/").content.decode()
    viewed = events(AuditEvent.Action.VIEWED, workspace)
    assert [(e.actor, e.target) for e in viewed] == [(viewer, workspace.name)]


@pytest.mark.django_db
def test_an_invitation_is_accepted_after_signing_in(client, sign_in, workspace, owner):
    as_owner = signed_in(sign_in, owner)
    response = invite(as_owner, workspace, "Guest@Example.net", "viewer")
    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [["Guest@Example.net"]]
    path, token = link_in_last_mail()
    invitation = Invitation.objects.get()
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {invitation.token_hash, invitation.email}
    assert invitation.expires_at - invitation.created_at == timedelta(days=14)
    invited = events(AuditEvent.Action.MEMBER_INVITED, workspace)
    assert [(e.actor, e.target, e.detail["role"]) for e in invited] == [
        (owner, "Guest@Example.net", "viewer")
    ]

    # The invitee follows the link before signing in, with an account whose e-mail
    # address is another one.
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"
    guest = approved_user("guest")
    sign_in(client, guest)
    page = client.get(path).content.decode()
    assert workspace.name in page
    assert "Accept and join as guest" in page
    assert not Membership.objects.filter(user=guest).exists()  # a GET changes nothing

    response = client.post(path)

    assert response.status_code == 302
    assert response["Location"] == f"/workspaces/{workspace.pk}/"
    assert Membership.objects.get(user=guest).role == Membership.Role.VIEWER
    assert client.get(f"/workspaces/{workspace.pk}/").status_code == 200
    invitation.refresh_from_db()
    assert invitation.accepted_by == guest
    assert invitation.accepted_at is not None
    added = events(AuditEvent.Action.MEMBER_ADDED, workspace)
    assert [(e.actor, e.target, e.detail["role"]) for e in added] == [(guest, "guest", "viewer")]
    assert "guest" in as_owner.get(members_url(workspace)).content.decode()


@pytest.mark.django_db
def test_an_invitation_is_used_once(sign_in, workspace, owner):
    _, token = services.invite(workspace, owner, "guest@example.net", "uploader")
    path = f"/workspaces/invitations/{token}/"
    first, second = approved_user("first"), approved_user("second")
    assert signed_in(sign_in, first).post(path).status_code == 302
    assert Membership.objects.get(user=first).role == Membership.Role.UPLOADER

    as_second = signed_in(sign_in, second)
    response = as_second.get(path)
    assert response.status_code == 410
    assert "already been used" in response.content.decode()
    assert workspace.name not in response.content.decode()
    assert as_second.post(path).status_code == 410
    assert not Membership.objects.filter(user=second).exists()
    with pytest.raises(services.WorkspaceError, match="already been used"):
        services.accept_invitation(token, second)


@pytest.mark.django_db
def test_an_expired_invitation_is_refused(sign_in, workspace, owner):
    invitation, token = services.invite(workspace, owner, "guest@example.net", "viewer")
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    guest = approved_user("guest")
    client = signed_in(sign_in, guest)
    response = client.post(f"/workspaces/invitations/{token}/")
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert not Membership.objects.filter(user=guest).exists()
    assert not events(AuditEvent.Action.MEMBER_ADDED, workspace)


@pytest.mark.django_db
def test_an_owner_withdraws_an_invitation(sign_in, workspace, owner):
    invitation, token = services.invite(workspace, owner, "guest@example.net", "viewer")
    as_owner = signed_in(sign_in, owner)
    response = as_owner.post(
        f"/workspaces/{workspace.pk}/invitations/{invitation.pk}/revoke/", follow=True
    )
    assert "withdrawn" in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert "guest@example.net" not in as_owner.get(members_url(workspace)).content.decode()
    revoked = events(AuditEvent.Action.MEMBER_REMOVED, workspace)
    assert [(e.target, e.detail["invitation_revoked"]) for e in revoked] == [
        ("guest@example.net", True)
    ]

    guest = approved_user("guest")
    response = signed_in(sign_in, guest).post(f"/workspaces/invitations/{token}/")
    assert response.status_code == 410
    assert "withdrawn" in response.content.decode()
    assert not Membership.objects.filter(user=guest).exists()


@pytest.mark.django_db
def test_a_made_up_invitation_link_is_not_found(sign_in, outsider):
    client = signed_in(sign_in, outsider)
    assert client.get("/workspaces/invitations/not-a-real-token/").status_code == 404
    assert client.post("/workspaces/invitations/not-a-real-token/").status_code == 404


@pytest.mark.django_db
def test_a_member_who_is_invited_again_keeps_their_role(sign_in, workspace, owner, viewer):
    _, token = services.invite(workspace, owner, "victor@example.org", "owner")
    client = signed_in(sign_in, viewer)
    assert "already a member" in client.get(f"/workspaces/invitations/{token}/").content.decode()
    response = client.post(f"/workspaces/invitations/{token}/")
    assert response.status_code == 409
    assert Membership.objects.get(user=viewer).role == Membership.Role.VIEWER
    assert Invitation.objects.get().accepted_at is None


@pytest.mark.django_db
def test_inviting_does_not_tell_whether_an_account_exists(sign_in, workspace, owner, outsider):
    as_owner = signed_in(sign_in, owner)
    answers = []
    for email in (outsider.email, "nobody-here@example.net"):
        response = invite(as_owner, workspace, email)
        page = as_owner.get(response["Location"]).content.decode()
        message = re.search(r'<ul class="messages">(.*?)</ul>', page, re.S).group(1)
        answers.append((response.status_code, response["Location"], message.replace(email, "@")))
    assert answers[0] == answers[1]
    bodies = [LINK.sub("LINK", m.body) for m in mail.outbox]
    assert bodies[0] == bodies[1]
    assert not Membership.objects.filter(user=outsider).exists()


@pytest.mark.django_db
def test_an_invalid_invitation_form_is_shown_again(sign_in, workspace, owner):
    response = invite(signed_in(sign_in, owner), workspace, "not an address", "viewer")
    assert response.status_code == 200
    assert "email" in response.context["invite_form"].errors
    assert not Invitation.objects.exists()
    assert mail.outbox == []


@pytest.mark.django_db
def test_an_owner_changes_a_members_role(sign_in, workspace, owner, viewer):
    as_owner = signed_in(sign_in, owner)
    membership = Membership.objects.get(user=viewer)
    response = as_owner.post(
        f"{members_url(workspace)}{membership.pk}/role/", {"role": "uploader"}, follow=True
    )
    assert "victor is now Uploader" in response.content.decode()
    membership.refresh_from_db()
    assert membership.role == Membership.Role.UPLOADER
    changed = events(AuditEvent.Action.MEMBER_CHANGED, workspace)
    assert [(e.actor, e.target, e.detail) for e in changed] == [
        (owner, "victor", {"previous_role": "viewer", "role": "uploader"})
    ]

    as_owner.post(f"{members_url(workspace)}{membership.pk}/role/", {"role": "superuser"})
    membership.refresh_from_db()
    assert membership.role == Membership.Role.UPLOADER


@pytest.mark.django_db
def test_the_last_owner_can_be_neither_demoted_nor_removed(sign_in, workspace, owner, viewer):
    as_owner = signed_in(sign_in, owner)
    own = Membership.objects.get(user=owner)
    response = as_owner.post(
        f"{members_url(workspace)}{own.pk}/role/", {"role": "viewer"}, follow=True
    )
    assert "last owner and cannot be demoted" in response.content.decode()
    response = as_owner.post(f"{members_url(workspace)}{own.pk}/remove/", follow=True)
    assert "last owner and cannot be removed" in response.content.decode()
    own.refresh_from_db()
    assert own.role == Membership.Role.OWNER
    with pytest.raises(services.WorkspaceError, match="last owner"):
        services.remove_member(own, owner)
    assert not events(AuditEvent.Action.MEMBER_CHANGED, workspace)
    assert not events(AuditEvent.Action.MEMBER_REMOVED, workspace)

    # With a second owner, the first may step down.
    other = Membership.objects.get(user=viewer)
    as_owner.post(f"{members_url(workspace)}{other.pk}/role/", {"role": "owner"})
    as_owner.post(f"{members_url(workspace)}{own.pk}/role/", {"role": "viewer"})
    own.refresh_from_db()
    other.refresh_from_db()
    assert (own.role, other.role) == (Membership.Role.VIEWER, Membership.Role.OWNER)


@pytest.mark.django_db
def test_a_removed_member_loses_access_at_once(sign_in, workspace, owner, viewer):
    as_viewer = signed_in(sign_in, viewer)
    assert as_viewer.get(f"/workspaces/{workspace.pk}/").status_code == 200
    membership = Membership.objects.get(user=viewer)

    response = signed_in(sign_in, owner).post(f"{members_url(workspace)}{membership.pk}/remove/")

    assert response.status_code == 302
    assert not Membership.objects.filter(user=viewer).exists()
    assert as_viewer.get(f"/workspaces/{workspace.pk}/").status_code == 404
    assert as_viewer.get(members_url(workspace)).status_code == 404
    removed = events(AuditEvent.Action.MEMBER_REMOVED, workspace)
    assert [(e.actor, e.target, e.detail["left"]) for e in removed] == [(owner, "victor", False)]


@pytest.mark.django_db
def test_a_member_may_leave(sign_in, workspace, owner, viewer):
    as_viewer = signed_in(sign_in, viewer)
    membership = Membership.objects.get(user=viewer)
    response = as_viewer.post(f"{members_url(workspace)}{membership.pk}/remove/")
    assert response["Location"] == "/workspaces/"
    assert not Membership.objects.filter(user=viewer).exists()
    assert as_viewer.get(members_url(workspace)).status_code == 404
    removed = events(AuditEvent.Action.MEMBER_REMOVED, workspace)
    assert [(e.actor, e.target, e.detail["left"]) for e in removed] == [(viewer, "victor", True)]


@pytest.mark.django_db
def test_owner_actions_do_not_exist_for_other_members(sign_in, workspace, owner, viewer):
    as_viewer = signed_in(sign_in, viewer)
    own = Membership.objects.get(user=owner)
    invitation, _ = services.invite(workspace, owner, "guest@example.net", "viewer")
    mail.outbox.clear()
    assert invite(as_viewer, workspace, "friend@example.net", "owner").status_code == 404
    assert (
        as_viewer.post(f"{members_url(workspace)}{own.pk}/role/", {"role": "viewer"}).status_code
        == 404
    )
    assert as_viewer.post(f"{members_url(workspace)}{own.pk}/remove/").status_code == 404
    revoke = f"/workspaces/{workspace.pk}/invitations/{invitation.pk}/revoke/"
    assert as_viewer.post(revoke).status_code == 404
    own.refresh_from_db()
    invitation.refresh_from_db()
    assert own.role == Membership.Role.OWNER
    assert invitation.revoked_at is None
    assert Invitation.objects.count() == 1
    assert mail.outbox == []
    with pytest.raises(services.PermissionDenied):
        services.change_role(own, viewer, "viewer")


@pytest.mark.django_db
def test_a_member_of_one_workspace_never_reaches_anothers_members(
    sign_in, client, workspace, other_workspace, owner, other_owner, outsider
):
    theirs = Membership.objects.get(user=other_owner)
    their_invitation = Invitation.objects.get(workspace=other_workspace)
    their_events = AuditEvent.objects.filter(workspace=other_workspace).count()
    as_owner = signed_in(sign_in, owner)
    for actor in (as_owner, signed_in(sign_in, outsider)):
        assert actor.get(members_url(other_workspace)).status_code == 404
        assert invite(actor, other_workspace, "spy@example.net").status_code == 404
        # B's membership and invitation, addressed through A's URLs and through B's.
        for ws in (workspace, other_workspace):
            base = members_url(ws)
            assert actor.post(f"{base}{theirs.pk}/role/", {"role": "viewer"}).status_code == 404
            assert actor.post(f"{base}{theirs.pk}/remove/").status_code == 404
            revoke = f"/workspaces/{ws.pk}/invitations/{their_invitation.pk}/revoke/"
            assert actor.post(revoke).status_code == 404
    page = as_owner.get(members_url(workspace)).content.decode()
    for secret in (other_workspace.name, "bluebird-owner", "bluebird-guest@example.net"):
        assert secret not in page
    theirs.refresh_from_db()
    their_invitation.refresh_from_db()
    assert theirs.role == Membership.Role.OWNER
    assert their_invitation.revoked_at is None
    assert list(Invitation.objects.all()) == [their_invitation]
    assert AuditEvent.objects.filter(workspace=other_workspace).count() == their_events

    # Anonymous visitors are sent to sign in, and change nothing.
    response = client.get(members_url(workspace))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert invite(client, workspace, "anon@example.net").status_code == 302
    assert list(Invitation.objects.all()) == [their_invitation]


@pytest.mark.django_db
def test_member_changes_need_the_csrf_token(sign_in, workspace, owner, viewer):
    client = Client(enforce_csrf_checks=True)
    sign_in(client, owner)
    membership = Membership.objects.get(user=viewer)
    assert invite(client, workspace, "guest@example.net").status_code == 403
    assert client.post(f"{members_url(workspace)}{membership.pk}/remove/").status_code == 403
    assert not Invitation.objects.exists()
    assert Membership.objects.filter(user=viewer).exists()


@pytest.mark.django_db
def test_the_members_page_costs_the_same_queries_however_many_members(sign_in, workspace, owner):
    client = signed_in(sign_in, owner)
    services.invite(workspace, owner, "first-guest@example.net", "viewer")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(members_url(workspace)).status_code == 200
        return len(captured)

    few = queries()
    for n in range(4):
        user = approved_user(f"member{n}", first_name=f"M{n}")
        Membership.objects.create(workspace=workspace, user=user, role=Membership.Role.UPLOADER)
        services.invite(workspace, owner, f"guest{n}@example.net", "viewer")
    assert queries() == few
