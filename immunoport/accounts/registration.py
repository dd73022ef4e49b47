"""Registration and staff approval of accounts.

A new account is inactive (pending) until a staff member approves it; the person
first confirms their e-mail address through allauth.
"""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, User
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from immunoport.accounts import audit
from immunoport.accounts.models import Profile
from immunoport.core.mail import send_templated_mail

PROFILE_FIELDS = ("organization", "phone", "research_needs", "referral")


def register(request: HttpRequest, user: AbstractBaseUser, data: dict[str, Any]) -> Profile:
    """Keep what the person told us; the account waits for approval."""
    assert isinstance(user, User)
    user.first_name = data["first_name"]
    user.last_name = data["last_name"]
    user.is_active = False
    user.save(update_fields=["first_name", "last_name", "is_active"])
    profile = Profile.objects.create(user=user, **{f: data.get(f, "") for f in PROFILE_FIELDS})
    audit.record(audit.Action.REGISTERED, request=request, actor=user, target=user.username)
    _notify_staff(request, profile)
    return profile


def _notify_staff(request: HttpRequest, profile: Profile) -> None:
    recipients = list(
        User.objects.filter(is_staff=True, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if recipients:
        url = request.build_absolute_uri(reverse("admin:accounts_profile_changelist"))
        send_templated_mail(
            "An account awaits approval",
            "accounts/email/pending_account.txt",
            {"profile": profile, "url": url},
            recipients,
        )


def pending_profiles():
    return Profile.objects.filter(status=Profile.Status.PENDING).select_related("user")


@transaction.atomic
def decide(profile: Profile, staff: User, *, approve: bool, request: HttpRequest | None = None):
    """Approve (activate) or reject an account, tell its owner, and log it."""
    profile.status = Profile.Status.APPROVED if approve else Profile.Status.REJECTED
    profile.decided_by = staff
    profile.decided_at = timezone.now()
    profile.save(update_fields=["status", "decided_by", "decided_at"])
    user = profile.user
    user.is_active = approve
    user.save(update_fields=["is_active"])
    audit.record(
        audit.Action.ACCOUNT_APPROVED if approve else audit.Action.ACCOUNT_REJECTED,
        request=request,
        actor=staff,
        target=user.username,
    )
    if user.email:
        template = "approved" if approve else "rejected"
        login_url = request.build_absolute_uri(reverse("account_login")) if request else ""
        send_templated_mail(
            f"Your account has been {template}",
            f"accounts/email/account_{template}.txt",
            {"user": user, "login_url": login_url},
            [user.email],
        )
