"""Who may see or change what in a workspace: the one place that decides it."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.http import Http404

from immunoport.workspaces.models import Membership, Workspace

WRITERS = {Membership.Role.OWNER, Membership.Role.UPLOADER}


def workspaces_of(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Workspace]:
    """The workspaces whose private data ``user`` may see."""
    if not user.is_authenticated:
        return Workspace.objects.none()
    return Workspace.objects.filter(memberships__user__pk=user.pk)


def writable_workspaces_of(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Workspace]:
    """The workspaces whose data ``user`` may change (owner or uploader)."""
    if not user.is_authenticated:
        return Workspace.objects.none()
    return Workspace.objects.filter(memberships__user__pk=user.pk, memberships__role__in=WRITERS)


def role_in(user: AbstractBaseUser | AnonymousUser, workspace: Workspace) -> str | None:
    if not user.is_authenticated:
        return None
    return (
        Membership.objects.filter(workspace=workspace, user__pk=user.pk)
        .values_list("role", flat=True)
        .first()
    )


def is_owner(user: AbstractBaseUser | AnonymousUser, workspace: Workspace) -> bool:
    """Owners manage a workspace's members and invitations."""
    return role_in(user, workspace) == Membership.Role.OWNER


def workspace_for(
    user: AbstractBaseUser | AnonymousUser,
    workspace_id: int,
    *,
    write: bool = False,
    owner: bool = False,
) -> Workspace:
    """The workspace if ``user`` may see it (change its data, with ``write``; manage its
    members, with ``owner``); else 404.

    A 404, not a 403, so an outsider cannot tell which workspaces exist, and a member
    cannot tell an owner-only action from a missing page.
    """
    workspace = workspaces_of(user).filter(pk=workspace_id).first()
    if workspace is None:
        raise Http404("No such workspace")
    if write and role_in(user, workspace) not in WRITERS:
        raise Http404("No such workspace")
    if owner and not is_owner(user, workspace):
        raise Http404("No such workspace")
    return workspace
