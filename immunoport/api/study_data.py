"""A released study's rows and files as ImmPort's study endpoints give them.

Each endpoint's rows come from one public table, left-joined to others where ImmPort's
answer joins them (a subject's arm, a sample's subject); columns are renamed only where
ImmPort's field is not the column's camelCase name. Everything is read through the
release layer (``releases.public``), never from a study's live rows.
"""

import hashlib
import io
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, BinaryIO, cast

import polars as pl
from django.core.files.storage import default_storage

from immunoport.api.reference import field_names
from immunoport.api.tables import camel
from immunoport.releases.models import ReleasedStudy
from immunoport.releases.public import public_table, released_studies


@dataclass(frozen=True)
class Source:
    """The rows of a public table, some columns renamed, with tables joined to them."""

    table: str
    rename: tuple[tuple[str, str], ...] = ()
    joins: tuple["Join", ...] = ()


@dataclass(frozen=True)
class Join:
    source: Source
    on: tuple[str, ...]


def _prefixed(prefix: str, *columns: str) -> tuple[tuple[str, str], ...]:
    return tuple((column, prefix + column) for column in columns)


NAMES = ("name_preferred", "name_reported")
SUBJECTS = Source(
    "arm_2_subject",
    joins=(
        Join(Source("subject", (("description", "subject_description"),)), ("subject_accession",)),
        Join(
            Source(
                "arm_or_cohort",
                _prefixed("arm_", "name", "description", "type_reported", "type_preferred"),
            ),
            ("arm_accession",),
        ),
    ),
)
BIOSAMPLES = Source(
    "biosample", (("name", "biosample_name"),), (Join(SUBJECTS, ("subject_accession",)),)
)

# ImmPort's endpoint (the path's word after /api/study/) -> where its rows come from
ENDPOINTS: dict[str, Source] = {
    "": Source("study"),
    "adverseEvent": Source("adverse_event"),
    "arm": Source("arm_or_cohort"),
    "condition": Source("study_2_condition_or_disease"),
    "contract": Source(
        "contract_grant_2_study",
        joins=(
            Join(
                Source(
                    "contract_grant",
                    _prefixed("contract_grant_", "category", "description", "end_date")
                    + _prefixed("contract_grant_", "link", "name", "start_date"),
                    (
                        Join(
                            Source(
                                "program",
                                _prefixed("program_", "category", "description", "end_date")
                                + _prefixed("program_", "link", "name", "short_name", "start_date"),
                            ),
                            ("program_id",),
                        ),
                    ),
                ),
                ("contract_grant_id",),
            ),
        ),
    ),
    "experiment": Source("experiment"),
    "file": Source("study_file"),
    "immuneExposure": Source(
        "immune_exposure", joins=(Join(SUBJECTS, ("subject_accession", "arm_accession")),)
    ),
    "inclusionExclusion": Source("inclusion_exclusion"),
    "intervention": Source("intervention", joins=(Join(SUBJECTS, ("subject_accession",)),)),
    "link": Source("study_link"),
    "personnel": Source("study_personnel"),
    "plannedVisit": Source("planned_visit"),
    "protocol": Source(
        "study_2_protocol", joins=(Join(Source("protocol"), ("protocol_accession",)),)
    ),
    "pubmed": Source("study_pubmed"),
    "assessment": Source(
        "assessment_component",
        _prefixed("assessment_component_", *NAMES),
        (
            Join(
                Source("assessment_panel", _prefixed("assessment_panel_", *NAMES)),
                ("assessment_panel_accession",),
            ),
            Join(SUBJECTS, ("subject_accession",)),
        ),
    ),
    "biosample": BIOSAMPLES,
    "demographic": SUBJECTS,
    "expsample": Source(
        "expsample",
        (("name", "expsample_name"),),
        (
            Join(Source("expsample_2_biosample"), ("expsample_accession",)),
            Join(BIOSAMPLES, ("biosample_accession",)),
            Join(Source("experiment", (("name", "experiment_name"),)), ("experiment_accession",)),
        ),
    ),
    "labtest": Source(
        "lab_test",
        _prefixed("lab_test_", *NAMES),
        (
            Join(
                Source("lab_test_panel", _prefixed("lab_test_panel_", *NAMES)),
                ("lab_test_panel_accession",),
            ),
            Join(BIOSAMPLES, ("biosample_accession",)),
        ),
    ),
}


def reference_path(endpoint: str) -> str:
    return (
        f"/api/study/{endpoint}/{{studyAccession}}" if endpoint else "/api/study/{studyAccession}"
    )


def study_rows(released: ReleasedStudy, endpoint: str) -> pl.DataFrame:
    """The rows of ``/api/study/<endpoint>/<accession>``: ImmPort's fields in its order."""
    frame = _frame(released, ENDPOINTS[endpoint])
    return answer(frame, field_names(reference_path(endpoint)), released.study_accession)


def answer(frame: pl.DataFrame, fields: list[str], accession: str) -> pl.DataFrame:
    """``frame``'s columns named as ``fields`` (a column serves the field that is its
    camelCase name or its own name); a field without a column is null, and every row's
    studyAccession is the study's."""
    columns = {camel(column): column for column in frame.columns}
    columns |= {column: column for column in frame.columns}
    picked = [
        pl.lit(accession).alias(field)
        if field == "studyAccession"
        else pl.col(columns[field]).alias(field)
        if field in columns
        else pl.lit(None).alias(field)
        for field in fields
    ]
    return frame.select(picked) if frame.width else pl.DataFrame(schema=dict.fromkeys(fields))


def _frame(released: ReleasedStudy, source: Source) -> pl.DataFrame:
    frame = public_table(released, source.table)
    frame = frame.drop("study_accession", "id", strict=False).rename(
        dict(source.rename), strict=False
    )
    for join in source.joins:
        frame = _join(frame, _frame(released, join.source), join.on)
    return frame


def _join(left: pl.DataFrame, right: pl.DataFrame, on: tuple[str, ...]) -> pl.DataFrame:
    """``left`` with the columns of ``right`` it lacks; a side without a key column (a
    table the study does not have) gets it as nulls."""
    if not left.width:
        return left
    for key in on:
        dtype = left.schema.get(key) or right.schema.get(key) or pl.String
        left = left if key in left.columns else left.with_columns(pl.lit(None, dtype).alias(key))
        right = (
            right if key in right.columns else right.with_columns(pl.lit(None, dtype).alias(key))
        )
    added = [column for column in right.columns if column not in left.columns]
    right = right.select(pl.col(key).cast(left.schema[key]) for key in on).with_columns(
        right.select(added)
    )
    return left.join(
        right.unique(on, maintain_order=True), on=list(on), how="left", maintain_order="left"
    )


# --- the summary ----------------------------------------------------------------------

SUMMARY_COLUMNS = {
    "title": "brief_title",
    "startDate": "actual_start_date",
    "detailedDescription": "description",
}


def study_summary(released: ReleasedStudy) -> dict[str, Any]:
    """ImmPort's StudySummary: the study row, its PI, focus, grants and programs, and
    its links, publications and personnel as the study's own endpoints give them."""
    study = public_table(released, "study").rename(
        {column: field for field, column in SUMMARY_COLUMNS.items()}, strict=False
    )
    personnel = study_rows(released, "personnel")
    pis = personnel.filter(pl.col("roleInStudy").str.contains("(?i)principal investigator"))
    contracts = study_rows(released, "contract")
    frame = (
        study.with_columns(
            pi=pl.lit(_joined(pis["firstName"] + " " + pis["lastName"])),
            researchFocus=pl.lit(
                _joined(public_table(released, "study_categorization"), "research_focus")
            ),
            subjectsNumber=pl.lit(released.counts.get("subject", 0)),
            downloadPackages=pl.lit(released.download.rsplit("/", 1)[-1] or None),
            contractGrant=pl.lit(_joined(contracts["contractGrantName"])),
            program=pl.lit(_joined(contracts["programName"])),
        )
        if study.height
        else study
    )
    fields = field_names("/api/study/summary/{studyAccession}")
    nested = {"studyLinks": "link", "studyPubmeds": "pubmed", "studyPersonnel": "personnel"}
    rows = answer(frame, [f for f in fields if f not in nested], released.study_accession)
    rows = rows.with_columns(pl.col(pl.Date, pl.Datetime).dt.to_string())
    summary = rows.to_dicts()[0] if rows.height else dict.fromkeys(fields)
    for field, endpoint in nested.items():
        summary[field] = (
            study_rows(released, endpoint).with_columns(pl.col(pl.Date).dt.to_string()).to_dicts()
        )
    return {field: summary[field] for field in fields}


def _joined(values: pl.Series | pl.DataFrame, column: str = "") -> str | None:
    """Distinct non-null values as one text, ``; ``-separated; None if there are none."""
    series = values[column] if isinstance(values, pl.DataFrame) else values
    if isinstance(values, pl.DataFrame) and column not in values.columns:
        return None
    distinct = series.drop_nulls().unique(maintain_order=True).cast(pl.String).to_list()
    return "; ".join(distinct) or None


# --- files ------------------------------------------------------------------------------

# The folders of files/ in a study's download -> ImmPort's file type
DOCUMENT_TYPES = {
    "protocol": "protocol_file",
    "study file": "study_file",
    "result file": "result_file",
    "fcs": "result_file",
}
FILE_TYPES = ("archive_file", "release_file", "study_file", "protocol_file", "result_file")
FILE_NAMESPACE = uuid.UUID("6f1c2a43-5c8e-4f3b-9a57-0c2f4f7d1e11")  # immunoport's files


@dataclass(frozen=True)
class StudyFile:
    """One file of a released study: its download ZIP, or a member of it."""

    released: ReleasedStudy
    path: str  # the ZIP's name, or a member's name inside it (under <SDY>-<release>/)
    file_type: str
    size: int
    md5: str

    @property
    def uuid(self) -> str:
        name = f"{self.released.release.label}/{self.released.study_accession}/{self.path}"
        return str(uuid.uuid5(FILE_NAMESPACE, name))

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def open(self) -> BinaryIO:
        """The file's bytes, seekable; a ZIP member is read from the stored ZIP."""
        stored = default_storage.open(self.released.download, "rb")
        if self.file_type == "archive_file":
            return cast(BinaryIO, stored)
        return cast(BinaryIO, _ZipMember(zipfile.ZipFile(stored), self.path, stored))


class _ZipMember(io.RawIOBase):
    """A ZIP member that closes its archive and stored file when it is closed."""

    def __init__(self, archive: zipfile.ZipFile, member: str, stored: Any) -> None:
        self._archive, self._stored = archive, stored
        self._member = archive.open(member)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._member.read(size)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._member.seek(offset, whence)

    def close(self) -> None:
        self._member.close()
        self._archive.close()
        self._stored.close()
        super().close()


def study_files(released: ReleasedStudy, file_type: str = "all") -> list[StudyFile]:
    """The study's files in the release: its download ZIP, then every member of it, typed
    by where the ZIP holds it (documents under files/<kind>/, the rest release files)."""
    if not released.download:
        return []
    archive = StudyFile(
        released,
        released.download.rsplit("/", 1)[-1],
        "archive_file",
        released.download_size or 0,
        released.download_md5,
    )
    members = [
        StudyFile(released, path, _file_type(path), size, md5)
        for path, size, md5 in _members(released.download, released.download_md5)
    ]
    return [f for f in [archive, *members] if file_type in ("all", f.file_type)]


def _file_type(path: str) -> str:
    parts = path.split("/")
    if len(parts) > 3 and parts[1] == "files":
        return DOCUMENT_TYPES.get(parts[2], "result_file")
    return "release_file"


@lru_cache(maxsize=64)
def _members(download: str, md5: str) -> tuple[tuple[str, int, str], ...]:
    """(member, size, md5) of every file in a stored download, from its manifest.tsv
    and the manifest itself; a download never changes, so its MD5 keys the cache."""
    with default_storage.open(download, "rb") as stored, zipfile.ZipFile(stored) as archive:
        manifest_name = next(n for n in archive.namelist() if n.endswith("/manifest.tsv"))
        folder = manifest_name.removesuffix("manifest.tsv")
        manifest = archive.read(manifest_name)
    listed = pl.read_csv(manifest, separator="\t", schema_overrides={"MD5": pl.String})
    rows = [(folder + path, size, digest) for path, size, digest in listed.iter_rows()]
    manifest_md5 = hashlib.md5(manifest, usedforsecurity=False).hexdigest()
    return (*rows, (manifest_name, len(manifest), manifest_md5))


def files_frame(files: list[StudyFile], fields: list[str]) -> pl.DataFrame:
    """The files as rows of ImmPort's FileDetails (or a part of its fields)."""
    rows = [
        {
            "fileDetailsId": number,
            "reportedMD5": f.md5,
            "generatedMD5": f.md5,
            "filesizeBytes": f.size,
            "fileType": f.file_type,
            "fileName": f.name,
            "path": f.path,
            "dateFileUpdated": f.released.release.created_at,
            "fileUUID": f.uuid,
        }
        for number, f in enumerate(files, start=1)
    ]
    accession = files[0].released.study_accession if files else ""
    return answer(pl.DataFrame(rows), fields, accession)


def released_file(file_uuid: str) -> StudyFile | None:
    """A file of a study in the current release, by its fileUUID."""
    for released in released_studies():
        for found in study_files(released):
            if found.uuid == file_uuid:
                return found
    return None


def byte_range(
    handle: BinaryIO, start: int, length: int, chunk: int = 1024 * 1024
) -> Iterator[bytes]:
    """``length`` bytes of ``handle`` from ``start``, in chunks; closes ``handle``."""
    with handle:
        handle.seek(start)
        while length > 0 and (data := handle.read(min(chunk, length))):
            length -= len(data)
            yield data
