import pytest

from immunoport.portal.tests.test_home import EXPECTED

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_a_visitor_reads_the_banner_figures(page, live_server, shared_and_private_studies):
    page.goto(live_server.url)
    figures = {}
    for item in page.locator(".figure").all():
        label = item.locator(".label").inner_text()
        figures[label] = int(item.locator(".value").inner_text().replace(",", ""))
    assert figures == EXPECTED
    page.get_by_role("link", name="Shared Data").click()
    page.wait_for_url(f"{live_server.url}/shared/")
    assert page.get_by_role("cell", name="Flu vaccine").is_visible()
    assert page.get_by_text("Private lupus cohort").count() == 0
