"""Import ImmPort's own study downloads into a workspace.

ImmPort ships every shared study as ``<SDY>-DR<nn>_MySQL.zip`` (one ``~@~``-separated
file per table, no header, ``\\N`` for NULL) and ``<SDY>-DR<nn>_Tab.zip`` (tab-separated,
an UPPER_SNAKE_CASE header row, empty cell for NULL). Both are read here, into polars
frames named and typed like the study models, then loaded in one transaction:

- records whose ImmPort key is already in the database (a reagent, protocol or
  program shipped by several studies' packages) are skipped and counted;
- every enforced reference must resolve in the package or in the database, checked
  before anything is written;
- packages from older data releases (DR16 Tab) are mapped onto the current model
  through the small legacy tables below; what has no place in it is reported.

``lk_*`` lookup files are ignored: lookups come from ``immunoport load-lookups``.
"""

import re
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import polars as pl
from django.db import models, transaction

from immunoport.core.accessions import advance_counter, split_accession
from immunoport.core.archives import ArchiveError, extract
from immunoport.core.bulk import insert_frame, reset_sequences
from immunoport.core.models import AccessionedRecord
from immunoport.releases.services import approve_imported, publish_study
from immunoport.schema.reference import tables as reference_tables
from immunoport.studies.models import Study, StudyDataRelease
from immunoport.studies.registry import models_by_table
from immunoport.workspaces.models import Workspace

PACKAGE_NAME = re.compile(r"^(SDY\d+)-DR(\d+)_(MySQL|Tab)$")

# An unpacked package is read whole; these bound what an archive may unpack to.
MAX_UNPACKED_BYTES = 4 * 1024**3
MAX_ARCHIVE_MEMBERS = 20_000

# Tables renamed since older data releases.
LEGACY_TABLES = {"biosample_2_expsample": "expsample_2_biosample"}

# Columns renamed since older data releases (DR16 Tab headers and DR34 file orders
# compared with the current model); applied to every package.
LEGACY_COLUMNS = {
    "adverse_event": {"event_description": "description"},
    "arm_or_cohort": {"type": "type_reported"},
    "contract_grant": {"name": "external_id", "title": "name", "summary": "description"},
    "elisa_result": {"analyte": "analyte_reported"},
    "elispot_result": {"analyte": "analyte_reported"},
    "experiment": {"title": "name"},
    "fcs_analyzed_result": {
        "base_parent_population": "parent_population_reported",
        "base_parent_pop_preferred": "parent_population_preferred",
        "population_cell_number": "population_statistic_reported",
        "population_cell_number_unit": "population_stat_unit_reported",
        "pop_cell_number_unit_preferred": "population_stat_unit_preferred",
    },
    "fcs_analyzed_result_marker": {"fcs_analyzed_result_id": "result_id"},
    "file_info": {"original_name": "original_file_name"},
    "hai_result": {"virus_strain": "virus_strain_reported"},
    "mbaa_result": {
        "analyte": "analyte_reported",
        "concentration_unit": "concentration_unit_reported",
        "concentration_value": "concentration_value_reported",
    },
    "neut_ab_titer_result": {"virus_strain": "virus_strain_reported"},
    "pcr_result": {"entrez_gene_id": "gene_id", "gene_symbol": "gene_symbol_reported"},
    "period": {"title": "name"},
    "planned_visit": {"visit_name": "name"},
    "program": {"title": "name", "summary": "description"},
    "protocol_deviation": {
        "deviation_description": "description",
        "deviation_study_end_day": "study_end_day",
        "deviation_study_start_day": "study_start_day",
    },
    "standard_curve": {"analyte": "analyte_reported"},
    "subject_measure_definition": {"title": "name"},
}

# Required columns that older packages leave empty, and the column that held the
# same value then (DR16 names a file once; the original name came later).
LEGACY_FALLBACKS = {
    ("file_info", "original_file_name"): "name",
    ("protocol", "original_file_name"): "file_name",
}

# ImmPort's placeholder for a required text value nobody reported.
NOT_SPECIFIED = "Not Specified"

_MAX_PROBLEMS_SHOWN = 20
_MAX_PROBLEMS_PER_CHECK = 5
_IN_CHUNK = 1000
_LINE = "_line"


@dataclass(frozen=True)
class Problem:
    """Something in a package file that stops the import."""

    file: str
    line: int | None
    column: str | None
    value: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f" line {self.line}"
        if self.column is not None:
            where += f", column {self.column}"
        if self.value is not None:
            where += f" = {self.value!r}"
        return f"{where}: {self.message}"


class PackageError(Exception):
    """The package cannot be imported; nothing was written."""

    def __init__(self, message: str, problems: Iterable[Problem] = ()):
        self.problems = list(problems)
        lines = [message, *(f"  {p}" for p in self.problems[:_MAX_PROBLEMS_SHOWN])]
        if len(self.problems) > _MAX_PROBLEMS_SHOWN:
            lines.append(f"  ... and {len(self.problems) - _MAX_PROBLEMS_SHOWN} more")
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class _Format:
    folder: str
    field_separator: str
    row_terminator: str
    null: str
    header: bool
    terminated: bool  # the last row must end with the terminator


MYSQL = _Format("MySQL", "~@~", "~@@~\n", "\\N", header=False, terminated=True)
TAB = _Format("Tab", "\t", "\n", "", header=True, terminated=False)
_FORMATS = {f.folder: f for f in (MYSQL, TAB)}


@dataclass(frozen=True)
class Package:
    """A study download on disk: ``SDY702-DR34_MySQL/MySQL/<table>.txt``."""

    name: str
    release: int
    format: _Format
    folder: Path

    def file_label(self, path: Path) -> str:
        return f"{self.name}/{self.format.folder}/{path.name}"


@dataclass
class TableLoad:
    table: str
    file: str
    rows: int
    inserted: int
    skipped: int


@dataclass
class PackageContents:
    """A package read and typed, not yet loaded."""

    package: Package
    frames: dict[str, pl.DataFrame]
    files: dict[str, str]
    ignored_tables: dict[str, int]
    ignored_columns: dict[str, dict[str, int]]
    warnings: list[str]


@dataclass
class ImportReport:
    package: str
    workspace: str
    shared: bool
    studies: list[str]
    tables: list[TableLoad]
    ignored_tables: dict[str, int]
    ignored_columns: dict[str, dict[str, int]]
    published: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def inserted(self) -> int:
        return sum(t.inserted for t in self.tables)

    @property
    def skipped(self) -> int:
        return sum(t.skipped for t in self.tables)

    def lines(self) -> list[str]:
        """The report as text, for the command line."""
        out = [
            f"{self.package} -> workspace {self.workspace!r}: "
            f"{self.inserted:,} rows inserted, {self.skipped:,} already present"
        ]
        for load in self.tables:
            if load.rows:
                out.append(
                    f"  {load.table:<32} {load.rows:>7,} rows  {load.inserted:>7,} inserted"
                    f"  {load.skipped:>7,} skipped"
                )
        if self.shared:
            for study in self.published:
                out.append(f"  published {study} (no data release in the package)")
        else:
            out.append(
                f"  study_data_release not imported: {', '.join(self.studies)} stays private"
            )
        dropped_tables = [f"{t} {n:,}" for t, n in self.ignored_tables.items() if n]
        empty_tables = [t for t, n in self.ignored_tables.items() if not n]
        if dropped_tables:
            out.append(
                "  tables with no place in the current model (rows not imported): "
                + ", ".join(dropped_tables)
            )
        if empty_tables:
            out.append(
                f"  empty tables with no place in the current model: {', '.join(empty_tables)}"
            )
        dropped_columns = [
            f"{t}.{c} {n:,}"
            for t, columns in self.ignored_columns.items()
            for c, n in columns.items()
            if n
        ]
        if dropped_columns:
            out.append(
                "  columns with no place in the current model (values not imported): "
                + ", ".join(dropped_columns)
            )
        out += [f"  warning: {w}" for w in self.warnings]
        return out


# ---------------------------------------------------------------------------
# The study tables, as the importer sees them


@dataclass(frozen=True)
class Reference:
    """Where a column points: the key column of another study table."""

    table: str
    column: str
    enforced: bool  # a database constraint; ImmPort left a few references unenforced


@dataclass(frozen=True)
class Column:
    """A column of a study table, with what the import checks it against."""

    name: str
    attname: str  # the model's name for it, for queries
    dtype: type[pl.DataType]
    required: bool
    default: Any  # filled in where a required value is missing; None if there is none
    max_length: int | None
    reference: Reference | None


@dataclass(frozen=True)
class StudyTable:
    """A study model seen as ImmPort's table."""

    model: type[models.Model]
    name: str
    columns: dict[str, Column]  # the columns ImmPort files carry, not ours
    key: list[str]  # what ImmPort identifies a row by: accession, id or composite key
    accessioned: bool
    loads_ids: bool  # an integer key taken from the package: its sequence needs moving


_DTYPES: dict[str, type[pl.DataType]] = {
    "CharField": pl.String,
    "TextField": pl.String,
    "IntegerField": pl.Int64,
    "BigIntegerField": pl.Int64,
    "AutoField": pl.Int64,
    "BigAutoField": pl.Int64,
    "FloatField": pl.Float64,
    "DateField": pl.Date,
}


@cache
def study_tables() -> dict[str, StudyTable]:
    """Every study model by its ImmPort table name."""
    return {name: _study_table(model) for name, model in models_by_table().items()}


def _study_table(model: type[models.Model]) -> StudyTable:
    # Read as Any: django-stubs types Field.column as optional and knows neither
    # ForeignKey.db_constraint nor UniqueConstraint.fields on BaseConstraint.
    meta: Any = model._meta
    columns = {}
    for f in meta.concrete_fields:
        if f.column in {"workspace_id", "user_defined_id", "id"}:
            continue  # ours: workspace ownership, provider IDs, surrogate keys
        value = f
        while value.is_relation:
            value = value.target_field
        dtype = _DTYPES[value.get_internal_type()]
        reference = None
        if f.is_relation:
            target = f.related_model._meta.db_table
            reference = Reference(target, f.target_field.column, f.db_constraint)
        columns[f.column] = Column(
            name=f.column,
            attname=f.attname,
            dtype=dtype,
            required=not f.null,
            default=f.get_default() if f.has_default() else None,
            max_length=f.max_length if dtype is pl.String else None,
            reference=reference,
        )
    pk = meta.pk
    if pk.column == "id":
        (constraint,) = [c for c in meta.constraints if c.name.endswith("_immport_key")]
        key = [meta.get_field(name).column for name in constraint.fields]
    else:
        key = [pk.column]
    return StudyTable(
        model=model,
        name=meta.db_table,
        columns=columns,
        key=key,
        accessioned=issubclass(model, AccessionedRecord),
        loads_ids=pk.column != "id" and isinstance(pk, models.AutoField | models.BigAutoField),
    )


@cache
def load_order() -> list[str]:
    """Study tables ordered so that every referenced table comes first."""
    graph = {
        name: {
            column.reference.table
            for column in table.columns.values()
            if column.reference and column.reference.table != name
        }
        for name, table in study_tables().items()
    }
    return list(TopologicalSorter(graph).static_order())


# ---------------------------------------------------------------------------
# Finding the package


@contextmanager
def open_package(
    path: Path,
    *,
    max_bytes: int = MAX_UNPACKED_BYTES,
    max_members: int = MAX_ARCHIVE_MEMBERS,
) -> Iterator[Package]:
    """The package at ``path``: a package folder, any folder holding one, or a .zip."""
    path = Path(path)
    if path.is_dir():
        yield _find_package(path, None)
    elif path.is_file() and path.suffix.lower() == ".zip":
        with tempfile.TemporaryDirectory(prefix="immport-") as unpacked:
            _unpack(path, Path(unpacked), max_bytes=max_bytes, max_members=max_members)
            yield _find_package(Path(unpacked), path.stem)
    elif path.exists():
        raise PackageError(f"{path}: not a package folder or a .zip file")
    else:
        raise PackageError(f"{path}: no such file or folder")


def _unpack(archive: Path, target: Path, *, max_bytes: int, max_members: int) -> None:
    """Extract the .txt files of ``archive``, refusing anything that could escape."""
    try:
        extract(
            archive,
            target,
            keep=lambda name: name.lower().endswith(".txt"),
            max_bytes=max_bytes,
            max_members=max_members,
        )
    except ArchiveError as error:
        raise PackageError(str(error)) from None


def _find_package(root: Path, archive_stem: str | None) -> Package:
    candidates = [
        folder
        for folder in [root, *root.glob("*"), *root.glob("*/*"), *root.glob("*/*/*")]
        if folder.name in _FORMATS and folder.is_dir()
    ]
    if not candidates:
        raise PackageError(
            f"{root if archive_stem is None else archive_stem}: no MySQL/ or Tab/ folder of "
            "table files found; expected an ImmPort download such as SDY702-DR34_MySQL"
        )
    if len(candidates) > 1:
        listed = ", ".join(str(c.relative_to(root)) for c in candidates)
        raise PackageError(f"{root}: holds several packages ({listed}); name each one")
    folder = candidates[0]
    names = [p.name for p in (folder.parent, *folder.parent.parents)]
    for name in [*names, archive_stem or ""]:
        match = PACKAGE_NAME.match(name)
        if match:
            _, release, kind = match.groups()
            if kind != folder.name:
                raise PackageError(f"{folder}: a {folder.name} folder inside {name}")
            return Package(name, int(release), _FORMATS[kind], folder)
    raise PackageError(
        f"{folder}: cannot tell the study and data release; keep the download's folder "
        "(or zip) name, such as SDY702-DR34_MySQL"
    )


# ---------------------------------------------------------------------------
# Reading


def read_package(package: Package) -> PackageContents:
    """Every table file of ``package`` as a typed frame named like the study model.

    Raises PackageError listing every unreadable row and value.
    """
    tables = study_tables()
    frames: dict[str, pl.DataFrame] = {}
    files: dict[str, str] = {}
    ignored_tables: dict[str, int] = {}
    ignored_columns: dict[str, dict[str, int]] = {}
    warnings: list[str] = []
    problems: list[Problem] = []
    for path in sorted(package.folder.glob("*.txt")):
        if path.stem.startswith("lk_"):
            continue
        label = package.file_label(path)
        table = LEGACY_TABLES.get(path.stem, path.stem)
        raw, read_problems = _read_table_file(path, label, package.format, path.stem)
        problems += read_problems
        if raw is None:
            continue
        if table not in tables:
            ignored_tables[path.stem] = raw.height
            continue
        if raw.is_empty():
            continue
        raw = _current_names(raw, table)
        frame, typed_problems, table_warnings = _typed(raw, tables[table], label)
        problems += typed_problems
        key = tables[table].key
        duplicated = frame.filter(pl.struct(key).is_duplicated())
        problems += _problems(label, duplicated, key[0], f"{', '.join(key)} occurs more than once")
        warnings += table_warnings
        dropped = {
            c: raw[c].count()
            for c in raw.columns
            if c not in frame.columns and c not in {"workspace_id", _LINE}
        }
        if dropped:
            ignored_columns[table] = dropped
        frames[table] = frame
        files[table] = label
    if problems:
        raise PackageError(f"{package.name}: cannot read the package", problems)
    _link_grants(frames, files)
    return PackageContents(package, frames, files, ignored_tables, ignored_columns, warnings)


def _link_grants(frames: dict[str, pl.DataFrame], files: dict[str, str]) -> None:
    """Older (DR16) packages ship a study's contract_grant rows without the
    contract_grant_2_study table: a package's grants are its one study's."""
    grants, studies = frames.get("contract_grant"), frames.get("study")
    if grants is None or studies is None or studies.height != 1:
        return
    if "contract_grant_2_study" in frames:
        return
    frames["contract_grant_2_study"] = grants.select(
        pl.col("contract_grant_id"),
        pl.lit(studies["study_accession"][0]).alias("study_accession"),
        *([pl.col(_LINE)] if _LINE in grants.columns else []),
    )
    files["contract_grant_2_study"] = files["contract_grant"]


def _read_table_file(
    path: Path, label: str, fmt: _Format, table: str
) -> tuple[pl.DataFrame | None, list[Problem]]:
    """The file's rows as strings (NULL as null) and the line each starts on."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        return None, [Problem(label, None, None, None, f"not UTF-8 text ({error})")]
    if not text and not fmt.header:  # packages ship every table, most of them empty
        return pl.DataFrame(schema={_LINE: pl.Int64}), []
    if fmt.terminated and not text.endswith(fmt.row_terminator):
        message = f"truncated: the file does not end with {fmt.row_terminator!r}"
        return None, [Problem(label, None, None, None, message)]
    # Number each row by the line it starts on, even if a value spans lines.
    terminator_lines = fmt.row_terminator.count("\n")
    row_lines = pl.col("row").str.count_matches("\n", literal=True) + terminator_lines
    rows = (
        pl.LazyFrame({"row": [text]})
        .select(pl.col("row").str.split(fmt.row_terminator))
        .explode("row")
        .with_columns(row_lines.cum_sum().shift(1, fill_value=0).add(1).alias(_LINE))
        .with_columns(pl.col("row").str.strip_suffix("\r"))
        .filter(pl.col("row") != "")
        .collect()
    )
    if fmt.header:
        if rows.is_empty():
            return None, [Problem(label, None, None, None, "no header row")]
        columns = [c.strip().lower() for c in rows["row"][0].split(fmt.field_separator)]
        rows = rows.slice(1)
    elif (order := _mysql_columns(table)) is not None:
        columns = order
    else:
        return rows.select(_LINE), []  # a table the model does not know: counted only
    fields = rows.select(pl.col("row").str.split(fmt.field_separator), _LINE)
    wrong = fields.filter(pl.col("row").list.len() != len(columns))
    if not wrong.is_empty():
        expected = f"fields where {len(columns)} were expected"
        problems = [
            Problem(label, line, None, None, f"{len(values)} {expected}")
            for values, line in wrong.head(_MAX_PROBLEMS_PER_CHECK).iter_rows()
        ]
        if wrong.height > _MAX_PROBLEMS_PER_CHECK:
            more = f"{wrong.height - _MAX_PROBLEMS_PER_CHECK} more rows with other than {expected}"
            problems.append(Problem(label, None, None, None, more))
        return None, problems
    frame = fields.select(
        *(
            pl.col("row").list.get(i).pipe(_null_as_none, fmt.null).alias(name)
            for i, name in enumerate(columns)
        ),
        _LINE,
    )
    return frame, []


def _current_names(raw: pl.DataFrame, table: str) -> pl.DataFrame:
    """``raw`` with legacy column names renamed, unless the file already uses current ones.

    Renames can chain (DR16 contract_grant: name -> external_id, title -> name), so a
    table's renames apply together, to files that carry none of the new names.
    """
    renames = LEGACY_COLUMNS.get(table, {})
    if set(renames.values()).difference(renames) & set(raw.columns):
        return raw
    return raw.rename({old: new for old, new in renames.items() if old in raw.columns})


def _null_as_none(column: pl.Expr, null: str) -> pl.Expr:
    return pl.when(column == null).then(None).otherwise(column)


def _mysql_columns(table: str) -> list[str] | None:
    """The field order of a DR34 MySQL file; None for tables the model does not know."""
    spec = reference_tables().get(table)
    if spec is None:
        return None
    order: list[str] = spec.get("dr34_mysql_txt_column_order") or [
        c["name"] for c in spec["columns"]
    ]
    return order


_KIND = {pl.Int64: "a whole number", pl.Float64: "a number", pl.Date: "a date (YYYY-MM-DD)"}


def _parse(column: str, dtype: type[pl.DataType]) -> pl.Expr:
    text = pl.col(column).str.strip_chars()
    if dtype is pl.Date:
        return pl.coalesce(
            text.str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False).dt.date(),
            text.str.to_date("%Y-%m-%d", strict=False),
        )
    if dtype is pl.String:
        return pl.col(column)
    return text.cast(dtype, strict=False)


def _typed(
    raw: pl.DataFrame, table: StudyTable, label: str
) -> tuple[pl.DataFrame, list[Problem], list[str]]:
    """``raw`` with the table's columns and types; problems with values; warnings."""
    values: dict[str, pl.Expr] = {}
    checks: dict[str, tuple[pl.Expr, str]] = {}
    for column in table.columns.values():
        if column.name in raw.columns:
            values[column.name] = _parse(column.name, column.dtype)
            if check := _value_check(column):
                checks[column.name] = check
        else:
            values[column.name] = pl.lit(None, column.dtype)
        fallback = LEGACY_FALLBACKS.get((table.name, column.name))
        if fallback in raw.columns:
            values[column.name] = pl.coalesce(values[column.name], pl.col(fallback))
    problems = _failed_checks(raw, checks, label)
    frame = raw.select(*(value.alias(name) for name, value in values.items()), _LINE)

    required = [column for column in table.columns.values() if column.required]
    empty = frame.select(pl.col(column.name).null_count() for column in required).row(0)
    warnings = []
    for column, count in zip(required, empty, strict=True):
        if not count:
            continue
        absent = column.name not in raw.columns
        fill = column.default
        if fill is None and absent and column.dtype is pl.String:
            fill = NOT_SPECIFIED
        if fill is None:
            missing = frame.filter(pl.col(column.name).is_null())
            problems += _problems(label, missing, column.name, "a value is required here")
            continue
        frame = frame.with_columns(pl.col(column.name).fill_null(fill))
        why = "is not in this file" if absent else "is empty"
        warnings.append(f"{label}: required {column.name} {why}; set to {fill!r} on {count:,} rows")
    return frame, problems, warnings


def _value_check(column: Column) -> tuple[pl.Expr, str] | None:
    """Which raw values of ``column`` cannot be stored, and why; None if any text fits."""
    raw = pl.col(column.name)
    if column.dtype is not pl.String:
        unparsed = raw.is_not_null() & _parse(column.name, column.dtype).is_null()
        return unparsed, f"is not {_KIND[column.dtype]}"
    if column.max_length:
        return raw.str.len_chars() > column.max_length, (
            f"longer than {column.max_length} characters"
        )
    return None


def _failed_checks(
    raw: pl.DataFrame, checks: dict[str, tuple[pl.Expr, str]], label: str
) -> list[Problem]:
    """Problems for every check that some row fails; one pass over ``raw`` to find them."""
    if not checks:
        return []
    failed = raw.select(check.any().alias(column) for column, (check, _) in checks.items())
    problems = []
    for column, any_failed in failed.row(0, named=True).items():
        if any_failed:
            check, message = checks[column]
            problems += _problems(label, raw.filter(check), column, message)
    return problems


def _problems(label: str, rows: pl.DataFrame, column: str, message: str) -> list[Problem]:
    shown = rows.head(_MAX_PROBLEMS_PER_CHECK)
    problems = [
        Problem(label, line, column, None if value is None else str(value), message)
        for value, line in shown.select(column, _LINE).iter_rows()
    ]
    if rows.height > shown.height:
        problems.append(
            Problem(label, None, column, None, f"{rows.height - shown.height} more rows: {message}")
        )
    return problems


# ---------------------------------------------------------------------------
# Loading


def import_package(path: Path, workspace: Workspace, *, shared: bool) -> ImportReport:
    """Read the package at ``path`` and load it into ``workspace``: all or nothing.

    With ``shared=False`` the package's data releases are left out, so its studies
    stay private to the workspace; with ``shared=True`` they are kept, and a study
    the package never released is published in the package's data release.
    """
    return import_packages([path], workspace, shared=shared)[0]


def import_packages(
    paths: Iterable[Path], workspace: Workspace, *, shared: bool
) -> list[ImportReport]:
    """Several packages in one transaction: all of them are imported, or none.

    Packages of one ImmPort workspace may need each other: SDY702's
    reagent_set_2_reagent names reagent sets that only SDY1041's and SDY1097's
    reagent files hold, and theirs name SDY702's. References resolve across the
    packages imported together.
    """
    contents = []
    for path in paths:
        with open_package(Path(path)) as package:
            contents.append(read_package(package))
    return load_packages(contents, workspace, shared=shared)


@transaction.atomic
def load_packages(
    packages: list[PackageContents], workspace: Workspace, *, shared: bool
) -> list[ImportReport]:
    """Write packages that were read, in one transaction."""
    frames = [dict(contents.frames) for contents in packages]
    if not shared:
        for package_frames in frames:
            package_frames.pop("study_data_release", None)
    problems: list[Problem] = []
    warnings: list[list[str]] = []
    counters: dict[str, int] = {}
    for contents, package_frames in zip(packages, frames, strict=True):
        package_problems, package_warnings = _check_references(
            package_frames, contents.files, frames
        )
        maxima, accession_problems = _accession_maxima(package_frames, contents.files)
        problems += package_problems + accession_problems
        warnings.append(package_warnings)
        for prefix, number in maxima.items():
            counters[prefix] = max(counters.get(prefix, 0), number)
    if problems:
        names = ", ".join(contents.package.name for contents in packages)
        raise PackageError(f"{names}: nothing was imported", problems)

    reports = [
        _load(contents, package_frames, workspace, shared=shared, warnings=package_warnings)
        for contents, package_frames, package_warnings in zip(
            packages, frames, warnings, strict=True
        )
    ]
    for prefix, number in counters.items():
        advance_counter(prefix, number)
    tables = study_tables()
    loaded = sorted({table for package_frames in frames for table in package_frames})
    reset_sequences([tables[t].model for t in loaded if tables[t].loads_ids])
    for report, contents in zip(reports, packages, strict=True):
        if shared:
            report.published = _publish(report.studies, workspace, contents.package.release)
    return reports


def _load(
    contents: PackageContents,
    frames: dict[str, pl.DataFrame],
    workspace: Workspace,
    *,
    shared: bool,
    warnings: list[str],
) -> ImportReport:
    """Insert one package's rows that are not in the database yet, parents first.

    Rows whose parents come from a package loaded later in the same transaction
    rely on the foreign keys being checked at commit (Django creates them deferred).
    """
    tables = study_tables()
    loads = []
    for name in load_order():
        if name not in frames:
            continue
        table, frame = tables[name], frames[name]
        present = _existing(table, table.key, frame)
        new = frame.join(present, on=table.key, how="anti", nulls_equal=True)
        insert_frame(table.model, new.drop(_LINE).with_columns(workspace_id=pl.lit(workspace.pk)))
        skipped = frame.height - new.height
        loads.append(TableLoad(name, contents.files[name], frame.height, new.height, skipped))
    study_frame = frames.get("study")
    return ImportReport(
        package=contents.package.name,
        workspace=workspace.name,
        shared=shared,
        studies=[] if study_frame is None else study_frame["study_accession"].to_list(),
        tables=loads,
        ignored_tables=contents.ignored_tables,
        ignored_columns=contents.ignored_columns,
        warnings=[*contents.warnings, *warnings],
    )


def _existing(table: StudyTable, columns: list[str], frame: pl.DataFrame) -> pl.DataFrame:
    """The distinct ``columns`` of database rows whose first column occurs in ``frame``."""
    first, attnames = columns[0], [table.columns[c].attname for c in columns]
    values = frame[first].drop_nulls().unique().to_list()
    found: list[tuple] = []
    for start in range(0, len(values), _IN_CHUNK):
        matching = {f"{attnames[0]}__in": values[start : start + _IN_CHUNK]}
        found += table.model._default_manager.filter(**matching).values_list(*attnames)
    schema = {c: frame.schema[c] for c in columns}
    return pl.DataFrame(found, schema=schema, orient="row").unique()


def _check_references(
    frames: dict[str, pl.DataFrame],
    files: dict[str, str],
    together: list[dict[str, pl.DataFrame]],
) -> tuple[list[Problem], list[str]]:
    """Values pointing at records found neither in the packages imported ``together``
    nor in the database.

    Enforced references are problems; the few ImmPort never enforced are warnings.
    """
    tables = study_tables()
    problems: list[Problem] = []
    warnings: list[str] = []
    for name, frame in frames.items():
        for column in tables[name].columns.values():
            reference = column.reference
            if reference is None:
                continue
            target = reference.column
            values = frame.select(pl.col(column.name).alias(target)).drop_nulls().unique()
            for package_frames in together:
                if reference.table in package_frames:
                    known = package_frames[reference.table].select(target)
                    values = values.join(known, on=target, how="anti")
            if values.is_empty():
                continue
            present = _existing(tables[reference.table], [target], values)
            values = values.join(present, on=target, how="anti")
            if values.is_empty():
                continue
            rows = frame.join(values.rename({target: column.name}), on=column.name, how="semi")
            if reference.enforced:
                problems += _problems(
                    files[name],
                    rows,
                    column.name,
                    f"no such {reference.table}, neither in the package nor in the database; "
                    f"import the package that has it in the same command (or before), "
                    f"or add it to {reference.table}.txt",
                )
            else:
                warnings.append(
                    f"{files[name]}: {rows.height:,} rows name a {column.name} that is neither "
                    "in the packages nor in the database (kept: ImmPort does not enforce it)"
                )
    return problems, warnings


def _accession_maxima(
    frames: dict[str, pl.DataFrame], files: dict[str, str]
) -> tuple[dict[str, int], list[Problem]]:
    """The highest number per accession prefix in the package, for the counters."""
    tables = study_tables()
    maxima: dict[str, int] = {}
    problems: list[Problem] = []
    for name, frame in frames.items():
        if not tables[name].accessioned:
            continue
        (column,) = tables[name].key
        accession = pl.col(column)
        # Within one prefix the highest number is the longest, then greatest, string.
        highest = frame.group_by(accession.str.strip_chars_end("0123456789").alias("prefix")).agg(
            accession.sort_by(accession.str.len_chars(), accession).last(),
            pl.col(_LINE).sort_by(accession.str.len_chars(), accession).last(),
        )
        for _, value, line in highest.iter_rows():
            try:
                prefix, number = split_accession(value)
            except ValueError:
                message = "is not an accession (capital letters followed by digits)"
                problems.append(Problem(files[name], line, column, value, message))
                continue
            maxima[prefix] = max(maxima.get(prefix, 0), number)
    return maxima, problems


def _publish(accessions: list[str], workspace: Workspace, release: int) -> list[str]:
    """Approve the package's studies in this workspace for the next data release, and
    record ImmPort's release for those whose package did not ship one."""
    released = StudyDataRelease.objects.filter(study_id__in=accessions).values("study_id")
    studies = Study.objects.filter(pk__in=accessions, workspace=workspace).order_by("pk")
    published = []
    for study in studies.exclude(pk__in=released):
        publish_study(study, version=release, status="Imported")
        published.append(study.pk)
    for study in studies:
        approve_imported(study)
    return published
