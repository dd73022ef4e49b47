"""A study's rows, found through the models' references, against ImmPort's own
per-study downloads: the six demo packages list exactly each study's rows."""

import pytest
from django.db import transaction

from immunoport.demo.services import demo_packages, load_demo
from immunoport.ingest.tests.immport_files import row_counts
from immunoport.releases.snapshot import study_frames
from immunoport.studies.models import Study

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        yield load_demo()
        transaction.set_rollback(True)


@pytest.mark.parametrize("package", demo_packages(), ids=lambda p: p.name)
def test_a_studys_rows_are_those_of_its_immport_download(demo, package):
    frames = study_frames(Study.objects.get(pk=package.name))
    found = {table: frame.height for table, frame in frames.items() if frame.height}
    expected = row_counts(package)
    if "study_data_release" not in expected:  # older packages do not ship it; the
        found.pop("study_data_release")  # import records the release ImmPort gave
    assert found == expected
