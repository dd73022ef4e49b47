"""Who may curate: review sharing requests, clear flagged text, map values, release."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import Http404


def is_curator(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Curators and staff (their groups carry the curation permissions)."""
    return bool(user.is_authenticated and user.has_perm("releases.change_sharingrequest"))


def require_curator(user: AbstractBaseUser | AnonymousUser) -> None:
    """A 404 for anyone else, as for a workspace's private pages."""
    if not is_curator(user):
        raise Http404("No such page")


SESSION_KEY = "curator"


def remember_role(sender, request, user, **kwargs) -> None:
    """On sign-in, note in the session whether to offer the Curation link: the header
    then costs no permission queries on every page. The pages check for themselves."""
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_KEY] = is_curator(user)


def curation_link(request) -> dict[str, bool]:
    """Template context: ``curation_link`` for the header."""
    session = getattr(request, "session", None)
    return {"curation_link": bool(session and session.get(SESSION_KEY))}
