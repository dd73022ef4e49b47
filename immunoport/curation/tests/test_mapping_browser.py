"""Mapping a reported value in a real browser: a curator opens Curation, then Reported
values, then a lookup, selects a value, picks its top suggestion and maps it."""

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from conftest import approved_user, enrol_totp, sign_in_with_browser
from immunoport.accounts.mfa import mfa_required
from immunoport.curation.models import ValueMapping
from immunoport.schema.services import load_lookups
from immunoport.studies.models import Study, Study2ConditionOrDisease
from immunoport.studies.tests.test_wizard_page import watch

PASSWORD = "a long pass phrase"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_curator_maps_a_reported_value_to_its_top_suggestion(page, live_server, workspace):
    page.set_default_timeout(15_000)
    problems = watch(page)
    load_lookups()
    for accession, value in (("SDY900001", "flu"), ("SDY900002", "flu"), ("SDY900003", "Grippe")):
        study = Study.objects.create(study_accession=accession, workspace=workspace)
        Study2ConditionOrDisease.objects.create(
            workspace=workspace, study=study, condition_reported=value
        )
    curator = approved_user("curator")
    curator.groups.add(Group.objects.get(name="Curators"))
    secret = enrol_totp(curator) if mfa_required(curator) else None

    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Sign in").click()
    sign_in_with_browser(page, "curator", PASSWORD, secret)
    page.get_by_role("link", name="Curation", exact=True).click()
    page.get_by_role("link", name="Reported values", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reported values")
    page.get_by_role("link", name="lk_disease_condition", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Reported values of lk_disease_condition"
    )
    values = page.locator("#values")
    expect(values).to_contain_text("Grippe")

    page.get_by_label("Select flu", exact=True).check()
    row = page.locator("#values tbody tr", has=page.get_by_label("Select flu", exact=True))
    expect(row).to_contain_text("synonym")
    row.get_by_role("radio").first.check()
    expect(row.get_by_role("radio").first).to_have_value("influenza")
    page.get_by_role("button", name="Map selected").click()

    expect(page.get_by_text("1 reported value mapped; 2 rows changed.")).to_be_visible()
    expect(page.get_by_label("Select flu", exact=True)).to_have_count(0)
    expect(values).to_contain_text("Grippe")
    mapping = ValueMapping.objects.get()
    assert (mapping.reported_value, mapping.preferred, mapping.curator) == (
        "flu",
        "influenza",
        curator,
    )
    assert Study2ConditionOrDisease.objects.filter(condition_preferred="influenza").count() == 2
    assert problems == []
