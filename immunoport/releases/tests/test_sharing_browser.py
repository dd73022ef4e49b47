"""From a workspace to the public, in a real browser: the owner asks to share a study,
a curator approves it with the full checklist and builds DR1, and an anonymous visitor
finds the study on the shared-data page."""

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from conftest import approved_user, enrol_totp, sign_in_with_browser
from immunoport.accounts.mfa import mfa_required
from immunoport.ingest.tests.packages import (  # noqa: F401 - fixtures
    immediate_tasks_fixture,
    own_storage_fixture,
)
from immunoport.releases import services
from immunoport.releases.models import SharingRequest
from immunoport.studies.tests.registrations import register
from immunoport.studies.tests.test_wizard_page import watch
from immunoport.workspaces.models import Membership

PASSWORD = "a long pass phrase"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("own_storage", "immediate_tasks"),
]


def test_a_study_goes_from_its_workspace_to_the_public(page, live_server, workspace):
    page.set_default_timeout(15_000)
    problems = watch(page)
    owner = approved_user("owner")
    Membership.objects.create(workspace=workspace, user=owner, role=Membership.Role.OWNER)
    study = register(workspace, owner)
    curator = approved_user("curator")
    curator.groups.add(Group.objects.get(name="Curators"))
    curator_secret = enrol_totp(curator) if mfa_required(curator) else None

    # The owner asks to share the study.
    registrations = f"{live_server.url}/workspaces/{workspace.pk}/studies/"
    page.goto(registrations)
    sign_in_with_browser(page, "owner", PASSWORD, enrol_totp(owner))
    page.wait_for_url(registrations)
    row = page.locator("#studies tbody tr", has_text=study.pk)
    row.get_by_role("link", name="Share").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Share {study.pk}")
    page.get_by_label("Message to the curators").fill("Published last month.")
    page.get_by_role("button", name="Ask to share").click()
    page.wait_for_url(registrations)
    expect(page.get_by_text(f"{study.pk} waits for the curators' review")).to_be_visible()
    page.get_by_role("button", name="Sign out owner").click()
    page.wait_for_url(f"{live_server.url}/")

    # A curator approves it with every item of the checklist ticked, then releases DR1.
    page.get_by_role("link", name="Sign in").click()
    sign_in_with_browser(page, "curator", PASSWORD, curator_secret)
    page.get_by_role("link", name="Curation", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Curation")
    page.get_by_role("link", name="Sharing requests", exact=True).click()
    page.get_by_role("link", name=study.pk).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Review {study.pk}")
    expect(page.get_by_text("Published last month.")).to_be_visible()
    for _, text in services.REVIEW_CHECKLIST:
        page.get_by_label(text).check()
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_text(f"{study.pk} approved for the next data release.")).to_be_visible()
    assert SharingRequest.objects.get().status == SharingRequest.Status.APPROVED
    page.get_by_role("link", name="Releases", exact=True).click()
    expect(page.locator("#approved")).to_contain_text(study.pk)
    page.get_by_label("Release notes").fill("The first release.")
    page.get_by_role("button", name="Build release").click()
    expect(page.get_by_text("DR1 built: 1 added")).to_be_visible()
    expect(page.locator("#releases")).to_contain_text("DR1")
    page.get_by_role("button", name="Sign out curator").click()
    page.wait_for_url(f"{live_server.url}/")

    # Anyone: the shared-data page lists the study of the current release.
    page.goto(f"{live_server.url}/shared/")
    listing = page.locator("main table")
    expect(listing).to_contain_text(study.pk)
    expect(listing).to_contain_text(study.brief_title)
    assert problems == []
