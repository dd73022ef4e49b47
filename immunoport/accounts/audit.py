"""The audit log: who did what to which private data, and when.

Every part of immunoport records through ``record``; nothing updates or deletes
an entry.
"""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db.models import QuerySet
from django.http import HttpRequest

from immunoport.accounts.models import AuditEvent
from immunoport.workspaces.models import Workspace

Action = AuditEvent.Action


def client_ip(request: HttpRequest | None) -> str | None:
    """The client's address as the server saw it (a proxy's own is trusted by settings)."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record(
    action: str,
    *,
    request: HttpRequest | None = None,
    actor: AbstractBaseUser | AnonymousUser | None = None,
    workspace: Workspace | None = None,
    target: str = "",
    **detail: Any,
) -> AuditEvent:
    """Append one event; the actor defaults to the request's user."""
    if actor is None and request is not None:
        actor = getattr(request, "user", None)
    known = actor if isinstance(actor, User) else None
    return AuditEvent.objects.create(
        action=action,
        actor=known,
        actor_name=known.get_username() if known else detail.pop("username", ""),
        workspace=workspace,
        target=target[:250],
        ip_address=client_ip(request),
        detail=detail,
    )


def viewed(request: HttpRequest, workspace: Workspace, page: str = "", **detail: Any) -> None:
    """A workspace's private page was shown to the request's user."""
    if page:
        detail["page"] = page
    record(Action.VIEWED, request=request, workspace=workspace, target=workspace.name, **detail)


def events_of(user: AbstractBaseUser | AnonymousUser) -> QuerySet[AuditEvent]:
    """What ``user`` did, newest first: the entries a user may read about themselves."""
    if not isinstance(user, User):
        return AuditEvent.objects.none()
    return AuditEvent.objects.filter(actor=user).select_related("workspace")
