import datetime
from io import StringIO

import pytest
from django.core.management import call_command

from immunoport.ingest.tests.packages import own_storage_fixture  # noqa: F401 - fixture
from immunoport.releases import services
from immunoport.studies.tests.registrations import register

pytestmark = pytest.mark.usefixtures("own_storage")


def test_the_command_builds_the_next_release_and_says_what_it_holds(workspace):
    sharing = services.request_sharing(register(workspace), None, datetime.date(2026, 1, 1))
    checked = [key for key, _ in services.REVIEW_CHECKLIST]
    services.review(sharing, None, checked=checked, approve=True)
    out = StringIO()
    call_command("build_release", "--notes", "First", stdout=out)
    assert out.getvalue().strip() == "DR1: 1 added, 0 updated, 0 unchanged"
    call_command("build_release", "--point", stdout=out)
    assert out.getvalue().splitlines()[-1] == "DR1.1: 0 added, 0 updated, 1 unchanged"
    assert services.current_release().notes == ""
