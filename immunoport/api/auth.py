"""Who may call the API: ImmPort's bearer tokens, or a signed-in browser session.

ImmPort's clients send ``Authorization: bearer <token>`` with a token from
``POST /auth/token``; our personal API tokens work the same way. A signed-in user's
session is accepted too, so the interactive docs work from the browser.
"""

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, django_auth

from immunoport.accounts.models import ApiToken
from immunoport.accounts.services import authenticate_token


class BearerToken(HttpBearer):
    """A live API token (any scope) whose user is active."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        found = authenticate_token(token.strip(), request)
        if found is not None:
            request.user = found.user
        return found


# Endpoints that ImmPort protects: a token, else a signed-in session.
SIGNED_IN: list[Any] = [BearerToken(), django_auth]
