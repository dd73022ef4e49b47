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
