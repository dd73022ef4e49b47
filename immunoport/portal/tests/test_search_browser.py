"""The search page in Chromium: counts, a facet checkbox re-rendering the results and
a chart through htmx, the cart, and a CSV export downloaded and read back."""

import polars as pl
import pytest
from playwright.sync_api import expect

from immunoport.portal.tests.test_search import (  # noqa: F401 - the crafted fixture
    PRIVATE_TITLE,
    crafted,
)

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_a_visitor_filters_fills_the_cart_and_exports_it(page, live_server, crafted, tmp_path):  # noqa: F811
    refused = []  # a CSP violation shows in the console
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    page.goto(f"{live_server.url}/shared/search/")
    expect(page.locator("#total-studies")).to_have_text("Studies (3)")
    expect(page.locator("#total-subjects")).to_have_text("Subjects (6)")
    lupus_bar = page.locator('#chart-research_focus g[data-value="Autoimmune"]')
    expect(lupus_bar).to_have_count(1)
    assert page.get_by_text(PRIVATE_TITLE).count() == 0

    page.locator('#facet-condition_or_disease input[value="Influenza"]').check()
    expect(page.locator("#total-studies")).to_have_text("Studies (2)")  # no page load: htmx
    expect(page.locator("#total-subjects")).to_have_text("Subjects (4)")
    expect(lupus_bar).to_have_count(0)  # the chart followed the filter
    expect(page.locator(".search-table tbody tr")).to_have_count(2)
    assert "condition_or_disease=Influenza" in page.url  # the search is a link
    expect(page.locator('#facet-condition_or_disease input[value="Influenza"]')).to_be_checked()
    page.screenshot(path=str(tmp_path / "search.png"), full_page=True)

    row = page.locator(".search-table tbody tr", has_text=crafted["flu"])
    row.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_text("Added 1 study to the cart.")).to_be_visible()
    expect(row.get_by_role("button", name="Remove from cart")).to_be_visible()
    assert "condition_or_disease=Influenza" in page.url  # back on the same search

    page.get_by_role("link", name="Your cart (1)").click()
    page.wait_for_url(f"{live_server.url}/shared/cart/")
    expect(page.locator(".cart-table tbody tr")).to_have_count(1)
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    assert download.value.suggested_filename == "immunoport-cart.csv"
    exported = pl.read_csv(download.value.path())
    assert exported["Accession"].to_list() == [crafted["flu"]]
    assert exported["Title"].to_list() == ["Influenza vaccine response in adults"]
    assert refused == []
