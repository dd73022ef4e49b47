"""Registering a study through the wizard's services, against the real loader."""

import copy

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile

from immunoport.ingest.tests.packages import own_storage_fixture  # noqa: F401 - fixture
from immunoport.studies import registration, wizard
from immunoport.studies.drafts import DraftFile, StudyDraft
from immunoport.studies.history import RecordHistory
from immunoport.studies.models import (
    Arm2Subject,
    ArmOrCohort,
    PlannedVisit,
    Protocol,
    Study,
    StudyFile,
    Subject,
)
from immunoport.studies.tests.registrations import (
    PROTOCOL_DOCUMENT,
    STEPS,
    STUDY_TABLES,
    fill_draft,
    register,
    study_rows,
)

pytestmark = pytest.mark.usefixtures("own_storage")


def test_a_finished_draft_registers_the_study_with_its_accession(workspace):
    draft = registration.start_draft(workspace, None)
    fill_draft(draft)
    study = registration.finish(draft, None)
    assert study.pk.startswith("SDY")
    assert study.brief_title == STEPS["basic-info"]["study"][0]["Brief Title"]
    assert sorted(ArmOrCohort.objects.filter(study=study).values_list("name", flat=True)) == [
        "Older adults",
        "Young adults",
    ]
    assert PlannedVisit.objects.filter(study=study).count() == 2
    protocol = Protocol.objects.get(workspace=workspace, user_defined_id="prot_main")
    assert protocol.type == "Study Protocol"
    assert StudyFile.objects.get(study=study).file_name == "consent.txt"
    draft.refresh_from_db()
    assert draft.status == "registered"
    assert draft.study_id == study.pk
    assert not draft.files.exists()  # the documents now live with the study


# --- refused steps ------------------------------------------------------------------------


def rows_of(slug: str, part: str, **changes: str) -> dict[str, list[dict[str, str]]]:
    """The step's rows of the study in ``registrations``, the first row changed."""
    rows = copy.deepcopy(STEPS[slug])
    rows[part][0].update(changes)
    return rows


def refused(draft: StudyDraft, slug: str, rows, uploads=None) -> list[wizard.Problem]:
    """Save ``rows`` on step ``slug``; the step must be refused and leave the draft as
    it was. Returns the errors."""
    before = StudyDraft.objects.get(pk=draft.pk)
    step = wizard.step(slug)
    assert step is not None
    problems = registration.save_step(draft, step, rows, uploads)
    errors = [p for p in problems if p.is_error]
    assert errors, f"{slug} was accepted"
    after = StudyDraft.objects.get(pk=draft.pk)
    assert (after.data, after.steps_done) == (before.data, before.steps_done)
    assert not DraftFile.objects.filter(draft=draft).exists()
    return errors


@pytest.fixture
def draft(workspace):
    """A draft with its basic info saved, so a refused step has something to keep."""
    draft = registration.start_draft(workspace, None)
    fill_draft(draft, skip=tuple(slug for slug in STEPS if slug != "basic-info"))
    return draft


def test_an_over_long_brief_title_is_refused_on_its_field(draft):
    (problem,) = refused(
        draft, "basic-info", rows_of("basic-info", "study", **{"Brief Title": "x" * 251})
    )
    assert (problem.part, problem.row, problem.column) == ("study", 0, "Brief Title")
    assert "250" in problem.message


def test_an_over_long_study_id_is_refused(draft):
    errors = refused(
        draft, "basic-info", rows_of("basic-info", "study", **{"User Defined ID": "s" * 151})
    )
    assert [(p.part, p.row, p.column) for p in errors] == [("study", 0, "User Defined ID")]


def test_a_study_id_taken_in_the_workspace_is_refused_but_not_one_of_another_workspace(
    workspace, other_workspace
):
    study = register(workspace)
    taken = rows_of("basic-info", "study", **{"User Defined ID": "FLU_VAX_2024"})

    (problem,) = refused(registration.start_draft(workspace, None), "basic-info", taken)
    assert (problem.part, problem.row, problem.column) == ("study", 0, "User Defined ID")
    assert study.pk in problem.message

    elsewhere = registration.start_draft(other_workspace, None)
    problems = registration.save_step(elsewhere, wizard.step("basic-info"), taken)
    assert not [p for p in problems if p.is_error]


def test_missing_required_information_is_refused(draft):
    (problem,) = refused(
        draft, "basic-info", rows_of("basic-info", "study", **{"Official Title": ""})
    )
    assert (problem.part, problem.row, problem.column) == ("study", 0, "Official Title")

    (problem,) = refused(draft, "arms", {"arm_or_cohort": []})
    assert (problem.part, problem.row, problem.column) == ("arm_or_cohort", None, None)


def test_a_term_outside_the_lookup_is_refused_with_a_suggestion(draft):
    rows = {"study_categorization": [{"Research Focus": "Vaccines"}]}
    (problem,) = refused(draft, "categorization", rows)
    assert (problem.part, problem.row, problem.column) == (
        "study_categorization",
        0,
        "Research Focus",
    )
    assert "did you mean 'Vaccine Response'" in problem.message


def test_an_arm_id_given_twice_is_refused_on_the_second_row(draft):
    rows = copy.deepcopy(STEPS["arms"])
    rows["arm_or_cohort"][1]["User Defined ID"] = "ARM_young"
    (problem,) = refused(draft, "arms", rows)
    assert (problem.part, problem.row, problem.column) == ("arm_or_cohort", 1, "User Defined ID")


def test_a_refused_step_keeps_no_uploaded_document(draft):
    rows = rows_of("protocol", "protocols", Type="Not a protocol type")
    upload = {"protocol.pdf": SimpleUploadedFile("protocol.pdf", PROTOCOL_DOCUMENT)}
    (problem,) = refused(draft, "protocol", rows, upload)
    assert (problem.part, problem.column) == ("protocols", "Type")


def test_an_incomplete_draft_cannot_be_finished_and_writes_nothing(workspace, draft):
    fill_draft(draft, skip=("arms", "visits", "publications"))
    studies = Study.objects.count()

    with pytest.raises(registration.RegistrationError) as raised:
        registration.finish(draft, None)

    missing = {step.slug for step, _ in raised.value.problems}
    assert missing == {"arms", "visits"}  # publications are optional
    assert "Arms/Cohorts/Subject Groups" in str(raised.value)
    assert "Planned Visits/Time Series" in str(raised.value)
    assert Study.objects.count() == studies
    assert all(rows == [] for rows in study_rows(workspace).values())
    draft.refresh_from_db()
    assert draft.status == StudyDraft.Status.DRAFT


# --- editing a registered study ------------------------------------------------------------


@pytest.fixture
def editor(db):
    return User.objects.create_user("editor")


def save(draft: StudyDraft, slug: str, rows) -> None:
    problems = registration.save_step(draft, wizard.step(slug), rows)
    assert not [p for p in problems if p.is_error], problems


def test_editing_updates_the_study_in_place_and_keeps_what_it_replaced(workspace, editor):
    study = register(workspace)
    arms = {a.user_defined_id: a for a in ArmOrCohort.objects.filter(study=study)}
    untouched = [t for t in STUDY_TABLES if t not in {"study", "arm_or_cohort", "planned_visit"}]
    before = study_rows(workspace, untouched)

    draft = registration.start_edit(study, editor)
    assert draft.data["arm_or_cohort"] == STEPS["arms"]["arm_or_cohort"]
    save(
        draft,
        "basic-info",
        rows_of("basic-info", "study", **{"Brief Title": "Influenza vaccine antibodies"}),
    )
    young = dict(STEPS["arms"]["arm_or_cohort"][0], Name="Adults under 41")
    save(draft, "arms", {"arm_or_cohort": [young]})
    visits = copy.deepcopy(STEPS["visits"])
    visits["planned_visit"].append(
        {
            "User Defined ID": "pv_d180",
            "Name": "Day 180",
            "Order Number": "3",
            "Min Start Day": "170",
            "Max Start Day": "190",
        }
    )
    save(draft, "visits", visits)
    assert registration.finish(draft, editor).pk == study.pk

    study.refresh_from_db()
    assert study.brief_title == "Influenza vaccine antibodies"
    assert list(ArmOrCohort.objects.filter(study=study).values_list("pk", "name")) == [
        (arms["arm_young"].pk, "Adults under 41")
    ]
    assert sorted(
        PlannedVisit.objects.filter(study=study).values_list("user_defined_id", flat=True)
    ) == [
        "pv_d0",
        "pv_d180",
        "pv_d28",
    ]
    assert study_rows(workspace, untouched) == before  # nothing else doubled or lost
    history = RecordHistory.objects.filter(workspace=workspace)
    old_study = history.get(table_name="study", accession=study.pk)
    assert (
        old_study.previous_values["brief_title"] == STEPS["basic-info"]["study"][0]["Brief Title"]
    )
    assert old_study.changed_by == editor
    removed = history.get(table_name="arm_or_cohort", accession=arms["arm_older"].pk)
    assert removed.previous_values["removed"] is True
    assert removed.previous_values["name"] == "Older adults"
    assert (
        history.get(table_name="arm_or_cohort", accession=arms["arm_young"].pk).previous_values[
            "name"
        ]
        == "Young adults"
    )


def test_a_registered_study_keeps_its_user_defined_id(workspace, editor):
    draft = registration.start_edit(register(workspace), editor)
    (problem,) = refused(
        draft, "basic-info", rows_of("basic-info", "study", **{"User Defined ID": "flu_vax_2025"})
    )
    assert (problem.part, problem.row, problem.column) == ("study", 0, "User Defined ID")


def test_an_arm_a_subject_is_assigned_to_cannot_be_removed(workspace, editor):
    study = register(workspace)
    older = ArmOrCohort.objects.get(study=study, user_defined_id="arm_older")
    subject = Subject.objects.create(
        workspace=workspace, user_defined_id="subj_1", gender="Female", species="Homo sapiens"
    )
    Arm2Subject.objects.create(
        workspace=workspace,
        arm=older,
        subject=subject,
        age_event="Age at enrollment",
        age_unit="Years",
    )
    before = study_rows(workspace)
    draft = registration.start_edit(study, editor)

    (problem,) = refused(draft, "arms", {"arm_or_cohort": STEPS["arms"]["arm_or_cohort"][:1]})
    assert problem.part == "arm_or_cohort"
    assert older.pk in problem.message

    registration.finish(draft, editor)  # the draft as it stands: nothing changed
    assert study_rows(workspace) == before
    assert Arm2Subject.objects.filter(arm=older, subject=subject).exists()
