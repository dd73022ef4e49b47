"""Fixtures of the API tests: empty rate counts (the demo release is the root conftest's
``demo_release``, per module, so that the live-server tests here find no open
transaction of another module)."""

import pytest
from django.core.cache import caches


@pytest.fixture(autouse=True)
def _no_rate_counts():
    """Each test starts with no request counted against the API's rate limits."""
    caches["throttle"].clear()
