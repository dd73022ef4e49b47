"""The API's tests run against the demo: six real ImmPort studies released as DR1."""

import pytest
from django.db import transaction
from django.test import override_settings

from immunoport.demo.services import load_demo
from immunoport.releases import services


@pytest.fixture(scope="module")
def demo_storage(tmp_path_factory):
    """A storage folder of the module's own for the demo's snapshots and downloads."""
    location = tmp_path_factory.mktemp("demo-storage")
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


@pytest.fixture(scope="module")
def demo_release(demo_storage, django_db_setup, django_db_blocker):
    """DR1 of the demo with its downloads built, rolled back after the module."""
    with django_db_blocker.unblock(), transaction.atomic():
        load_demo()
        release = services.current_release()
        services.build_downloads(release.pk)
        yield release
        transaction.set_rollback(True)
