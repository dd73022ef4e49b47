"""Sharing a study and building numbered data releases.

The path to the public: a workspace owner asks to share a study (``request_sharing``);
a curator works through the review checklist (``review``); ``build_release`` puts every
approved study whose date has come into the next release, with the studies of the
previous release. Each study in a release is a snapshot of its public tables (what
``privacy.public_tables`` makes of its rows), written once to storage as Parquet; a
study whose public tables did not change keeps its earlier snapshot and version.

Nothing else decides what is public: ``shared_studies`` and ``releases.public`` read
the current release only.
"""

import datetime
import hashlib
import io
import tempfile
from collections.abc import Callable, Iterable
from typing import BinaryIO, cast

import polars as pl
from django.contrib.auth.models import AbstractBaseUser
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from immunoport.accounts import audit
from immunoport.core.bulk import read_frame
from immunoport.curation.models import TextFlag
from immunoport.releases.downloads import StudyDocument, write_all_studies, write_study_download
from immunoport.releases.models import DataRelease, ReleasedStudy, SharingRequest
from immunoport.releases.privacy import flag_free_text, public_tables, row_keys
from immunoport.releases.snapshot import study_frames, study_querysets
from immunoport.studies.documents import DESIGN, PROTOCOLS, stored_documents
from immunoport.studies.models import FileInfo, Study, StudyDataRelease

# What a curator checks before a study is shared; every item must be ticked to approve.
REVIEW_CHECKLIST = (
    ("design", "The study design is complete: arms, planned visits, criteria, personnel."),
    ("vocabulary", "Reported values have preferred values, or are fine as reported."),
    ("free_text", "Flagged free text was read: each value cleared or left withheld."),
    ("documents", "Protocol documents are present, readable and hold no personal data."),
    ("consent", "The provider confirms that consent and agreements allow public sharing."),
)


class SharingError(Exception):
    """A sharing step that cannot be taken; the message is for the user."""


def shared_studies() -> QuerySet[Study]:
    """Studies in the current data release: the only studies any public surface shows."""
    release = current_release()
    if release is None:
        return Study.objects.none()
    released = release.studies.values("study_accession")
    return Study.objects.filter(pk__in=released)


def current_release() -> DataRelease | None:
    return DataRelease.objects.order_by("-major", "-minor").first()


# --- sharing -------------------------------------------------------------------------


def request_sharing(
    study: Study, user, share_after: datetime.date, message: str = ""
) -> SharingRequest:
    """Ask for ``study`` to be shared from ``share_after`` on; flags its free text."""
    open_request = SharingRequest.objects.filter(
        study=study, status=SharingRequest.Status.REQUESTED
    ).first()
    if open_request is not None:
        raise SharingError(
            f"{study.pk} already waits for review (asked {open_request.requested_at:%Y-%m-%d})."
        )
    request = SharingRequest.objects.create(
        workspace_id=study.workspace_id,
        study=study,
        requested_by=user,
        share_after=share_after,
        message=message,
    )
    flag_study(study, study_frames(study))
    return request


def approve_imported(study: Study) -> SharingRequest:
    """A study imported from ImmPort, where it is public, is approved for the next
    release without review: ImmPort's curators reviewed it."""
    sharing, _ = SharingRequest.objects.get_or_create(
        study=study,
        defaults={
            "workspace_id": study.workspace_id,
            "share_after": timezone.localdate(),
            "status": SharingRequest.Status.APPROVED,
            "checklist": {key: True for key, _ in REVIEW_CHECKLIST},
            "reviewed_at": timezone.now(),
            "review_comment": "Imported from ImmPort, where the study is public.",
        },
    )
    return sharing


def flag_study(study: Study, frames: dict[str, pl.DataFrame]) -> None:
    """Record a flag for every free-text value that may identify someone; flags
    already recorded for the same value are kept as they are (cleared or not).

    Values are picked by a join per flagged column, and the flags written in one bulk
    insert: an FCS-heavy study may have thousands of flagged cells."""
    found = pl.DataFrame(
        flag_free_text(frames),
        schema={"table": pl.String, "key": pl.String, "column": pl.String, "reason": pl.String},
        orient="row",
    )
    flags = []
    for (table, column), group in found.group_by("table", "column"):
        keys = row_keys(str(table), frames[str(table)])
        assert keys is not None  # flag_free_text only flags rows it can name
        values = frames[str(table)].select(keys.alias("key"), pl.col(str(column)).alias("value"))
        for key, reason, value in (
            group.join(values, on="key").select("key", "reason", "value").iter_rows()
        ):
            flags.append(
                TextFlag(
                    workspace_id=study.workspace_id,
                    study_accession=study.pk,
                    table_name=table,
                    record_key=key,
                    column_name=column,
                    reason=reason,
                    value_md5=hashlib.md5(str(value).encode()).hexdigest(),
                )
            )
    TextFlag.objects.bulk_create(flags, ignore_conflicts=True, batch_size=1000)


def review(
    sharing: SharingRequest,
    curator,
    *,
    checked: Iterable[str],
    approve: bool,
    comment: str = "",
    request: HttpRequest | None = None,
) -> SharingRequest:
    """A curator's decision. Approving needs every checklist item ticked."""
    if sharing.status != SharingRequest.Status.REQUESTED:
        raise SharingError("This request has already been decided.")
    checked = set(checked)
    missing = [text for key, text in REVIEW_CHECKLIST if key not in checked]
    if approve and missing:
        raise SharingError("Tick every item of the checklist to approve: " + " ".join(missing))
    if not approve and not comment.strip():
        raise SharingError("Say what the provider must change before the study can be shared.")
    sharing.checklist = {key: key in checked for key, _ in REVIEW_CHECKLIST}
    sharing.status = SharingRequest.Status.APPROVED if approve else SharingRequest.Status.REJECTED
    sharing.reviewed_by = curator
    sharing.reviewed_at = timezone.now()
    sharing.review_comment = comment
    sharing.save()
    if approve:
        audit.record(
            audit.Action.SHARING_APPROVED,
            request=request,
            actor=curator,
            workspace=sharing.workspace,
            target=sharing.study_id,
        )
    return sharing


def clear_flag(flag: TextFlag, curator) -> None:
    flag.cleared_by = curator
    flag.cleared_at = timezone.now()
    flag.save(update_fields=["cleared_by", "cleared_at"])


def flagged_text(study: Study) -> list[tuple[TextFlag, str | None]]:
    """The study's flags, not yet cleared first, each with the value its row holds now
    (None when the row is gone), for a curator to read."""
    flags = list(
        TextFlag.objects.filter(study_accession=study.pk)
        .select_related("cleared_by")
        .order_by(F("cleared_at").asc(nulls_first=True), "table_name", "record_key")
    )
    querysets = study_querysets(study)
    values: dict[tuple[str, str, str], str | None] = {}
    for table in sorted({flag.table_name for flag in flags} & set(querysets)):
        frame = read_frame(querysets[table])
        keys = row_keys(table, frame)
        if keys is None:
            continue
        frame = frame.with_columns(keys.alias("_key"))
        for flag in flags:
            if flag.table_name == table and flag.column_name in frame.columns:
                found = frame.filter(pl.col("_key") == flag.record_key)[flag.column_name]
                values[table, flag.record_key, flag.column_name] = found[0] if len(found) else None
    return [(f, values.get((f.table_name, f.record_key, f.column_name))) for f in flags]


# --- releases ----------------------------------------------------------------------------


@transaction.atomic
def build_release(
    user=None,
    *,
    notes: str = "",
    point: bool = False,
    today: datetime.date | None = None,
    request: HttpRequest | None = None,
) -> DataRelease:
    """The next data release: the previous release's studies (updated where their
    public tables changed) and the approved studies due by ``today``."""
    today = today or timezone.localdate()
    previous = current_release()
    if point and previous is None:
        raise SharingError("A point release needs a release before it.")
    major = previous.major if previous else 0
    number = (major, previous.minor + 1) if point and previous else (major + 1, 0)
    release = DataRelease.objects.create(
        major=number[0], minor=number[1], created_by=user, notes=notes
    )
    carried = list(previous.studies.values_list("study_accession", flat=True)) if previous else []
    due = SharingRequest.objects.filter(
        status=SharingRequest.Status.APPROVED, share_after__lte=today
    ).select_related("study")
    accessions = sorted({*carried, *(sharing.study_id for sharing in due)})
    for study in Study.objects.filter(pk__in=accessions).order_by("pk"):
        released = snapshot_study(release, study)
        if released.change != ReleasedStudy.Change.UNCHANGED:
            audit.record(
                audit.Action.RELEASED,
                request=request,
                actor=user,
                workspace=study.workspace,
                target=study.pk,
                release=release.label,
                version=released.version,
            )
    due.update(status=SharingRequest.Status.RELEASED)
    transaction.on_commit(lambda: _build_downloads(release.pk))
    return release


def _build_downloads(release_id: int) -> None:
    from immunoport.releases.tasks import build_release_downloads

    build_release_downloads.enqueue(release_id)


def snapshot_study(release: DataRelease, study: Study) -> ReleasedStudy:
    """``study`` as ``release`` shows it: its public tables, written once."""
    frames = study_frames(study)
    flag_study(study, frames)
    withheld = [
        (flag.table_name, flag.record_key, flag.column_name)
        for flag in TextFlag.objects.filter(study_accession=study.pk, cleared_at__isnull=True)
    ]
    public = public_tables(frames, withheld=withheld)
    content_hash = _content_hash(public)
    before = (
        ReleasedStudy.objects.filter(study_accession=study.pk)
        .exclude(release=release)
        .order_by("-version", "-release__major", "-release__minor")
        .first()
    )
    if before is not None and before.content_hash == content_hash:
        return ReleasedStudy.objects.create(
            release=release,
            study_accession=study.pk,
            version=before.version,
            change=ReleasedStudy.Change.UNCHANGED,
            title=before.title,
            counts=before.counts,
            content_hash=content_hash,
            snapshot=before.snapshot,
            download=before.download,
            download_md5=before.download_md5,
            download_size=before.download_size,
            doi=before.doi,
        )
    version = before.version + 1 if before else 1
    folder = f"releases/studies/{study.pk}/v{version}-{release.label}"
    for table, frame in public.items():
        buffer = io.BytesIO()
        frame.write_parquet(buffer)
        default_storage.save(f"{folder}/{table}.parquet", ContentFile(buffer.getvalue()))
    return ReleasedStudy.objects.create(
        release=release,
        study_accession=study.pk,
        version=version,
        change=ReleasedStudy.Change.UPDATED if before else ReleasedStudy.Change.ADDED,
        title=_public_title(public.get("study"), study.pk),
        counts={table: frame.height for table, frame in public.items() if frame.height},
        content_hash=content_hash,
        snapshot=folder,
    )


def _public_title(study: pl.DataFrame | None, accession: str) -> str:
    """The study's title as its public row holds it (a withheld title is no title)."""
    row = study.row(0, named=True) if study is not None and study.height else {}
    return (row.get("brief_title") or row.get("official_title") or accession)[:250]


def _content_hash(public: dict[str, pl.DataFrame]) -> str:
    """A digest of the public tables' values, independent of storage formats."""
    digest = hashlib.sha256()
    for table in sorted(public):
        frame = public[table]
        digest.update(table.encode())
        digest.update(frame.write_csv().encode())
    return digest.hexdigest()


def publish_study(
    study: Study,
    version: int,
    *,
    date: datetime.date | None = None,
    status: str = "Initial",
    actor: AbstractBaseUser | None = None,
    request: HttpRequest | None = None,
) -> StudyDataRelease:
    """Record in ImmPort's ``study_data_release`` that ``study`` was part of ImmPort's
    data release ``version``: an import keeps the release history ImmPort gave it.
    Our own releases are ``DataRelease``s; this row is part of the study's data.

    A new release is audited; ``actor`` is None when a command publishes.
    """
    release, created = StudyDataRelease.objects.get_or_create(
        study=study,
        data_release_version=version,
        defaults={"workspace": study.workspace, "data_release_date": date, "status": status},
    )
    if created:
        audit.record(
            audit.Action.RELEASED,
            request=request,
            actor=actor,
            workspace=study.workspace,
            target=study.study_accession,
            version=version,
            status=status,
        )
    return release


# --- downloads -------------------------------------------------------------------------


def build_downloads(release_id: int) -> DataRelease:
    """Build what ``release`` still lacks: the download of each new study version
    (an unchanged study keeps its earlier one), then ALLSTUDIES, then the shared data
    search's index of the release (stored once, with its full text); then fill the
    public pages' caches (:func:`_warm_portal`)."""
    from immunoport.portal.search import stored_index

    release = DataRelease.objects.get(pk=release_id)
    for released in release.studies.filter(download=""):
        _build_study_download(released)
    if not release.all_studies:
        _build_all_studies(release)
    stored_index(release)  # built and stored if missing, else read back
    _warm_portal(release)
    return release


def _warm_portal(release: DataRelease) -> None:
    """What the public pages compute once per release, computed here in the background
    rather than by their first visitors: each study's page summary and, when
    ``release`` is the current one, its programs (both in the shared cache)."""
    from immunoport.portal import programs
    from immunoport.portal.study_page import released_study_page

    for released in release.studies.all():
        released_study_page(released)
    if release == current_release():
        programs.programs()


def _build_study_download(released: ReleasedStudy) -> None:
    from immunoport.releases.public import public_table

    names = [
        name.removesuffix(".parquet")
        for name in default_storage.listdir(released.snapshot)[1]
        if name.endswith(".parquet")
    ]
    tables = {table: public_table(released, table) for table in sorted(names)}
    name = f"{released.snapshot}/{released.study_accession}-{released.release.label}.zip"
    with tempfile.TemporaryFile() as target:
        summary = write_study_download(
            target,
            study_accession=released.study_accession,
            release=released.release.label,
            version=released.version,
            tables=tables,
            documents=_documents(released.study_accession, tables),
            citation=released.citation(),
        )
        target.seek(0)
        stored = default_storage.save(name, File(target, name=name.rsplit("/", 1)[-1]))
    # the study's later releases that kept this version share the download
    ReleasedStudy.objects.filter(snapshot=released.snapshot).update(
        download=stored, download_md5=summary.md5, download_size=summary.size
    )


def _documents(accession: str, tables: dict[str, pl.DataFrame]) -> list[StudyDocument]:
    """The stored files of a released study: its protocols' and study files' documents
    (found by name, as the registration stored them) and the files its public
    file_info rows name. Files recorded without a stored copy (an ImmPort import's
    result files) are left out."""
    study = Study.objects.get(pk=accession)
    wanted: list[tuple[str, str, str]] = []  # (kind, name, storage name)
    for kind, table in (("protocol", "protocol"), ("study file", "study_file")):
        frame = tables.get(table)
        names = (
            frame["file_name"].drop_nulls().to_list()
            if frame is not None and "file_name" in frame.columns
            else []
        )
        for name, stored in stored_documents(study.workspace, names).items():
            wanted.append((kind, name, stored))
    file_info = tables.get("file_info")
    ids = file_info["file_info_id"].to_list() if file_info is not None else []
    stored_files = (
        FileInfo.objects.filter(pk__in=ids)
        .exclude(detail__startswith=DESIGN)
        .exclude(detail__startswith=PROTOCOLS)
    )  # documents above
    for original, name in stored_files.order_by("pk").values_list("original_file_name", "name"):
        original = original.rsplit("/", 1)[-1]
        wanted.append((_document_kind(original), original, name))
    documents, seen = [], set()
    for kind, name, stored in wanted:
        if (kind, name) in seen or not default_storage.exists(stored):
            continue
        seen.add((kind, name))
        md5, size = _md5_of(stored)
        documents.append(StudyDocument(name, kind, size, md5, _opener(stored)))
    return documents


def _opener(stored: str) -> Callable[[], BinaryIO]:
    return lambda: cast(BinaryIO, default_storage.open(stored, "rb"))


def _document_kind(name: str) -> str:
    if name.lower().endswith(".fcs"):
        return "fcs"
    return "result file"


def _md5_of(stored: str) -> tuple[str, int]:
    digest, size = hashlib.md5(), 0
    with default_storage.open(stored, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _build_all_studies(release: DataRelease) -> None:
    rows = [
        {
            "STUDY_ACCESSION": s.study_accession,
            "VERSION": s.version,
            "CHANGE": s.change,
            "BRIEF_TITLE": s.title,
            "SUBJECTS": s.counts.get("subject", 0),
            "BIOSAMPLES": s.counts.get("biosample", 0),
            "EXPSAMPLES": s.counts.get("expsample", 0),
            "RESULTS": sum(n for table, n in s.counts.items() if table.endswith("_result")),
            "DOWNLOAD_MD5": s.download_md5,
        }
        for s in release.studies.order_by("study_accession")
    ]
    frame = pl.DataFrame(
        rows,
        schema={
            "STUDY_ACCESSION": pl.String,
            "VERSION": pl.Int64,
            "CHANGE": pl.String,
            "BRIEF_TITLE": pl.String,
            "SUBJECTS": pl.Int64,
            "BIOSAMPLES": pl.Int64,
            "EXPSAMPLES": pl.Int64,
            "RESULTS": pl.Int64,
            "DOWNLOAD_MD5": pl.String,
        },
    )
    name = f"releases/{release.label}/ALLSTUDIES-{release.label}.zip"
    with tempfile.TemporaryFile() as target:
        summary = write_all_studies(target, release=release.label, studies=frame)
        target.seek(0)
        release.all_studies = default_storage.save(name, File(target, name=name.rsplit("/", 1)[-1]))
    release.all_studies_md5 = summary.md5
    release.save(update_fields=["all_studies", "all_studies_md5"])
