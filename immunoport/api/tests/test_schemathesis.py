"""Schemathesis calls every operation of our OpenAPI description with generated
requests, against the WSGI app with the demo studies released and a live token: no
answer may be a server error.

Ten examples per operation keep the run to seconds (past the demo's import); the rate
limits are lifted so that generated requests are answered, not throttled.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from conftest import approved_user
from immunoport.accounts.models import ApiToken
from immunoport.accounts.services import create_token
from immunoport.api.api import api

pytestmark = pytest.mark.django_db

EXAMPLES = 10


@pytest.fixture
def api_schema(demo_release, monkeypatch):
    for throttle in api.throttle:
        monkeypatch.setattr(throttle, "num_requests", 1_000_000)
    # a request's start and end would close the test's database connection (and its
    # transaction): Django's test client keeps it open the same way
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi("/data/query/openapi.json", get_wsgi_application())
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def token(db) -> str:
    return create_token(approved_user("fuzzer"), "schemathesis", ApiToken.Scope.READ_SHARED)[1]


def test_no_operation_answers_a_server_error(api_schema, token):
    """Each operation in turn; every failing one is reported, not only the first."""
    headers = {"Authorization": f"bearer {token}"}
    failures = {}
    for found in api_schema.get_all_operations():
        operation = found.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case):
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        try:
            call()
        except Exception as error:  # a failed check: noted, and the next operation run
            failures[operation.label] = str(error)[:2000]
    assert not failures, "\n\n".join(f"{label}: {error}" for label, error in failures.items())
