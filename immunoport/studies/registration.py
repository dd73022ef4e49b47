"""Registering a study with the wizard: drafts, steps, finishing, editing, exporting.

Finishing a draft writes the ``basic_study_design.txt`` + ``protocols.txt`` it
amounts to, with its documents, into a package and loads that package with the
ingest loader: a study registered here and one uploaded as templates are made by the
same code. Editing a registered study starts a draft from the study's stored rows;
finishing it loads the package again, which updates the records in place and keeps
their earlier values in ``RecordHistory``.

Who may call these is decided before, by ``workspaces.permissions.workspace_for``.
"""

import io
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import cast

from django.core.files import File
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import models, transaction
from django.db.models.functions import Lower
from django.forms.models import model_to_dict
from django.utils import timezone

from immunoport.core.models import AccessionedRecord
from immunoport.ingest.loader import LoadError, load_package
from immunoport.studies import wizard
from immunoport.studies.documents import stored_documents
from immunoport.studies.drafts import DraftFile, StudyDraft
from immunoport.studies.history import RecordHistory
from immunoport.studies.models import Protocol, Study, Study2Protocol
from immunoport.studies.registry import models_by_table
from immunoport.studies.wizard import Part, Problem, Step
from immunoport.validation.checks import PackageIndex
from immunoport.validation.services import existing_records
from immunoport.validation.validator import validate_files
from immunoport.workspaces.models import Workspace

Rows = list[dict[str, str]]
# Sections whose records the wizard may remove when a study is edited.
_REMOVABLE = ("arm_or_cohort", "inclusion_exclusion", "planned_visit", "study_personnel")


class RegistrationError(Exception):
    """The draft cannot be registered as it is; ``problems`` say where, by step."""

    def __init__(self, problems: list[tuple[Step, Problem]]):
        self.problems = problems
        super().__init__("; ".join(p.message for _, p in problems))


def drafts_of(workspace: Workspace) -> models.QuerySet[StudyDraft]:
    return StudyDraft.objects.filter(workspace=workspace).select_related("created_by")


def start_draft(workspace: Workspace, user) -> StudyDraft:
    return StudyDraft.objects.create(workspace=workspace, created_by=user)


def start_edit(study: Study, user) -> StudyDraft:
    """A draft holding ``study`` as stored; an unfinished one is resumed instead."""
    draft = StudyDraft.objects.filter(
        study=study, edits_study=True, status=StudyDraft.Status.DRAFT
    ).first()
    if draft is None:
        draft = StudyDraft.objects.create(
            workspace_id=study.workspace_id,
            created_by=user,
            study=study,
            edits_study=True,
            data=study_data(study),
            steps_done=[s.slug for s in wizard.steps() if s.parts],
        )
    return draft


def next_step(draft: StudyDraft) -> Step:
    """The first step not yet saved (Finish when all are)."""
    return next(
        (s for s in wizard.steps() if s.parts and s.slug not in draft.steps_done),
        wizard.steps()[-1],
    )


# --- saving a step ---------------------------------------------------------------------


def check_step(
    draft: StudyDraft, step: Step, rows: Mapping[str, Rows], uploads: Iterable[str] = ()
) -> list[Problem]:
    """Everything wrong with ``rows`` (part key -> rows) for ``step`` of ``draft``:
    the templates' rules, then what only the workspace can tell (IDs taken)."""
    # no step names records of other templates, so the workspace's records are not
    # read here (``_taken_ids`` asks for the few IDs a step gives; ``finish`` for all)
    index = PackageIndex(
        files={*draft.files.values_list("name", flat=True), *uploads, *_stored_names(draft)},
    )
    problems: list[Problem] = []
    for part in step.parts:
        part_rows = list(rows.get(part.key) or [])
        problems += wizard.check_part(part, part_rows, index)
        problems += _taken_ids(draft, part, part_rows)
        if draft.edits_study and part.key in _REMOVABLE:
            problems += _removal_problems(draft, part, part_rows)
    return problems


@transaction.atomic
def save_step(
    draft: StudyDraft,
    step: Step,
    rows: Mapping[str, Rows],
    uploads: Mapping[str, UploadedFile] | None = None,
) -> list[Problem]:
    """Check ``rows`` and, only when nothing is wrong, store them and the uploaded
    documents in the draft. Returns the problems (warnings too)."""
    uploads = uploads or {}
    problems = check_step(draft, step, rows, uploads)
    if any(p.is_error for p in problems):
        return problems
    for name, upload in uploads.items():
        draft.files.filter(name=name).delete()
        DraftFile.objects.create(draft=draft, name=name, file=upload, size=upload.size or 0)
    for part in step.parts:
        draft.data[part.key] = list(rows.get(part.key) or [])
    if step.slug not in draft.steps_done:
        draft.steps_done = [*draft.steps_done, step.slug]
    draft.save()
    _drop_unnamed_files(draft)
    return problems


def _named_files(data: Mapping[str, Rows]) -> set[str]:
    return {
        row["File Name"]
        for part in ("protocols", "study_file")
        for row in data.get(part) or []
        if row.get("File Name")
    }


def _drop_unnamed_files(draft: StudyDraft) -> None:
    for document in draft.files.exclude(name__in=_named_files(draft.data)):
        document.file.delete(save=False)
        document.delete()


def _taken_ids(draft: StudyDraft, part: Part, rows: Rows) -> list[Problem]:
    """User-defined IDs that already name another study's records in the workspace:
    loading would update those records instead of creating this study's."""
    column = part.id_column
    if column is None or not rows:
        return []
    model = models_by_table()[part.table]
    given = {(row.get(column.name) or "").lower(): n for n, row in enumerate(rows)}
    existing = (
        model._default_manager.filter(workspace=draft.workspace)
        .annotate(udi=Lower("user_defined_id"))
        .filter(udi__in=list(given))
        .values_list("pk", "user_defined_id")
    )
    own = _own_accessions(draft, part)
    problems = []
    for accession, udi in existing:
        if udi and udi.lower() in given and accession not in own:
            n = given[udi.lower()]
            kind = "study" if part.key == "study" else part.title.lower()
            problems.append(
                Problem(
                    part.key,
                    n,
                    column.name,
                    f"'{rows[n][column.name]}' is already the ID of {accession} "
                    f"in this workspace ({kind}).",
                    "Choose an ID that no other record of the workspace uses.",
                )
            )
    study = draft.study if draft.edits_study else None
    if part.key == "study" and study and rows[0].get(column.name) != study.user_defined_id:
        problems.append(
            Problem(
                part.key,
                0,
                column.name,
                "The User Defined ID of a registered study cannot be changed.",
                f"Keep '{study.user_defined_id}'.",
            )
        )
    return problems


def _own_accessions(draft: StudyDraft, part: Part) -> set[str]:
    """Accessions of the records of ``part`` that belong to the study being edited."""
    if not draft.edits_study or draft.study is None:
        return set()
    if part.key == "study":
        return {draft.study.pk}
    if part.key == "protocols":
        return set(
            Study2Protocol.objects.filter(study=draft.study).values_list("protocol_id", flat=True)
        )
    model = models_by_table()[part.table]
    return set(model._default_manager.filter(study=draft.study).values_list("pk", flat=True))


def _removal_problems(draft: StudyDraft, part: Part, rows: Rows) -> list[Problem]:
    """Records of the edited study left out of ``rows`` are removed on finishing,
    which is refused while anything else of the workspace refers to them."""
    problems = []
    for record in _dropped(draft, part, rows):
        others = _references(record)
        if others:
            problems.append(
                Problem(
                    part.key,
                    None,
                    None,
                    f"{record.pk} ('{record.user_defined_id}') cannot be removed: "
                    f"{others} other records refer to it.",
                    "Keep its row, or first remove what refers to it.",
                )
            )
    return problems


def _references(record: models.Model) -> int:
    """How many rows point at ``record``, whatever deleting it would do to them
    (Django's Collector leaves out the rows it would delete without loading them, an
    arm's arm_2_subject rows, and those it would set to null)."""
    return sum(
        relation.related_model._base_manager.filter(**{relation.field.name: record}).count()
        for relation in record._meta.related_objects
        if relation.one_to_many or relation.one_to_one
    )


def _dropped(draft: StudyDraft, part: Part, rows: Rows) -> list[AccessionedRecord]:
    kept = {(row.get("User Defined ID") or "").lower() for row in rows}
    model = cast(type[AccessionedRecord], models_by_table()[part.table])
    # every removable section's table has a study; AccessionedRecord does not say so
    return [
        record
        for record in model._default_manager.filter(**{"study": draft.study})
        if (record.user_defined_id or "").lower() not in kept
    ]


# --- finishing -------------------------------------------------------------------------


def problems_of(draft: StudyDraft) -> list[tuple[Step, Problem]]:
    """Every error of the draft as stored, by step; steps never saved are errors."""
    found = []
    for step in wizard.steps():
        if not step.parts:
            continue
        if step.slug not in draft.steps_done and not step.optional:
            missing = Problem("", None, None, f"The step “{step.title}” is not done yet.", "")
            found.append((step, missing))
            continue
        found += [(step, p) for p in check_step(draft, step, draft.data) if p.is_error]
    return found


def finish(draft: StudyDraft, user) -> Study:
    """Register (or update) the study the draft describes: validate the package it
    amounts to and load it, all or nothing. Raises RegistrationError."""
    problems = problems_of(draft)
    if problems:
        raise RegistrationError(problems)
    with tempfile.TemporaryDirectory(prefix="study-draft-") as folder:
        root = Path(folder)
        texts = _write_package(draft, root)
        report = validate_files(
            "study registration",
            texts,
            [p.name for p in root.iterdir()],
            existing=existing_records(draft.workspace),
        )
        if not report.is_valid:
            errors = report.findings.filter(report.findings["severity"] == "error")
            raise RegistrationError(
                [
                    (wizard.steps()[-1], Problem("", None, f["column"], f["message"], f["fix"]))
                    for f in errors.iter_rows(named=True)
                ]
            )
        try:
            with transaction.atomic():
                load_package(root, draft.workspace, user=user, package_id=f"draft:{draft.pk}")
                study = Study.objects.get(
                    workspace=draft.workspace, user_defined_id=draft.user_defined_id
                )
                if draft.edits_study:
                    _remove_dropped(draft, user)
                draft.study = study
                draft.status = StudyDraft.Status.REGISTERED
                draft.registered_at = timezone.now()
                draft.save()
        except LoadError as error:
            problem = Problem("", error.line, error.column, error.message, "")
            raise RegistrationError([(wizard.steps()[-1], problem)]) from error
    for document in draft.files.all():  # loaded with the study: the draft's copy goes
        document.file.delete(save=False)
        document.delete()
    return study


def _write_package(draft: StudyDraft, root: Path) -> dict[str, bytes]:
    """Write the draft's package into ``root``; returns the two templates' bytes."""
    texts = {name: text.encode() for name, text in wizard.package_files(draft.data).items()}
    for name, text in texts.items():
        (root / name).write_bytes(text)
    documents: list[tuple[str, File]] = [(d.name, d.file.open("rb")) for d in draft.files.all()]
    for name, stored in stored_documents(draft.workspace, _named_files(draft.data)).items():
        if name not in {n for n, _ in documents}:  # an edited study's document as stored
            documents.append((name, default_storage.open(stored, "rb")))
    for name, source in documents:
        with source, (root / name).open("wb") as target:
            shutil.copyfileobj(source, target)  # documents may be large: in chunks
    return texts


def _stored_names(draft: StudyDraft) -> set[str]:
    """Documents an edited study already holds: they need no new upload."""
    if not draft.edits_study:
        return set()
    return set(stored_documents(draft.workspace, _named_files(draft.data)))


def _remove_dropped(draft: StudyDraft, user) -> None:
    """Delete the edited study's records its new rows left out, keeping their values."""
    for key in _REMOVABLE:
        part = wizard.parts()[key]
        for record in _dropped(draft, part, draft.data.get(key) or []):
            RecordHistory.objects.create(
                workspace=draft.workspace,
                table_name=part.table,
                accession=record.pk,
                changed_by=user,
                package_id=f"draft:{draft.pk}",
                previous_values=_json(model_to_dict(record)) | {"removed": True},
            )
            record.delete()


def _json(values: dict) -> dict:
    return {
        k: v if v is None or isinstance(v, int | float | bool) else str(v)
        for k, v in values.items()
    }


# --- reading a registered study back ------------------------------------------------------


def study_data(study: Study) -> dict[str, Rows]:
    """The study as the wizard's rows: what its templates would hold."""
    data: dict[str, Rows] = {}
    for part in wizard.parts().values():
        model = models_by_table()[part.table]
        if part.key == "study":
            records: list[models.Model] = [study]
        elif part.key == "protocols":
            linked = Study2Protocol.objects.filter(study=study).values("protocol")
            records = list(Protocol.objects.filter(pk__in=linked))
        else:
            records = list(model._default_manager.filter(study=study))
        records.sort(key=lambda r: (len(str(r.pk)), str(r.pk)))
        data[part.key] = [_row(part, model, record) for record in records]
    return data


def _row(part: Part, model: type[models.Model], record: models.Model) -> dict[str, str]:
    fields = {f.column: f for f in model._meta.fields}
    row = {}
    for column in part.columns:
        field = fields.get(column.db_column or "")
        value = getattr(record, field.attname) if field is not None else None
        if value is None or value == "":
            continue
        if hasattr(value, "strftime"):
            value = value.strftime(wizard.DATE_FORMAT)
        elif isinstance(value, float) and value.is_integer():
            value = int(value)
        row[column.name] = str(value)
    return row


def export_package(study: Study) -> bytes:
    """A ZIP of the study's ``basic_study_design.txt`` and ``protocols.txt`` with the
    documents they name: a package that uploads as it is."""
    data = study_data(study)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in wizard.package_files(data).items():
            archive.writestr(name, text)
        for name, stored in stored_documents(study.workspace, _named_files(data)).items():
            with default_storage.open(stored, "rb") as source:
                archive.writestr(name, source.read())
    return buffer.getvalue()


def discard(draft: StudyDraft) -> None:
    """Delete a draft and the documents uploaded to it."""
    for document in draft.files.all():
        document.file.delete(save=False)
    draft.delete()
