"""The wizard's pages over HTTP: forms posted as a browser posts them."""

import io
import re
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from conftest import approved_user
from immunoport.ingest.tests.packages import own_storage_fixture  # noqa: F401 - fixture
from immunoport.studies import wizard
from immunoport.studies.drafts import StudyDraft
from immunoport.studies.models import ArmOrCohort, Study
from immunoport.studies.tests.registrations import STEPS, UPLOADS
from immunoport.workspaces.models import Membership

pytestmark = pytest.mark.usefixtures("own_storage")


@pytest.fixture
def uploader(workspace):
    user = approved_user("uploader")
    Membership.objects.create(workspace=workspace, user=user, role="uploader")
    return user


@pytest.fixture
def draft(client, sign_in, uploader, workspace) -> StudyDraft:
    sign_in(client, uploader)
    response = client.post(reverse("studies:draft-create", args=[workspace.pk]))
    assert response.status_code == 302
    return StudyDraft.objects.get(workspace=workspace)


def form(slug: str, changes: dict[tuple[str, int, str], str] | None = None) -> dict:
    """The POST a browser sends for ``slug`` filled with the study of ``STEPS``."""
    step = wizard.step(slug)
    assert step is not None
    data: dict = {"action": "save"}
    for part in step.parts:
        rows = STEPS[slug].get(part.key, [])
        data[f"{part.key}-rows"] = str(len(rows))
        for n, row in enumerate(rows):
            for j, column in enumerate(part.columns):
                value = (changes or {}).get((part.key, n, column.name), row.get(column.name, ""))
                if column.json_type == "date":
                    value = wizard.to_input_date(value)
                data[f"{part.key}-{n}-{j}"] = value
            if slug in UPLOADS:
                name, content = UPLOADS[slug]
                data[f"{part.key}-{n}-file"] = SimpleUploadedFile(name, content)
    return data


def step_url(draft: StudyDraft, slug: str) -> str:
    return reverse("studies:draft-step", args=[draft.workspace_id, draft.pk, slug])


def test_each_step_saves_and_leads_to_the_next(client, draft):
    response = client.post(step_url(draft, "basic-info"), form("basic-info"))
    assert response["Location"] == step_url(draft, "categorization")
    draft.refresh_from_db()
    assert draft.data["study"][0]["Actual Start Date"] == "15-Sep-2024"  # template format
    assert draft.steps_done == ["basic-info"]


def test_an_over_long_title_is_refused_on_its_step_and_nothing_is_saved(client, draft):
    changes = {("study", 0, "Brief Title"): "x" * 251}
    response = client.post(step_url(draft, "basic-info"), form("basic-info", changes))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Brief Title has 251 characters; it holds at most 250." in page
    assert 'data-limit="250"' in page  # the live counter's limit
    draft.refresh_from_db()
    assert draft.data == {}
    assert draft.steps_done == []


def test_a_missing_required_field_and_a_duplicate_id_are_named(client, draft, workspace):
    Study.objects.create(study_accession="SDY100001", workspace=workspace, user_defined_id="dup")
    changes = {("study", 0, "User Defined ID"): "DUP", ("study", 0, "Official Title"): ""}
    page = client.post(step_url(draft, "basic-info"), form("basic-info", changes)).content
    assert b"Official Title is required." in page
    assert b"is already the ID of SDY100001 in this workspace" in page
    assert StudyDraft.objects.get(pk=draft.pk).data == {}


def test_adding_a_row_keeps_what_was_typed_and_saves_nothing(client, draft):
    data = form("arms") | {"action": "add:arm_or_cohort"}
    page = client.post(step_url(draft, "arms"), data).content.decode()
    assert 'name="arm_or_cohort-rows" value="3"' in page
    assert 'value="Young adults"' in page
    assert StudyDraft.objects.get(pk=draft.pk).data == {}


def test_finish_registers_then_edit_and_export(client, draft, workspace):
    for slug in STEPS:
        response = client.post(step_url(draft, slug), form(slug))
        assert response.status_code == 302, (slug, response.content.decode()[:2000])
    response = client.post(step_url(draft, "finish"), follow=True)
    study = Study.objects.get(workspace=workspace)
    assert f"Study registered with accession {study.pk}." in response.content.decode()

    export = client.get(reverse("studies:study-export", args=[workspace.pk, study.pk]))
    names = zipfile.ZipFile(io.BytesIO(export.content)).namelist()
    assert sorted(names) == sorted(
        ["basic_study_design.txt", "protocols.txt", "protocol.pdf", "consent.txt"]
    )

    response = client.post(reverse("studies:study-edit", args=[workspace.pk, study.pk]))
    edit = StudyDraft.objects.get(edits_study=True)
    assert response["Location"] == step_url(edit, "basic-info")
    page = client.get(step_url(edit, "basic-info")).content.decode()
    study_id = re.search(r'<input id="id_study-0-0"[^>]*>', page)
    assert study_id is not None
    assert 'value="flu_vax_2024"' in study_id[0]
    assert study_id[0].endswith(" readonly>")
    changes = {("arm_or_cohort", 1, "Name"): "Adults over 40"}
    assert client.post(step_url(edit, "arms"), form("arms", changes)).status_code == 302
    client.post(step_url(edit, "finish"))
    assert Study.objects.get().pk == study.pk
    assert ArmOrCohort.objects.get(user_defined_id="arm_older").name == "Adults over 40"


def test_a_warning_does_not_stop_the_step_and_is_shown_on_the_next_page(client, draft):
    changes = {("study", 0, "Description"): "Write to jane.doe@example.org for samples."}
    response = client.post(step_url(draft, "basic-info"), form("basic-info", changes), follow=True)
    assert response.redirect_chain[-1][0] == step_url(draft, "categorization")
    assert "Basic Info:" in response.content.decode()
    assert "e-mail" in response.content.decode().lower()
    assert StudyDraft.objects.get(pk=draft.pk).steps_done == ["basic-info"]
