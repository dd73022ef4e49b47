"""Workspaces: requests and their approval, invitations, and members' roles.

Views and the admin call these functions; each checks who may do what (through
``workspaces.permissions``), changes the database in one transaction, records audit
events and sends the e-mail that goes with it.
"""

import hmac
import secrets
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from immunoport.accounts import audit
from immunoport.accounts.services import hash_secret
from immunoport.core.mail import send_templated_mail
from immunoport.workspaces.models import (
    REQUEST_FIELDS,
    Invitation,
    Membership,
    Workspace,
    WorkspaceRequest,
)
from immunoport.workspaces.permissions import is_owner, role_in

INVITATION_DAYS = 14


class WorkspaceError(ValueError):
    """Something that may not be done as asked; the message says why, for the person."""


def _link(request: HttpRequest | None, path: str) -> str:
    return request.build_absolute_uri(path) if request is not None else path


def _mail(subject: str, template: str, context: dict[str, Any], recipients: list[str]) -> None:
    send_templated_mail(subject, f"workspaces/email/{template}", context, recipients)


# Requests for a workspace ------------------------------------------------------------


def request_workspace(
    requester: User, data: dict[str, Any], *, request: HttpRequest | None = None
) -> WorkspaceRequest:
    """Keep a request for a workspace and tell staff that it waits for them."""
    ws_request = WorkspaceRequest.objects.create(
        requester=requester, **{field: data[field] for field in REQUEST_FIELDS if field in data}
    )
    audit.record(
        audit.Action.WORKSPACE_REQUESTED,
        request=request,
        actor=requester,
        target=ws_request.name,
        request_id=ws_request.pk,
    )
    staff = (
        User.objects.filter(is_staff=True, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    _mail(
        "A workspace request awaits a decision",
        "request_received.txt",
        {
            "ws_request": ws_request,
            "url": _link(
                request, reverse("admin:workspaces_workspacerequest_change", args=[ws_request.pk])
            ),
        },
        list(staff),
    )
    return ws_request


def _pending(ws_request: WorkspaceRequest) -> WorkspaceRequest:
    """The request, locked and re-read, if it still waits for a decision."""
    locked = WorkspaceRequest.objects.select_for_update().get(pk=ws_request.pk)
    if locked.status != WorkspaceRequest.Status.PENDING:
        decided = locked.get_status_display().lower()
        raise WorkspaceError(f"The request for “{locked.name}” has already been {decided}.")
    return locked


def approve_request(
    ws_request: WorkspaceRequest, staff: User, *, request: HttpRequest | None = None
) -> Workspace:
    """Create the requested workspace with the requester as its owner, and tell them.

    Refused, with nothing changed, if a workspace of that name (in any case) exists.
    """
    with transaction.atomic():
        locked = _pending(ws_request)
        taken = WorkspaceError(
            f"A workspace named “{locked.name}” already exists: change the request's name "
            "or reject it."
        )
        if Workspace.objects.filter(name__iexact=locked.name).exists():
            raise taken
        try:
            with transaction.atomic():
                workspace = Workspace.objects.create(name=locked.name)
        except IntegrityError as error:  # created by someone else in the meantime
            raise taken from error
        Membership.objects.create(
            workspace=workspace, user=locked.requester, role=Membership.Role.OWNER
        )
        locked.status = WorkspaceRequest.Status.APPROVED
        locked.decided_by = staff
        locked.decided_at = timezone.now()
        locked.workspace = workspace
        locked.save(update_fields=["status", "decided_by", "decided_at", "workspace"])
        audit.record(
            audit.Action.WORKSPACE_CREATED,
            request=request,
            actor=staff,
            workspace=workspace,
            target=workspace.name,
            request_id=locked.pk,
        )
        audit.record(
            audit.Action.MEMBER_ADDED,
            request=request,
            actor=staff,
            workspace=workspace,
            target=locked.requester.username,
            role=Membership.Role.OWNER,
        )
    ws_request.refresh_from_db()
    _mail(
        f"Your workspace “{workspace.name}” is ready",
        "request_approved.txt",
        {
            "ws_request": locked,
            "url": _link(request, reverse("workspaces:detail", args=[workspace.pk])),
        },
        [locked.requester.email] if locked.requester.email else [],
    )
    return workspace


def reject_request(
    ws_request: WorkspaceRequest,
    staff: User,
    note: str | None = None,
    *,
    request: HttpRequest | None = None,
) -> None:
    """Turn a request down and tell the requester, with the staff note if there is one."""
    with transaction.atomic():
        locked = _pending(ws_request)
        locked.status = WorkspaceRequest.Status.REJECTED
        locked.decided_by = staff
        locked.decided_at = timezone.now()
        if note is not None:
            locked.staff_note = note
        locked.save(update_fields=["status", "decided_by", "decided_at", "staff_note"])
        audit.record(
            audit.Action.WORKSPACE_REQUEST_REJECTED,
            request=request,
            actor=staff,
            target=locked.name,
            request_id=locked.pk,
        )
    ws_request.refresh_from_db()
    _mail(
        f"Your request for the workspace “{locked.name}”",
        "request_rejected.txt",
        {"ws_request": locked},
        [locked.requester.email] if locked.requester.email else [],
    )


def requests_of(user: User) -> list[WorkspaceRequest]:
    """The user's own workspace requests, newest first."""
    return list(WorkspaceRequest.objects.filter(requester=user).select_related("workspace"))


# Invitations --------------------------------------------------------------------------


def _require_owner(user: User, workspace: Workspace) -> None:
    if not is_owner(user, workspace):
        raise PermissionDenied("Only the workspace's owners manage its members.")


def invite(
    workspace: Workspace,
    inviter: User,
    email: str,
    role: str,
    *,
    request: HttpRequest | None = None,
) -> tuple[Invitation, str]:
    """An invitation and its token, e-mailed to ``email``.

    Nothing about the address is looked up: whether it has an account is not told.
    """
    _require_owner(inviter, workspace)
    if role not in Membership.Role.values:
        raise WorkspaceError(f"Unknown role {role!r}.")
    raw = secrets.token_urlsafe(32)
    now = timezone.now()
    invitation = Invitation.objects.create(
        workspace=workspace,
        email=email,
        role=role,
        token_hash=hash_secret(raw),
        invited_by=inviter,
        created_at=now,
        expires_at=now + timedelta(days=INVITATION_DAYS),
    )
    audit.record(
        audit.Action.MEMBER_INVITED,
        request=request,
        actor=inviter,
        workspace=workspace,
        target=email,
        role=role,
        invitation_id=invitation.pk,
    )
    _mail(
        f"An invitation to the workspace “{workspace.name}”",
        "invitation.txt",
        {
            "invitation": invitation,
            "inviter": inviter,
            "url": _link(request, reverse("workspaces:invitation", args=[raw])),
        },
        [email],
    )
    return invitation, raw


def invitation_for_token(raw: str) -> Invitation | None:
    """The invitation whose token is ``raw`` (used, expired or not), else None."""
    if not raw:
        return None
    digest = hash_secret(raw)
    invitation = (
        Invitation.objects.select_related("workspace", "invited_by")
        .filter(token_hash=digest)
        .first()
    )
    if invitation is None or not hmac.compare_digest(invitation.token_hash, digest):
        return None
    return invitation


def invitation_problem(invitation: Invitation | None) -> str | None:
    """Why the invitation cannot be accepted, or None when it can."""
    if invitation is None:
        return "This invitation link is not valid."
    if invitation.revoked_at is not None:
        return "This invitation has been withdrawn."
    if invitation.accepted_at is not None:
        return "This invitation has already been used."
    if invitation.expires_at <= timezone.now():
        return "This invitation has expired; ask the workspace's owner for a new one."
    return None


def accept_invitation(raw: str, user: User, *, request: HttpRequest | None = None) -> Membership:
    """Make ``user`` a member with the invitation's role; the invitation is then used up."""
    with transaction.atomic():
        found = invitation_for_token(raw)
        invitation = (
            Invitation.objects.select_for_update().select_related("workspace").get(pk=found.pk)
            if found is not None
            else None
        )
        problem = invitation_problem(invitation)
        if problem is not None:
            raise WorkspaceError(problem)
        assert invitation is not None
        workspace = invitation.workspace
        if role_in(user, workspace) is not None:
            raise WorkspaceError(f"You are already a member of “{workspace.name}”.")
        membership = Membership.objects.create(workspace=workspace, user=user, role=invitation.role)
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        audit.record(
            audit.Action.MEMBER_ADDED,
            request=request,
            actor=user,
            workspace=workspace,
            target=user.username,
            role=invitation.role,
            invitation_id=invitation.pk,
        )
    return membership


def revoke_invitation(
    invitation: Invitation, actor: User, *, request: HttpRequest | None = None
) -> None:
    """Withdraw an invitation that has not been used."""
    _require_owner(actor, invitation.workspace)
    with transaction.atomic():
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if locked.accepted_at is not None:
            raise WorkspaceError("This invitation has already been used.")
        if locked.revoked_at is not None:
            return
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        # The log has no action of its own for this: a pending member is removed.
        audit.record(
            audit.Action.MEMBER_REMOVED,
            request=request,
            actor=actor,
            workspace=locked.workspace,
            target=locked.email,
            invitation_id=locked.pk,
            invitation_revoked=True,
        )
    invitation.refresh_from_db()


def pending_invitations(workspace: Workspace) -> list[Invitation]:
    """Invitations not yet used, withdrawn or expired."""
    return list(
        workspace.invitations.filter(
            accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
        ).select_related("invited_by")
    )


# Members ------------------------------------------------------------------------------


def members_of(workspace: Workspace) -> list[Membership]:
    return list(workspace.memberships.select_related("user").order_by("user__username", "user__pk"))


def _keep_an_owner(membership: Membership, doing: str) -> None:
    """Refuse to leave a workspace without an owner. Call inside a transaction."""
    owners = list(
        Membership.objects.select_for_update()
        .filter(workspace_id=membership.workspace_id, role=Membership.Role.OWNER)
        .values_list("pk", flat=True)
    )
    if owners == [membership.pk]:
        raise WorkspaceError(
            f"{membership.user.username} is the workspace's last owner and cannot be {doing}: "
            "make another member an owner first."
        )


def change_role(
    membership: Membership, actor: User, role: str, *, request: HttpRequest | None = None
) -> Membership:
    """Give a member another role; the last owner cannot be demoted."""
    workspace = membership.workspace
    _require_owner(actor, workspace)
    if role not in Membership.Role.values:
        raise WorkspaceError(f"Unknown role {role!r}.")
    with transaction.atomic():
        locked = Membership.objects.select_for_update().select_related("user").get(pk=membership.pk)
        previous = locked.role
        if previous == role:
            return locked
        if previous == Membership.Role.OWNER:
            _keep_an_owner(locked, "demoted")
        locked.role = role
        locked.save(update_fields=["role"])
        audit.record(
            audit.Action.MEMBER_CHANGED,
            request=request,
            actor=actor,
            workspace=workspace,
            target=locked.user.username,
            previous_role=previous,
            role=role,
        )
    membership.refresh_from_db()
    return locked


def remove_member(
    membership: Membership, actor: User, *, request: HttpRequest | None = None
) -> None:
    """Take a member out of the workspace (an owner does it, or the member leaves).

    The last owner can neither be removed nor leave.
    """
    workspace = membership.workspace
    leaving = membership.user_id == actor.pk
    if not leaving:
        _require_owner(actor, workspace)
    with transaction.atomic():
        locked = Membership.objects.select_for_update().select_related("user").get(pk=membership.pk)
        if locked.role == Membership.Role.OWNER:
            _keep_an_owner(locked, "removed")
        locked.delete()
        audit.record(
            audit.Action.MEMBER_REMOVED,
            request=request,
            actor=actor,
            workspace=workspace,
            target=locked.user.username,
            role=locked.role,
            left=leaving,
        )
