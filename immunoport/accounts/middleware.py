"""Before a signed-in user does anything: accept the agreement, then enrol a second factor.

Signing in itself always goes through allauth's pages, never the admin's own (urls.py).
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from immunoport.accounts.agreement import session_has_accepted
from immunoport.accounts.mfa import mfa_missing

# Pages a signed-in user can reach before the agreement and MFA enrolment are done.
_ALWAYS_OPEN = ("/static/", "/accounts/logout/", "/account/agreement/")
# Enrolling: allauth's MFA pages, and the password prompt that allauth puts before
# activating an authenticator (MFA_REAUTHENTICATION_REQUIRED); without it the
# activation page and this gate would redirect to each other for ever.
_MFA_SETUP = ("/accounts/2fa/", "/accounts/reauthenticate/")


def account_gate(get_response: Callable[[HttpRequest], HttpResponse]):
    def middleware(request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated and not request.path.startswith(_ALWAYS_OPEN):
            if not session_has_accepted(request):
                query = urlencode({"next": request.get_full_path()})
                return redirect(f"{reverse('accounts:agreement')}?{query}")
            if not request.path.startswith(_MFA_SETUP) and mfa_missing(user):
                return redirect("mfa_activate_totp")
        return get_response(request)

    return middleware
