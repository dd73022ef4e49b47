"""Fixtures of the API tests: the demo studies released, and empty rate counts."""

import pytest
from django.core.cache import caches

from immunoport.releases.tests.demo import released_demo


@pytest.fixture(scope="package")
def demo_release(tmp_path_factory, django_db_setup, django_db_blocker):
    """The demo studies released as DR1, once for every API test module."""
    yield from released_demo(tmp_path_factory, django_db_blocker)


@pytest.fixture(autouse=True)
def _no_rate_counts():
    """Each test starts with no request counted against the API's rate limits."""
    caches["throttle"].clear()
