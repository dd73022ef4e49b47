"""allauth adapters: new accounts confirm their e-mail, then wait for approval."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.internal.stagekit import clear_login
from allauth.account.models import EmailAddress
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return settings.REGISTRATION_OPEN

    def pre_login(
        self, request: HttpRequest, user, *, signup: bool, **kwargs
    ) -> HttpResponse | None:
        """A new account is inactive until approved, so allauth would stop before
        sending the confirmation e-mail: send it here, and answer exactly as for an
        address already registered (which gets a notice instead), so sign-up never
        tells whether an address is known."""
        unconfirmed = EmailAddress.objects.filter(user=user, verified=False)
        if signup and not user.is_active and unconfirmed.exists():
            for address in unconfirmed:
                address.send_confirmation(request, signup=True)
            clear_login(request)
            return redirect("account_email_verification_sent")
        return super().pre_login(request, user, signup=signup, **kwargs)


class ProviderNotConfigured(SocialApp.DoesNotExist, Http404):
    """Still the ``DoesNotExist`` that allauth's callers expect; Django answers 404."""


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest, sociallogin) -> bool:
        return settings.REGISTRATION_OPEN

    def get_app(self, request: HttpRequest, provider, client_id=None):
        """A provider switched off (no client ID in the environment) has no app; its
        sign-in and callback URLs, which allauth routes for every installed
        provider, then answer 404 instead of failing with a server error."""
        try:
            return super().get_app(request, provider, client_id=client_id)
        except SocialApp.DoesNotExist:
            raise ProviderNotConfigured(f"sign-in with {provider} is not configured") from None
