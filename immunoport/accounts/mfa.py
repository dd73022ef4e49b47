"""Who must sign in with a second factor."""

from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser

from immunoport.workspaces.models import Membership
from immunoport.workspaces.permissions import WRITERS


def mfa_required(user: AbstractBaseUser) -> bool:
    """Staff, and everyone who may change a workspace's data; everyone with the setting."""
    if settings.MFA_REQUIRED_FOR_ALL or getattr(user, "is_staff", False):
        return True
    return Membership.objects.filter(user__pk=user.pk, role__in=WRITERS).exists()


def mfa_missing(user: AbstractBaseUser) -> bool:
    """True when ``user`` must have a second factor and has none yet."""
    return mfa_required(user) and not is_mfa_enabled(user)
