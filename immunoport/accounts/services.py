"""API tokens: create, authenticate, revoke, and ImmPort's password exchange."""

import hashlib
import hmac
import secrets
from datetime import timedelta

from allauth.account.adapter import get_adapter
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone

from immunoport.accounts import audit
from immunoport.accounts.models import ApiToken
from immunoport.workspaces.models import Workspace
from immunoport.workspaces.permissions import WRITERS, role_in

SECRET_PREFIX = "ipt_"
PREFIX_LENGTH = 8
DEFAULT_DAYS = 90
MAX_DAYS = 365
EXCHANGE_LIFETIME_DAYS = 1  # tokens from POST /auth/token live 24 hours
EXCHANGE_NAME = "ImmPort token exchange"


class SignInLocked(Exception):
    """Too many failed sign-ins for this account or address; the same lock as the web's."""


class TokenError(ValueError):
    """A token that may not be created as asked; the message says why."""


def hash_secret(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_token(
    user: User,
    name: str,
    scope: str,
    workspace: Workspace | None = None,
    days: int = DEFAULT_DAYS,
    *,
    request: HttpRequest | None = None,
) -> tuple[ApiToken, str]:
    """A new token and its secret; the secret is not stored and cannot be shown again."""
    if not 1 <= days <= MAX_DAYS:
        raise TokenError(f"A token lives between 1 and {MAX_DAYS} days.")
    if scope == ApiToken.Scope.READ_SHARED:
        if workspace is not None:
            raise TokenError("A read-shared token is not tied to a workspace.")
    elif scope == ApiToken.Scope.WORKSPACE_WRITE:
        if workspace is None:
            raise TokenError("A workspace-write token needs a workspace.")
        if role_in(user, workspace) not in WRITERS:
            raise TokenError("You may only create write tokens for workspaces you can change.")
    else:
        raise TokenError(f"Unknown scope {scope!r}.")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        scope=scope,
        workspace=workspace,
        prefix=secret[:PREFIX_LENGTH],
        key_hash=hash_secret(secret),
        expires_at=timezone.now() + timedelta(days=days),
    )
    _record(audit.Action.TOKEN_CREATED, token, request, expires_at=token.expires_at.isoformat())
    return token, secret


def _record(action: str, token: ApiToken, request: HttpRequest | None, **detail) -> None:
    """An audit entry about ``token``: its name, prefix and scope, never its secret."""
    audit.record(
        action,
        request=request,
        actor=token.user,
        workspace=token.workspace,
        target=token.name,
        prefix=token.prefix,
        scope=token.scope,
        **detail,
    )


def authenticate_token(raw: str, request: HttpRequest | None = None) -> ApiToken | None:
    """The live token whose secret is ``raw``, marked as used now (and audited); else None.

    The database is searched by the secret's hash, never by the secret, so
    comparison time tells nothing about how much of a guess was right.
    """
    if not raw:
        return None
    digest = hash_secret(raw)
    token = ApiToken.objects.select_related("user", "workspace").filter(key_hash=digest).first()
    if token is None or not hmac.compare_digest(token.key_hash, digest):
        return None
    now = timezone.now()
    if token.revoked_at is not None or token.expires_at <= now or not token.user.is_active:
        return None
    if token.scope == ApiToken.Scope.WORKSPACE_WRITE and (
        token.workspace is None or role_in(token.user, token.workspace) not in WRITERS
    ):
        return None  # the user has since lost write access to the workspace
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now
    where = {"method": request.method, "path": request.path} if request is not None else {}
    _record(audit.Action.TOKEN_USED, token, request, **where)
    return token


def revoke_token(token: ApiToken, *, request: HttpRequest | None = None) -> None:
    """Stop ``token`` from authenticating; revoking twice keeps the first time."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        _record(audit.Action.TOKEN_REVOKED, token, request)


def exchange_password(username: str, password: str, request: HttpRequest) -> str | None:
    """ImmPort's POST /auth/token: a short-lived read-shared secret, or None.

    Unknown users and wrong passwords are alike to the caller (Django's backend
    also hashes a password for an unknown user, so timing tells them apart no better).
    Attempts count against the web sign-in's limits, so scripts cannot guess passwords
    faster than a browser: over the limit, ``SignInLocked`` is raised.
    """
    try:
        user = get_adapter(request).authenticate(request, username=username, password=password)
    except ValidationError:
        raise SignInLocked from None
    if not isinstance(user, User) or not user.is_active:
        return None
    # A script may exchange a password many times a day: its expired tokens go.
    ApiToken.objects.filter(user=user, name=EXCHANGE_NAME, expires_at__lt=timezone.now()).delete()
    _, secret = create_token(
        user,
        EXCHANGE_NAME,
        ApiToken.Scope.READ_SHARED,
        days=EXCHANGE_LIFETIME_DAYS,
        request=request,
    )
    return secret


def token_from_request(request: HttpRequest) -> ApiToken | None:
    """The token in ``Authorization: bearer <token>`` (any case of "bearer"), if live."""
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return authenticate_token(raw.strip(), request)


def tokens_of(user: User | AnonymousUser) -> list[ApiToken]:
    """The user's own tokens, newest first."""
    if isinstance(user, AnonymousUser):
        return []
    return list(ApiToken.objects.filter(user=user).select_related("workspace"))
