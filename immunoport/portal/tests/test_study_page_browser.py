"""A real study's page and its program in Chromium: from the search to SDY702's page
(summary, assays, demographics charts, JSON-LD), on to its program, and its download."""

import hashlib
import json

import pytest
from playwright.sync_api import expect

from immunoport.demo.services import load_demo
from immunoport.ingest.tests.packages import own_storage_fixture  # noqa: F401 - fixture
from immunoport.releases import public, services

pytestmark = pytest.mark.browser

ACCESSION = "SDY702"


@pytest.mark.django_db(transaction=True)
def test_a_visitor_goes_from_search_to_a_study_its_program_and_its_download(
    page,
    live_server,
    own_storage,  # noqa: F811 - the fixture imported above
):
    load_demo()
    services.build_downloads(services.current_release().pk)
    released = public.released_study(ACCESSION)
    subjects = public.public_table(released, "subject")
    refused = []  # a CSP violation shows in the console
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)

    page.goto(f"{live_server.url}/shared/search/?q=T+cell+profile")
    page.get_by_role("link", name=ACCESSION, exact=True).first.click()
    page.wait_for_url(f"{live_server.url}/shared/study/{ACCESSION}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(released.title)
    expect(page.get_by_role("heading", name="Mechanistic assays")).to_be_visible()
    expect(page.locator("#assays tbody tr").first).to_be_visible()

    # the gender chart's bars add up to the released subjects, one bar per value
    bars = page.locator("#demographics #chart-gender g.bar-row")
    by_gender = subjects.group_by("gender").len()
    expect(bars).to_have_count(by_gender.height)
    shown = {
        bar.get_attribute("data-value"): int(bar.get_attribute("data-total")) for bar in bars.all()
    }
    assert shown == dict(by_gender.iter_rows())
    assert sum(shown.values()) == subjects.height

    dataset = json.loads(page.locator('script[type="application/ld+json"]').text_content())
    assert dataset["@type"] == "Dataset"
    assert dataset["identifier"][0] == ACCESSION
    assert dataset["url"] == page.url

    program = public.public_table(released, "program").sort("program_id").row(0, named=True)
    page.get_by_role("link", name=program["name"]).first.click()
    page.wait_for_url(f"{live_server.url}/shared/program/{program['program_id']}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(program["name"])
    study_row = page.locator("#studies tbody tr", has_text=ACCESSION)
    expect(study_row).to_have_count(1)

    with page.expect_download() as download:
        page.locator("#downloads").get_by_role(
            "link", name=f"{ACCESSION}-{released.release.label}.zip"
        ).click()
    body = download.value.path().read_bytes()
    assert hashlib.md5(body).hexdigest() == released.download_md5
    assert refused == []
