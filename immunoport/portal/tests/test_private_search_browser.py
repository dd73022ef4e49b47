"""The private search in Chromium: a member signs in, opens it from their workspaces,
filters by a facet through htmx and sees the Private marking and the counts."""

import pytest
from playwright.sync_api import expect

from conftest import approved_user, sign_in_with_browser
from immunoport.portal.tests.test_search import (  # noqa: F401 - the crafted fixture
    PRIVATE_CONDITION,
    PRIVATE_TITLE,
    crafted,
    make_study,
)
from immunoport.workspaces.models import Membership

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_a_member_filters_their_private_studies(page, live_server, crafted, other_workspace):  # noqa: F811
    make_study(
        other_workspace, title="Zeta follow-up in children", conditions=[("Measles", None)],
        subjects=[{"age": 8, "gender": "Male"}, {"age": 9, "gender": "Female"}], shared=False,
    )  # fmt: skip
    user = approved_user("hepatologist")
    Membership.objects.create(workspace=other_workspace, user=user, role="viewer")
    refused = []  # a CSP violation shows in the console
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)

    page.goto(f"{live_server.url}/accounts/login/?next=/workspaces/")
    sign_in_with_browser(page, "hepatologist", "a long pass phrase")
    page.get_by_role("link", name="Search your private data").click()
    page.wait_for_url(f"{live_server.url}/workspaces/search/")
    expect(page.get_by_role("heading", name="Search your private data")).to_be_visible()
    expect(page.locator("h1 .badge.private")).to_have_text("Private")
    expect(page.locator("#total-studies")).to_have_text("Studies (2)")
    expect(page.locator("#total-subjects")).to_have_text("Subjects (3)")
    expect(page.locator(".search-table tbody tr .badge.private")).to_have_count(2)
    assert page.get_by_text("Lupus autoantibody cohort").count() == 0  # another workspace's

    page.locator(f'#facet-condition_or_disease input[value="{PRIVATE_CONDITION}"]').check()
    expect(page.locator("#total-studies")).to_have_text("Studies (1)")  # no page load: htmx
    expect(page.locator("#total-subjects")).to_have_text("Subjects (1)")
    # a facet's own chart keeps its other values; the others follow the filter
    expect(page.locator("#chart-condition_or_disease g.bar-row")).to_have_count(2)
    expect(page.locator("#chart-gender g.bar-row")).to_have_count(1)
    row = page.locator(".search-table tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(PRIVATE_TITLE)
    expect(row).to_contain_text("Other lab")
    expect(row.locator(".badge.private")).to_have_text("Private")
    assert "/workspaces/search/?" in page.url
    assert page.locator('meta[name="robots"]').get_attribute("content") == "noindex"

    row.get_by_role("link").first.click()
    expect(page.get_by_role("heading", name=PRIVATE_TITLE)).to_be_visible()
    expect(page.locator("h1 .badge.private")).to_have_text("Private")
    assert refused == []
