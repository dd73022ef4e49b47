"""Fixtures of the API tests: the demo studies released, clients, and empty rate counts.

``demo_release`` is package-scoped: the six demo studies are imported, released as DR1
and their downloads built once for every API test module, in one transaction rolled
back at the end, with stored files in a folder of their own. Tests use ``db`` as
usual; each runs in a savepoint inside that transaction.
"""

import pytest
from django.core.cache import caches
from django.db import transaction
from django.test import override_settings

from immunoport.demo.services import load_demo
from immunoport.releases import services
from immunoport.releases.models import DataRelease


@pytest.fixture(scope="package")
def demo_storage(tmp_path_factory):
    location = tmp_path_factory.mktemp("api-demo-storage")
    with override_settings(
        STORAGES={
            "default": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(location)},
            },
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
    ):
        yield location


@pytest.fixture(scope="package")
def demo_release(demo_storage, django_db_setup, django_db_blocker) -> DataRelease:
    """DR1: the six demo studies (SDY139, SDY208, SDY702, SDY1041, SDY1097, SDY1389),
    their downloads built."""
    with django_db_blocker.unblock(), transaction.atomic():
        load_demo()
        release = services.current_release()
        assert release is not None
        services.build_downloads(release.pk)
        yield release
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def _no_rate_counts():
    """Each test starts with no request counted against the API's rate limits."""
    caches["throttle"].clear()
