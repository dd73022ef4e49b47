"""The study registration wizard in a real browser: every step typed in by label, left
half-way and resumed, documents uploaded, the study registered; and a refused step."""

import re

import pytest
from django.core.files.storage import default_storage
from playwright.sync_api import Locator, Page, expect

from conftest import approved_user, enrol_totp, sign_in_with_browser
from immunoport.ingest.tests.packages import own_storage_fixture  # noqa: F401 - fixture
from immunoport.studies.drafts import StudyDraft
from immunoport.studies.models import ArmOrCohort, FileInfo, Protocol, Study
from immunoport.studies.tests.registrations import (
    CONSENT_DOCUMENT,
    PROTOCOL_DOCUMENT,
    STEPS,
    register,
)
from immunoport.workspaces.models import Membership

PASSWORD = "a long pass phrase"
STUDY = STEPS["basic-info"]["study"][0]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("own_storage"),
]


def field(scope: Page | Locator, label: str) -> Locator:
    """The input labelled ``label`` (required fields' labels end in "*")."""
    return scope.get_by_label(re.compile(rf"^{re.escape(label)}( \*)?$"))


def fill(scope: Page | Locator, values: dict[str, str]) -> None:
    for label, value in values.items():
        field(scope, label).fill(value)


def offered(combobox: Locator) -> list[str]:
    """The terms of the input's datalist that contain what has been typed, ignoring case:
    what Chromium's suggestion popup lists."""
    return combobox.evaluate(
        """input => [...input.list.options]
            .map(option => option.value)
            .filter(term => term.toLowerCase().includes(input.value.toLowerCase()))"""
    )


def row(page: Page, part: str, number: int) -> Locator:
    return page.locator(f"#{part}-row-{number}")


def save_and_continue(page: Page, next_title: str) -> None:
    page.get_by_role("button", name="Save and continue").click()
    expect(page.get_by_role("heading", level=2)).to_have_text(next_title)


def watch(page: Page) -> list[str]:
    """Script errors, CSP refusals and failed requests (the favicon aside)."""
    problems: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(f"{m.text} {m.location.get('url')}")
            if m.type == "error" and not m.location.get("url", "").endswith("/favicon.ico")
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "response",
        lambda response: (
            problems.append(f"{response.status} {response.url}")
            if response.status >= 400 and not response.url.endswith("/favicon.ico")
            else None
        ),
    )
    return problems


@pytest.fixture
def uploader(workspace):
    user = approved_user("uploader")
    Membership.objects.create(workspace=workspace, user=user, role=Membership.Role.UPLOADER)
    return user


def test_a_study_is_registered_step_by_step_left_half_way_and_resumed(
    page, live_server, workspace, uploader, tmp_path
):
    page.set_default_timeout(10_000)
    problems = watch(page)
    registrations = f"{live_server.url}/workspaces/{workspace.pk}/studies/"
    page.goto(registrations)
    sign_in_with_browser(page, "uploader", PASSWORD, enrol_totp(uploader))
    page.wait_for_url(registrations)
    expect(page.get_by_role("heading", level=1)).to_have_text("Study registration")
    page.get_by_role("button", name="Register a New Study").click()

    # 1. Basic Info, with the live counter under Brief Title.
    expect(page.get_by_role("heading", level=2)).to_have_text("Basic Info")
    draft = StudyDraft.objects.get()
    title = field(page, "Brief Title")
    counter = title.locator("xpath=following-sibling::span[1]")
    expect(counter).to_have_class("counter")
    expect(counter).to_have_text("0 / 250 characters")
    title.fill(STUDY["Brief Title"])
    expect(counter).to_have_text("47 / 250 characters")
    expect(counter).not_to_have_class(re.compile(r"\bover\b"))
    title.fill("x" * 251)
    expect(counter).to_have_text("251 / 250 characters")
    expect(counter).to_have_class(re.compile(r"\bover\b"))
    expect(title).to_have_attribute("aria-invalid", "true")
    title.fill(STUDY["Brief Title"])
    expect(counter).not_to_have_class(re.compile(r"\bover\b"))
    fill(
        page,
        {
            "User Defined ID": STUDY["User Defined ID"],
            "Official Title": STUDY["Official Title"],
            "Brief Description": STUDY["Brief Description"],
            "Description": STUDY["Description"],
            "Intervention Agent": STUDY["Intervention Agent"],
            "Endpoints": STUDY["Endpoints"],
            "Sponsoring Organization": STUDY["Sponsoring Organization"],
            "Actual Start Date": "2024-09-15",
            "Hypothesis": STUDY["Hypothesis"],
            "Objectives": STUDY["Objectives"],
            "Target Enrollment": STUDY["Target Enrollment"],
            "Minimum Age": STUDY["Minimum Age"],
            "Maximum Age": STUDY["Maximum Age"],
        },
    )
    age_unit = field(page, "Age Unit")
    expect(age_unit).to_have_attribute("list", "lk_time_unit")
    expect(page.locator("datalist#lk_time_unit option[value='Years']")).to_have_count(1)
    # The type-ahead is the input's datalist: Chromium offers the terms that contain
    # what was typed, in a native popup that Playwright cannot click (microsoft/
    # playwright#17324), so the test reads the offer from the datalist and puts the
    # picked term in as the popup would.
    age_unit.press_sequentially("Yea")
    assert offered(age_unit) == ["Years"]
    age_unit.fill("Years")
    expect(age_unit.locator("xpath=following-sibling::span[1]")).to_have_text("5 / 25 characters")
    save_and_continue(page, "Categorization")

    # 2. Categorization, Condition or Disease (two rows), Arms (two rows), criteria.
    fill(page, {"Research Focus": "Vaccine Response"})
    save_and_continue(page, "Condition or Disease")
    fill(row(page, "study_2_condition_or_disease", 1), {"Condition Reported": "influenza"})
    page.get_by_role("button", name="Add a row to conditions or diseases studied").click()
    second = row(page, "study_2_condition_or_disease", 2)
    expect(field(second, "Condition Reported")).to_be_empty()
    expect(field(row(page, "study_2_condition_or_disease", 1), "Condition Reported")).to_have_value(
        "influenza"
    )
    fill(second, {"Condition Reported": "healthy"})
    save_and_continue(page, "Arms/Cohorts/Subject Groups")
    arms = STEPS["arms"]["arm_or_cohort"]
    fill(row(page, "arm_or_cohort", 1), arms[0])
    page.get_by_role("button", name="Add a row to arms or cohorts").click()
    fill(row(page, "arm_or_cohort", 2), arms[1])
    save_and_continue(page, "Inclusion/Exclusion")
    criteria = STEPS["criteria"]["inclusion_exclusion"]
    fill(row(page, "inclusion_exclusion", 1), criteria[0])
    page.get_by_role("button", name="Add a row to inclusion and exclusion criteria").click()
    fill(row(page, "inclusion_exclusion", 2), criteria[1])
    save_and_continue(page, "Personnel")
    fill(row(page, "study_personnel", 1), STEPS["personnel"]["study_personnel"][0])

    # 3. Leave half-way, go elsewhere, come back and resume where it stopped.
    page.get_by_role("button", name="Save and finish later").click()
    page.wait_for_url(registrations)
    expect(page.get_by_text("Draft saved. Resume it from this list.")).to_be_visible()
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Your workspaces").click()
    page.get_by_role("link", name=workspace.name).click()
    page.get_by_role("link", name="Study registration").click()
    page.wait_for_url(registrations)
    listed = page.locator("#drafts tbody tr")
    expect(listed).to_have_count(1)
    expect(listed.locator("td").nth(0)).to_have_text(STUDY["Brief Title"])
    expect(listed.locator("td").nth(2)).to_have_text("6 of 10")
    listed.get_by_role("link", name="Resume").click()
    expect(page.get_by_role("heading", level=2)).to_have_text("Planned Visits/Time Series")
    assert page.url.endswith(f"/drafts/{draft.pk}/visits/")

    # 4. Planned visits, the protocol and its document, publications, study files.
    visits = STEPS["visits"]["planned_visit"]
    fill(row(page, "planned_visit", 1), visits[0])
    page.get_by_role("button", name="Add a row to planned visits").click()
    fill(row(page, "planned_visit", 2), visits[1])
    save_and_continue(page, "Protocol")
    protocol = {k: v for k, v in STEPS["protocol"]["protocols"][0].items() if k != "File Name"}
    fill(row(page, "protocols", 1), protocol)
    document = tmp_path / "flu protocol.pdf"
    document.write_bytes(PROTOCOL_DOCUMENT)
    field(row(page, "protocols", 1), "Document").set_input_files(document)
    save_and_continue(page, "Publications/Study Links")
    fill(row(page, "study_pubmed", 1), STEPS["publications"]["study_pubmed"][0])
    fill(row(page, "study_link", 1), STEPS["publications"]["study_link"][0])
    save_and_continue(page, "Study Files")
    consent = tmp_path / "consent.txt"
    consent.write_bytes(CONSENT_DOCUMENT)
    study_file = {
        k: v for k, v in STEPS["study-files"]["study_file"][0].items() if k != "File Name"
    }
    fill(row(page, "study_file", 1), study_file)
    field(row(page, "study_file", 1), "Document").set_input_files(consent)
    save_and_continue(page, "Finish")

    # 5. The summary, then the study registered with its accession.
    summary = page.locator("section.summary")
    expect(summary.filter(has_text="Basic Info")).to_contain_text(STUDY["Brief Title"])
    expect(summary.filter(has_text="Arms/Cohorts")).to_contain_text("Older adults")
    expect(summary.filter(has_text="Protocol")).to_contain_text("flu protocol.pdf")
    expect(page.locator(".problems")).to_have_count(0)
    page.get_by_role("button", name="Register study").click()
    page.wait_for_url(registrations)
    success = page.get_by_text(re.compile(r"Study registered with accession SDY\d+\."))
    expect(success).to_be_visible()
    accession = re.search(r"SDY\d+", success.inner_text())[0]
    registered = page.locator("#studies tbody tr")
    expect(registered).to_have_count(1)
    expect(registered).to_contain_text(accession)
    expect(registered).to_contain_text(STUDY["User Defined ID"])
    expect(registered).to_contain_text(STUDY["Brief Title"])
    expect(page.get_by_text("No drafts.")).to_be_visible()

    study = Study.objects.get(pk=accession, workspace=workspace)
    assert study.brief_title == STUDY["Brief Title"]
    assert ArmOrCohort.objects.filter(study=study).count() == 2
    assert Protocol.objects.get(workspace=workspace, user_defined_id="prot_main").name == (
        "Study protocol"
    )
    info = FileInfo.objects.get(workspace=workspace, original_file_name="flu protocol.pdf")
    with default_storage.open(info.name, "rb") as stored:
        assert stored.read() == PROTOCOL_DOCUMENT
    assert problems == []


def test_a_refused_basic_info_shows_the_servers_messages_and_saves_nothing(
    page, live_server, workspace, uploader
):
    taken_by = register(workspace)  # flu_vax_2024 is taken in this workspace
    page.set_default_timeout(10_000)
    problems = watch(page)
    registrations = f"{live_server.url}/workspaces/{workspace.pk}/studies/"
    page.goto(registrations)
    sign_in_with_browser(page, "uploader", PASSWORD, enrol_totp(uploader))
    page.wait_for_url(registrations)
    page.get_by_role("button", name="Register a New Study").click()
    expect(page.get_by_role("heading", level=2)).to_have_text("Basic Info")
    draft = StudyDraft.objects.get(status=StudyDraft.Status.DRAFT)

    values = {k: v for k, v in STUDY.items() if k not in {"Sponsoring Organization"}}
    values["Actual Start Date"] = "2024-09-15"
    fill(page, values)
    page.get_by_role("button", name="Save and continue").click()

    taken_message = (
        f"'flu_vax_2024' is already the ID of {taken_by.pk} in this workspace (study). "
        "Choose an ID that no other record of the workspace uses."
    )
    missing_message = "Sponsoring Organization is required. Fill it in."
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("2 problems on this step; nothing was saved.")
    expect(alert.get_by_role("listitem")).to_have_text([missing_message, taken_message])
    expect(page.get_by_role("heading", level=2)).to_have_text("Basic Info")
    assert page.url.endswith(f"/drafts/{draft.pk}/basic-info/")
    # each message beside its field, which says it is invalid and is described by it
    for label, message in [
        ("User Defined ID", taken_message),
        ("Sponsoring Organization", missing_message),
    ]:
        refused = field(page, label)
        expect(refused.locator("xpath=..")).to_have_class(re.compile(r"\bhas-error\b"))
        expect(refused.locator("xpath=..").locator(".problem")).to_have_text(message)
        expect(refused).to_have_attribute("aria-invalid", "true")
        expect(refused).to_have_accessible_description(re.compile(re.escape(message) + "$"))
    expect(field(page, "Brief Title").locator("xpath=..").locator(".problem")).to_have_count(0)
    expect(field(page, "Brief Title")).to_have_attribute("aria-invalid", "false")
    # what was typed is still there, to be corrected
    expect(field(page, "Brief Title")).to_have_value(STUDY["Brief Title"])
    draft.refresh_from_db()
    assert (draft.data, draft.steps_done) == ({}, [])
    assert problems == []
