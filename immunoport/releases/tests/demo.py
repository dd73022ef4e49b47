"""The demo's six ImmPort studies released as DR1, for tests that read a real release."""

from collections.abc import Iterator

from django.db import transaction
from django.test import override_settings

from immunoport.demo.services import load_demo
from immunoport.releases import services
from immunoport.releases.models import DataRelease


def released_demo(tmp_path_factory, django_db_blocker) -> Iterator[DataRelease]:
    """DR1 of the demo studies (SDY139, SDY208, SDY702, SDY1041, SDY1097, SDY1389) with
    its downloads built, for a fixture of a wider scope than one test.

    Stored files go to a folder of their own; the rows live in one transaction that is
    rolled back at the end, and each test runs in a savepoint inside it.
    """
    location = tmp_path_factory.mktemp("demo-release")
    storages = {
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(location)},
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=storages), django_db_blocker.unblock(), transaction.atomic():
        load_demo()
        release = services.current_release()
        assert release is not None
        services.build_downloads(release.pk)
        yield release
        transaction.set_rollback(True)
