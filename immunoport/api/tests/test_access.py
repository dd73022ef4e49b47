"""Who may call each operation of the API, read from our own OpenAPI description.

Every operation that declares security refuses a request without a token, or with a
wrong, expired or revoked one (401), and accepts a live token and a signed-in session;
every other operation answers anonymous requests. An operation added later is checked
as soon as it is in the description. The rate limits answer 429 when exceeded.
"""

import datetime
import re

import pytest
from django.utils import timezone

from conftest import approved_user
from immunoport.accounts.models import ApiToken
from immunoport.accounts.services import create_token, revoke_token
from immunoport.api.api import api

pytestmark = pytest.mark.django_db

# a value for each path parameter; any other is "x"
PATH_VALUES = {"studyAccession": "SDY702"}
PARAMETER = re.compile(r"\{([^}]+)\}")


def operations() -> list[tuple[str, bool]]:
    """Every GET operation's path, with its parameters filled in, and whether it is secured."""
    described = api.get_openapi_schema()
    return [
        (PARAMETER.sub(lambda p: PATH_VALUES.get(p[1], "x"), path), bool(operation.get("security")))
        for path, methods in described["paths"].items()
        for method, operation in methods.items()
        if method == "get"
    ]


SECURED = [path for path, secured in operations() if secured]
OPEN = [path for path, secured in operations() if not secured]


@pytest.fixture
def reader(db):
    return approved_user("reader")


def bearer(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"bearer {secret}"}


@pytest.fixture
def live(reader) -> str:
    return create_token(reader, "live", ApiToken.Scope.READ_SHARED)[1]


@pytest.fixture
def expired(reader) -> str:
    token, secret = create_token(reader, "expired", ApiToken.Scope.READ_SHARED)
    token.expires_at = timezone.now() - datetime.timedelta(seconds=1)
    token.save(update_fields=["expires_at"])
    return secret


@pytest.fixture
def revoked(reader) -> str:
    token, secret = create_token(reader, "revoked", ApiToken.Scope.READ_SHARED)
    revoke_token(token)
    return secret


def test_the_description_lists_both_kinds():
    assert SECURED
    assert "/data/query/api/search/study" in OPEN
    assert "/data/query/api/lookup/lkDisease" in OPEN


@pytest.mark.parametrize("path", SECURED)
def test_a_secured_operation_refuses_no_token_and_bad_tokens(
    client, demo_release, expired, revoked, path
):
    assert client.get(path).status_code == 401
    for secret in ("not-a-token", expired, revoked):
        assert client.get(path, **bearer(secret)).status_code == 401, secret


@pytest.mark.parametrize("path", SECURED)
def test_a_secured_operation_accepts_a_live_token_and_a_session(
    client, demo_release, live, reader, sign_in, path
):
    assert client.get(path, **bearer(live)).status_code not in (401, 403)
    assert client.get(path, **bearer(live.upper() + "x")).status_code == 401
    sign_in(client, reader)
    assert client.get(path).status_code not in (401, 403)


@pytest.mark.parametrize("path", OPEN)
def test_an_open_operation_answers_anyone(client, demo_release, path):
    assert client.get(path).status_code == 200


@pytest.fixture
def two_a_minute(monkeypatch):
    for throttle in api.throttle:
        monkeypatch.setattr(throttle, "num_requests", 2)


def test_anonymous_requests_over_the_rate_answer_429(client, demo_release, two_a_minute):
    path = "/data/query/api/lookup/lkSex"
    assert [client.get(path).status_code for _ in range(3)] == [200, 200, 429]


def test_token_requests_over_the_rate_answer_429(client, demo_release, live, two_a_minute):
    path = SECURED[0]
    answers = [client.get(path, **bearer(live)).status_code for _ in range(3)]
    assert answers[-1] == 429
    assert 429 not in answers[:2]
