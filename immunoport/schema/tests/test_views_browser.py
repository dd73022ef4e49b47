import pytest

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_a_provider_finds_a_template_and_reads_its_columns(page, live_server):
    page.goto(f"{live_server.url}/resources/")
    page.get_by_role("link", name="Upload templates: blanks and their columns").click()
    page.wait_for_url(f"{live_server.url}/resources/templates/")
    page.get_by_role("link", name="subjectHumans.txt", exact=True).click()
    page.wait_for_url(f"{live_server.url}/resources/templates/subjectHumans.txt/")
    assert page.get_by_role("heading", name="subjectHumans.txt").is_visible()
    assert page.get_by_role("rowheader", name="Gender", exact=True).is_visible()
    assert page.get_by_role("rowheader", name="Result Separator Column").is_visible()
    assert page.get_by_role("link", name="subjectHumans.xlsx").is_visible()
