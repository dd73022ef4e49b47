"""Load a validated package of filled ImmPort templates into a workspace: all or nothing.

Nothing here is written per template. The template registry
(``immunoport.schema.templates``) says, for every column, which ImmPort table and
column it fills (``db_table``/``db_column``), which table a column names records of
(``foreign_key_table``), which lookup governs it and which preferred columns it
fills; the generated study models say which columns a table has, which are
required and which point at other tables. From those two the loader derives, for
each template file (or section of a compound template):

- the tables it fills, loaded parents first (the models' reference order);
- the table it *defines* (the template's key: subject for subjectHumans, expsample
  for experimentSamples.*, every section's table in basic_study_design); rows of it
  are created, or updated when their user-defined ID is already in the workspace;
- inline definitions (an experiment described on experimentSamples rows): created
  when their user-defined ID is new, otherwise only referenced;
- every reference of a row: a column naming the record (``Subject ID``), or, where a
  table's reference has no column of its own, the record the same row identifies
  (an elisa_result's expsample, an arm_2_subject's arm and subject) or the study of
  a compound template;
- link tables from list columns (``Reagent ID(s)`` -> expsample_2_reagent), and the
  link tables whose every reference the row names (expsample_2_biosample);
- results' copies of their biosample's columns (subject, study, planned visit, study
  time), and their arm through arm_2_subject;
- lookup values in the lookup's spelling and preferred values (``load_values``);
- files the template names, stored and recorded in file_info, linked through the
  defined table's ``*_2_file_info`` table (``load_files``).

Rows of a table no template column describes (fcs_header from FCS files, programs,
contracts, data releases) are not loaded here. A record described inline on another
template's rows is created, never updated, by those rows.

Rows are frames throughout: user-defined IDs become accessions by joins, rows are
written by ``insert_frame`` (COPY on PostgreSQL). Updated records keep their
accession (the row is rewritten with the template's values over the stored ones);
their earlier values, and the dependent rows the load replaced (an expsample's
results, a subject's arm assignment, a study's conditions), go to ``RecordHistory``.
Rows without a user-defined ID that the workspace already holds unchanged (a
publicRepositories.txt row loaded twice) are not written again.

Everything runs in one transaction that starts by locking the workspace
(``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's IMMEDIATE transactions hold the
database's write lock), so two packages loaded at once into one workspace are
loaded one after the other, and the second sees the first's records. Files stored
by a load that fails are deleted again.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone

from immunoport.core.accessions import issue_accessions
from immunoport.core.bulk import insert_frame, internal_type, polars_type
from immunoport.core.models import AccessionedRecord
from immunoport.ingest.immport_download import LEGACY_FALLBACKS, NOT_SPECIFIED, load_order
from immunoport.ingest.load_files import StoredFiles
from immunoport.ingest.load_values import canonical, fill_preferred, preferred_targets
from immunoport.schema.templates import Column, Template, template_for_file, template_named
from immunoport.studies.history import RecordHistory
from immunoport.studies.registry import models_by_table
from immunoport.validation.parser import LINE, FileProblem, TemplateFile, parse_file
from immunoport.workspaces.models import Workspace

Progress = Callable[[str, int], None]
# A study model, read as Any: django-stubs types Field.column as optional and knows
# neither related_model's _meta nor accession_prefix on AccessionedRecord subclasses.
Model = Any

LIST_SEPARATOR = ";"
_TEMPLATE_SUFFIXES = (".txt", ".xlsx")
_IN_CHUNK = 1000
_KEY = "_key"
_ACCESSION = "_accession"

# What the registry does not describe: values ImmPort's loader sets itself.
_IMPLIED = {"subjectHumans.txt": {("subject", "species"): "Homo sapiens"}}
# A result's copies of its biosample's columns are filled from the biosample.
_NOT_INHERITED = {"name", "description", "type", "subtype", "user_defined_id", "workspace_id"}


# ---------------------------------------------------------------------------------
# What a load returns


@dataclass(frozen=True)
class LoadedRecord:
    table: str
    accession: str
    user_defined_id: str | None
    action: str  # "created" or "updated"


@dataclass
class LoadResult:
    records: list[LoadedRecord] = field(default_factory=list)
    # table -> {"created": n, "updated": n, "replaced": n}; rows of every table written
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)  # storage names of the files stored

    def count(self, table: str, action: str = "created") -> int:
        return self.counts.get(table, {}).get(action, 0)

    def _add(self, table: str, action: str, n: int) -> None:
        if n:
            counts = self.counts.setdefault(table, {})
            counts[action] = counts.get(action, 0) + n


class LoadError(Exception):
    """The package cannot be loaded as it is; nothing was written."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: str | None = None,
    ):
        self.message, self.file, self.line, self.column = message, file, line, column
        where = ", ".join(
            part
            for part in (
                file,
                f"line {line}" if line is not None else None,
                f"column '{column}'" if column else None,
            )
            if part
        )
        super().__init__(f"{where}: {message}" if where else message)


# ---------------------------------------------------------------------------------
# The entry point


def load_package(
    source: Path,
    workspace: Workspace,
    *,
    user=None,
    progress: Progress | None = None,
    package_id: str | None = None,
) -> LoadResult:
    """Load the unpacked package at ``source`` into ``workspace`` in one transaction.

    ``progress(label, rows)`` is called after each table of each file with the rows
    written so far. ``package_id`` is recorded in the history of updated records.
    """
    source = Path(source)
    parsed = _parse(source)
    files = StoredFiles.scan(source, workspace.pk)
    result = LoadResult()
    try:
        with transaction.atomic():
            _lock(workspace)
            state = _State(workspace, files, result, progress)
            for template_file in parsed:
                state.context = {}
                for block in _blocks(template_file):
                    state.load_block(block)
            state.drop_unlinked_files()
            state.write_history(user, package_id)
    except BaseException:
        files.discard()
        raise
    result.files = [name for name, _ in files.stored.values()]
    return result


def _lock(workspace: Workspace) -> None:
    """Serialise loads into one workspace (SQLite's IMMEDIATE transactions already are)."""
    if connection.vendor == "postgresql":
        list(Workspace.objects.select_for_update().filter(pk=workspace.pk).values_list("pk"))


def _parse(source: Path) -> list[TemplateFile]:
    if not source.is_dir():
        raise LoadError(f"{source} is not a folder of template files")
    parsed = []
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        name = path.relative_to(source).as_posix()
        if not name.lower().endswith(_TEMPLATE_SUFFIXES) or not _is_template(path):
            continue
        try:
            parsed.append(parse_file(name, path.read_bytes()))
        except FileProblem as problem:
            raise LoadError(problem.message, file=name, line=problem.line) from None
    return sorted(parsed, key=lambda t: (t.template.loading_order, t.path))


def _is_template(path: Path) -> bool:
    if template_for_file(path.name) is not None or path.suffix.lower() == ".xlsx":
        return True
    with path.open("rb") as handle:
        first = handle.read(512).split(b"\n", 1)[0].split(b"\t", 1)[0].lstrip(b"\xef\xbb\xbf")
    return template_named(first.decode("latin-1")) is not None


# ---------------------------------------------------------------------------------
# Blocks: a tabular file, or one section of a compound template


@dataclass
class _Block:
    path: str
    template: Template
    columns: tuple[Column, ...]
    data: pl.DataFrame
    defines: set[str]  # tables whose records the rows define (create or update)
    section: str | None = None

    def label(self) -> str:
        return f"{self.path}#{self.section}" if self.section else self.path


def _blocks(template_file: TemplateFile) -> Iterator[_Block]:
    template = template_file.template
    if not template.is_compound:
        own = _own_table(template)
        yield _Block(
            template_file.path,
            template,
            template.columns,
            template_file.data,
            {own} if own else set(),
        )
        return
    for section in template.sections:  # in the template's order: study first
        data = template_file.sections.get(section.name)
        if data is None or data.data.is_empty():
            continue
        tables = {t for c in section.columns for t in _tables(c)}
        has_id = any(c.db_column == "user_defined_id" for c in section.columns)
        defines = {t for t in tables if has_id or not _accessioned(t)}
        yield _Block(
            template_file.path, template, section.columns, data.data, defines, section.name
        )


def _own_table(template: Template) -> str | None:
    """The table the template's key names (subjectHumans: subject)."""
    column = (template.raw.get("key") or {}).get("accession_column")
    for table, model in models_by_table().items():
        if column and model._meta.pk.column == column and template.defines(table):
            return table
    return None


def _tables(column: Column) -> list[str]:
    """``"biosample And experiment"`` -> both tables."""
    if column.is_pseudo or not column.db_table:
        return []
    return [t.strip() for t in column.db_table.split(" And ")]


def _implied_links(block: _Block, mapping: dict) -> list[str]:
    """Link tables no column names but every row implies: an experimentSamples row
    names its expsample and its biosample, so it is an expsample_2_biosample row."""
    named = {t for c in block.columns if c.db_column == "user_defined_id" for t in _tables(c)}
    out = []
    models: dict[str, Model] = models_by_table()
    for table, model in models.items():
        if "_2_" not in table or table in mapping or _accessioned(table):
            continue
        targets = [
            f.related_model._meta.db_table
            for f in model._meta.concrete_fields
            if f.is_relation and f.column != "workspace_id"
        ]
        distinct = set(targets)
        if len(distinct) == len(targets) >= 2 and distinct <= named and distinct & block.defines:
            out.append(table)
    return out


def _accessioned(table: str) -> bool:
    model = models_by_table().get(table)
    return model is not None and issubclass(model, AccessionedRecord)


def _mapping(block: _Block) -> dict[str, dict[str, Column]]:
    """Per table, its columns that the block's template columns fill."""
    present = {t for c in block.columns for t in _tables(c)}
    out: dict[str, dict[str, Column]] = {}
    for column in block.columns:
        for table in _tables(column):
            # The registry files 'Biosample Name' (data column biosample_name) under
            # expsample.name; the data column's prefix names the table it belongs to.
            for other in present - {table}:
                if column.data_column == f"{other}_{column.db_column}":
                    table = other
            out.setdefault(table, {}).setdefault(column.db_column or "", column)
    return out


# ---------------------------------------------------------------------------------
# The load


class _State:
    def __init__(
        self, workspace: Workspace, files: StoredFiles, result: LoadResult, progress
    ) -> None:
        self.workspace = workspace
        self.files = files
        self.result = result
        self.progress = progress
        self.rows_written = 0
        self._ids: dict[str, pl.DataFrame] = {}
        self.created: dict[str, set[str]] = {}  # accessions created in this load
        self.updated: dict[str, set[str]] = {}  # accessions updated in this load
        # earlier values as JSON text, built by polars: (table_name, accession, values)
        # of updated records, (table_name, accession, child, rows) of replaced rows
        self.history_values: list[pl.DataFrame] = []
        self.history_replaced: list[pl.DataFrame] = []
        self.unlinked_files: set[int] = set()  # file_info of replaced file links
        self.replaced: set[tuple[str, str]] = set()  # (table, owner table) done
        self.context: dict[str, str] = {}  # e.g. the study of a compound template
        self.file_infos: dict[Path, int] = {}  # file_info of the files stored

    # --- identifiers ---------------------------------------------------------------

    def ids(self, table: str) -> pl.DataFrame:
        """``_KEY`` (lower-cased user-defined ID or accession) -> ``_ACCESSION``."""
        if table not in self._ids:
            model = models_by_table()[table]
            rows = model._default_manager.filter(workspace=self.workspace).values_list(
                "pk", "user_defined_id"
            )
            frame = pl.DataFrame(
                list(rows), schema={_ACCESSION: pl.String, "udi": pl.String}, orient="row"
            )
            self._ids[table] = _id_frame(frame)
        return self._ids[table]

    def add_ids(self, table: str, accessions: pl.Series, udis: pl.Series) -> None:
        frame = pl.DataFrame({_ACCESSION: accessions, "udi": udis.cast(pl.String)})
        self._ids[table] = pl.concat([self.ids(table), _id_frame(frame)]).unique(_KEY, keep="first")

    # --- one block -----------------------------------------------------------------

    def load_block(self, block: _Block) -> None:
        mapping = _mapping(block)
        models = models_by_table()
        for table in _implied_links(block, mapping):
            mapping[table] = {}
        for table in load_order():
            if table not in mapping or table not in models:
                continue
            self.load_table(block, table, mapping[table])
        self.store_files(block)
        if block.section and block.data.height == 1:
            # a compound template's single record (its study) is what other sections
            # belong to
            for column in block.columns:
                if column.db_column == "user_defined_id" and column.key in block.data.columns:
                    (table,) = _tables(column)
                    udi = block.data[column.key][0]
                    if udi is not None:
                        found = self.ids(table).filter(pl.col(_KEY) == udi.lower())
                        if found.height:
                            self.context[table] = found[_ACCESSION][0]

    def load_table(self, block: _Block, table: str, mapped: dict[str, Column]) -> None:
        model = models_by_table()[table]
        fields = {f.column: f for f in model._meta.concrete_fields}
        pk = model._meta.pk.column
        mapped = {c: column for c, column in mapped.items() if c in fields and c != pk}
        accessioned = issubclass(model, AccessionedRecord)
        defines = table in block.defines
        has_id = "user_defined_id" in mapped
        if accessioned and has_id and not defines and len(mapped) == 1:
            return  # the block only names such records
        frame = self.frame(block, table, model, mapped)
        if frame is None or frame.is_empty():
            return
        if accessioned and has_id:
            if not defines:  # inline definitions: only IDs that are new
                frame = (
                    frame.with_columns(pl.col("user_defined_id").str.to_lowercase().alias(_KEY))
                    .join(self.ids(table).select(_KEY), on=_KEY, how="anti")
                    .drop(_KEY)
                )
            self.define(block, table, model, mapped, frame)
        else:
            self.add_rows(block, table, model, frame, accessioned)
        self.rows_written = sum(
            n for c in self.result.counts.values() for a, n in c.items() if a != "replaced"
        )
        if self.progress:
            self.progress(f"{block.label()}: {table}", self.rows_written)

    def frame(
        self,
        block: _Block,
        table: str,
        model: Model,
        mapped: dict[str, Column],
    ) -> pl.DataFrame | None:
        """The block's rows as rows of ``table``: typed, references resolved."""
        fields = {f.column: f for f in model._meta.concrete_fields}
        values: dict[str, pl.Expr] = {c: pl.col(column.key) for c, column in mapped.items()}
        sources: dict[str, str] = {c: column.name for c, column in mapped.items()}
        for f in fields.values():
            # a primary key that is a reference (expsample_mbaa_detail's expsample) too
            if not f.is_relation or f.column in values or f.column == "workspace_id":
                continue
            target = f.related_model._meta.db_table
            identity = self.identity(block, target, table)
            if identity is not None:
                values[f.column], sources[f.column] = identity
        if "file_info_id" in values and "file_info_id" not in mapped and "result_schema" in fields:
            values.setdefault("result_schema", pl.lit("OTHER"))  # as store_files links
        data = block.data
        frame = data.select(LINE, *(e.alias(c) for c, e in values.items()))
        for c, column in mapped.items():
            if column.is_list:
                frame = (
                    frame.with_columns(pl.col(c).str.split(LIST_SEPARATOR))
                    .explode(c)
                    .with_columns(pl.col(c).str.strip_chars())
                    .with_columns(pl.when(pl.col(c) != "").then(pl.col(c)).alias(c))
                )
        # which rows hold a record of this table
        required_refs = [
            f.column
            for f in fields.values()
            if f.is_relation and not f.null and f.column in values and f.column != "workspace_id"
        ]
        keep = pl.lit(True)
        results = [
            c
            for c, column in mapped.items()
            if column.part == "result" and not fields[c].is_relation
        ]
        if results:
            keep = keep & pl.any_horizontal(pl.col(c).is_not_null() for c in results)
        if "user_defined_id" in mapped:
            keep = keep & pl.col("user_defined_id").is_not_null()
            others = [c for c in mapped if c != "user_defined_id"]
            if table not in block.defines and others:  # inline: some value beside the ID
                keep = keep & pl.any_horizontal(pl.col(c).is_not_null() for c in others)
        frame = frame.filter(keep)
        if frame.is_empty():
            return None
        # references: user-defined IDs or accessions -> accessions
        for c in values:
            f = fields[c]
            if not f.is_relation or not _accessioned(f.related_model._meta.db_table):
                continue
            frame = self.resolve(block, frame, c, f.related_model._meta.db_table, sources[c])
        frame = self.inherit(table, fields, frame)
        # a required reference may be one the row only inherits (an hai_result's
        # subject and arm come from its biosample): rows lacking one are dropped after
        frame = frame.filter(*(pl.col(c).is_not_null() for c in required_refs))
        if frame.is_empty():
            return None
        for (implied_table, column_name), value in _IMPLIED.get(
            block.template.file_name, {}
        ).items():
            if implied_table == table and column_name not in frame.columns:
                frame = frame.with_columns(pl.lit(value).alias(column_name))
        for (fallback_table, name), fallback in LEGACY_FALLBACKS.items():
            if fallback_table == table and name not in frame.columns and fallback in frame.columns:
                frame = frame.with_columns(pl.col(fallback).alias(name))
        # lookups: terms in ImmPort's spelling, preferred values beside reported ones
        for c, column in mapped.items():
            if column.controlled_vocabulary and not fields[c].is_relation:
                frame = canonical(frame, c, column.controlled_vocabulary)
            targets = preferred_targets(column, set(fields))
            if targets:
                frame = fill_preferred(frame, c, column, targets)
        return self.typed(block, table, fields, frame, sources)

    def identity(self, block: _Block, target: str, table: str) -> tuple[pl.Expr, str] | None:
        """What identifies, on the block's rows, the ``target`` record they belong to."""
        if target == table:
            return None
        for column in block.columns:
            if column.db_column == "user_defined_id" and target in _tables(column):
                return pl.col(column.key), column.name
        for column in block.columns:
            if column.foreign_key_table == target and not column.is_list:
                return pl.col(column.key), column.name
        if target in self.context and block.section:
            return pl.lit(self.context[target]), target
        if target == "file_info":
            named = [
                c for c in block.columns if c.names_package_file and c.key in block.data.columns
            ]
            if not named:
                # A result template (HAI_Results.txt) fills expsample_2_file_info though
                # no column names a file: its rows link to the template file itself.
                return pl.lit(self.file_info(block, block.path, "template file")), target
            if len(named) == 1 and not named[0].is_list:  # FCM_Derived_data's Workspace File
                column = named[0]
                names = block.data[column.key].drop_nulls().unique().to_list()
                ids = {n: self.file_info(block, n, column.name) for n in names}
                expr = pl.col(column.key).replace_strict(ids, default=None, return_dtype=pl.Int64)
                return expr, column.name
        return None

    def resolve(
        self, block: _Block, frame: pl.DataFrame, column: str, target: str, source: str
    ) -> pl.DataFrame:
        ids = self.ids(target).rename({_ACCESSION: "_resolved"})
        joined = (
            frame.with_columns(pl.col(column).str.to_lowercase().alias(_KEY))
            .join(ids, on=_KEY, how="left")
            .drop(_KEY)
        )
        missing = joined.filter(pl.col(column).is_not_null() & pl.col("_resolved").is_null())
        if missing.height:
            line, value = missing.select(LINE, column).row(0)
            raise LoadError(
                f"'{value}' names no {target.replace('_', ' ')} in this package or the "
                "workspace (another load may have removed or not yet created it)",
                file=block.path,
                line=line,
                column=source,
            )
        return joined.with_columns(pl.col("_resolved").alias(column)).drop("_resolved")

    def inherit(self, table: str, fields: dict, frame: pl.DataFrame) -> pl.DataFrame:
        """A result's copies of its biosample's columns, and its arm (by subject)."""
        frame = self.through_links(fields, frame)
        biosample = fields.get("biosample_accession")
        if biosample is not None and table != "biosample" and biosample.is_relation:
            parent = models_by_table()["biosample"]
            parent_columns = {f.column for f in parent._meta.concrete_fields}
            shared = sorted(
                c
                for c in fields
                if c in parent_columns
                and c not in _NOT_INHERITED
                and c != "biosample_accession"
                and c != fields[c].model._meta.pk.column
            )
            if shared:
                rows = _fetch(
                    parent,
                    self.workspace,
                    "biosample_accession",
                    frame["biosample_accession"].drop_nulls().unique().to_list(),
                    ["biosample_accession", *shared],
                )
                rows = rows.rename({c: f"_parent_{c}" for c in shared})
                frame = frame.join(rows, on="biosample_accession", how="left")
                frame = frame.with_columns(
                    (
                        pl.coalesce(c, f"_parent_{c}")
                        if c in frame.columns
                        else pl.col(f"_parent_{c}")
                    ).alias(c)
                    for c in shared
                ).drop(f"_parent_{c}" for c in shared)
        arm = fields.get("arm_accession")
        if (
            arm is not None
            and arm.is_relation
            and "subject_accession" in frame.columns
            and table not in {"arm_2_subject", "arm_or_cohort"}
            and ("arm_accession" not in frame.columns or frame["arm_accession"].has_nulls())
        ):
            links = models_by_table()["arm_2_subject"]
            rows = _fetch(
                links,
                self.workspace,
                "subject_accession",
                frame["subject_accession"].drop_nulls().unique().to_list(),
                ["subject_accession", "arm_accession"],
            ).unique("subject_accession", keep="first")
            rows = rows.rename({"arm_accession": "_parent_arm"})
            frame = frame.join(rows, on="subject_accession", how="left")
            frame = frame.with_columns(
                (
                    pl.coalesce("arm_accession", "_parent_arm")
                    if "arm_accession" in frame.columns
                    else pl.col("_parent_arm")
                ).alias("arm_accession")
            ).drop("_parent_arm")
        return frame

    def through_links(self, fields: dict, frame: pl.DataFrame) -> pl.DataFrame:
        """References the rows do not name, found from a record they do name: a result
        in HAI_Results.txt names its expsample; the expsample names its experiment, and
        its expsample_2_biosample row its biosample."""
        models: dict[str, Model] = models_by_table()
        named = {
            c: f.related_model._meta.db_table
            for c, f in fields.items()
            if f.is_relation and c in frame.columns and c != "workspace_id"
        }
        for c, f in fields.items():
            if not f.is_relation or c in frame.columns or c == "workspace_id":
                continue
            target = f.related_model._meta.db_table
            for by, source in named.items():
                values = frame[by].drop_nulls().unique().to_list()
                record = models.get(source)
                own = {g.column: g for g in record._meta.concrete_fields} if record else {}
                if record is not None and c in own and own[c].is_relation:  # its experiment
                    pk = record._meta.pk.column
                    rows = _fetch(record, self.workspace, pk, values, [pk, c]).rename({pk: by})
                else:
                    link = models.get(f"{source}_2_{target}")
                    columns = {g.column for g in link._meta.concrete_fields} if link else set()
                    if link is None or not {by, c} <= columns:
                        continue
                    rows = _fetch(link, self.workspace, by, values, [by, c])
                frame = frame.join(rows.unique(by, keep="first"), on=by, how="left")
                break
        return frame

    def typed(
        self, block: _Block, table: str, fields: dict, frame: pl.DataFrame, sources: dict
    ) -> pl.DataFrame:
        """Columns cast to the model's types; defaults where a required value is empty."""
        out = [pl.col(LINE)]
        for c in frame.columns:
            if c == LINE or c not in fields:
                continue
            out.append(_cast(c, internal_type(fields[c])).alias(c))
        frame = frame.select(out)
        for c, f in fields.items():
            if f.null or c in {"workspace_id", f.model._meta.pk.column}:
                continue
            empty = frame[c].is_null() if c in frame.columns else None
            if empty is not None and not empty.any():
                continue
            if f.has_default() or polars_type(internal_type(f)) == pl.String:
                # ImmPort's placeholder for a required text nobody reported
                default = f.get_default() if f.has_default() else NOT_SPECIFIED
                fill = pl.lit(default) if c not in frame.columns else pl.col(c).fill_null(default)
                frame = frame.with_columns(fill.alias(c))
                continue
            if c not in frame.columns:
                raise LoadError(
                    f"{table}.{c} is required and the template gives no value for it",
                    file=block.path,
                )
            line = frame.filter(pl.col(c).is_null())[LINE][0]
            raise LoadError(
                f"a value is required here ({table}.{c})",
                file=block.path,
                line=line,
                column=sources.get(c, c),
            )
        return frame

    # --- writing -------------------------------------------------------------------

    def define(
        self,
        block: _Block,
        table: str,
        model: Model,
        mapped: dict[str, Column],
        frame: pl.DataFrame,
    ) -> None:
        """Create new records, update those whose user-defined ID the workspace holds."""
        values = [c for c in frame.columns if c not in {LINE, "user_defined_id"}]
        frame = (
            frame.with_columns(pl.col("user_defined_id").str.to_lowercase().alias(_KEY))
            .group_by(_KEY, maintain_order=True)
            .agg(
                pl.col(LINE).first(),
                pl.col("user_defined_id").first(),
                *(pl.col(c).drop_nulls().first() for c in values),
            )
        )
        known = self.ids(table)
        frame = frame.join(known, on=_KEY, how="left")
        created_here = self.created.get(table, set())
        again = frame.filter(pl.col(_ACCESSION).is_in(list(created_here)))
        if again.height:
            line, udi = again.select(LINE, "user_defined_id").row(0)
            raise LoadError(
                f"'{udi}' is defined a second time in this package",
                file=block.path,
                line=line,
                column=mapped["user_defined_id"].name,
            )
        new = frame.filter(pl.col(_ACCESSION).is_null())
        old = frame.filter(pl.col(_ACCESSION).is_not_null())
        pk = model._meta.pk.column
        if new.height:
            accessions = pl.Series(
                pk, issue_accessions(model.accession_prefix, new.height), pl.String
            )
            rows = new.select("user_defined_id", *values).with_columns(
                accessions, workspace_id=pl.lit(self.workspace.pk)
            )
            insert_frame(model, rows)
            self.add_ids(table, accessions, new["user_defined_id"])
            self.created.setdefault(table, set()).update(accessions.to_list())
            self._record(table, accessions.to_list(), new["user_defined_id"].to_list(), "created")
        if old.height:
            self.update(table, model, old.drop(_KEY, LINE).rename({_ACCESSION: pk}), values)

    def update(self, table: str, model: Model, frame: pl.DataFrame, values: list[str]) -> None:
        """Rewrite records in place: the stored row with the template's values over it.

        The old rows are deleted and the merged rows inserted with the same accessions
        in this transaction (references to them are checked at commit), which keeps
        an update of 100,000 records as vectorised as their creation.
        """
        pk = model._meta.pk.column
        accessions = frame[pk].to_list()
        columns = [f.column for f in model._meta.concrete_fields if f.column != "workspace_id"]
        old = _fetch(model, self.workspace, pk, accessions, columns)
        self.history_values.append(
            old.select(
                pl.lit(table).alias("table_name"),
                pl.col(pk).alias("accession"),
                _json_object(old, columns).alias("values"),
            )
        )
        changed = ["user_defined_id", *values]
        new = frame.select(pk, *(pl.col(c).cast(old.schema[c]) for c in changed))
        merged = old.drop(changed).join(new, on=pk, how="inner").select(columns)
        for start in range(0, len(accessions), _IN_CHUNK):
            chunk = accessions[start : start + _IN_CHUNK]
            rows = model._base_manager.filter(workspace=self.workspace, pk__in=chunk)
            rows._raw_delete(rows.db)
        insert_frame(model, merged.with_columns(workspace_id=pl.lit(self.workspace.pk)))
        self.updated.setdefault(table, set()).update(accessions)
        self._record(table, accessions, frame["user_defined_id"].to_list(), "updated")

    def add_rows(
        self,
        block: _Block,
        table: str,
        model: Model,
        frame: pl.DataFrame,
        accessioned: bool,
    ) -> None:
        """Rows without a user-defined ID: links, results, study satellites."""
        fields = {f.column: f for f in model._meta.concrete_fields}
        # the records these rows depend on: those the block defines, and in a section
        # of a compound template its study
        defined = block.defines | (set(self.context) if block.section else set())
        owners = {
            c: f.related_model._meta.db_table
            for c, f in fields.items()
            if f.is_relation
            and c in frame.columns
            and f.related_model._meta.db_table in defined
            and f.related_model._meta.db_table != table
        }
        replacing = False
        for c, owner in owners.items():
            updated = self.updated.get(owner)
            if updated and (table, owner) not in self.replaced:
                self.replace(table, model, c, owner, updated)
                self.replaced.add((table, owner))
            replacing = replacing or bool(updated) or bool(self.created.get(owner))
        frame = frame.drop(LINE).unique(maintain_order=True)
        key = _unique_key(model)
        if key and all(k in frame.columns for k in key):
            frame = frame.unique(key, keep="first", maintain_order=True)
        if not replacing and not accessioned:
            frame = self.not_yet_stored(model, frame, key)
        if frame.is_empty():
            return
        if "file_info_id" in frame.columns and not replacing:
            self.relink(table, model, frame)
        pk = model._meta.pk.column
        if accessioned:
            accessions = issue_accessions(model.accession_prefix, frame.height)
            frame = frame.with_columns(pl.Series(pk, accessions, pl.String))
            self.created.setdefault(table, set()).update(accessions)
            self._record(table, accessions, [None] * len(accessions), "created")
        else:
            self.result._add(table, "created", frame.height)
        insert_frame(model, frame.with_columns(workspace_id=pl.lit(self.workspace.pk)))

    def not_yet_stored(
        self, model: Model, frame: pl.DataFrame, key: list[str] | None
    ) -> pl.DataFrame:
        """Rows the workspace does not hold yet (on the table's key, else on every column)."""
        columns = key if key and all(k in frame.columns for k in key) else frame.columns
        first = columns[0]
        stored = _fetch(
            model, self.workspace, first, frame[first].drop_nulls().unique().to_list(), columns
        )
        if stored.is_empty():
            return frame
        stored = stored.select(pl.col(c).cast(frame.schema[c]) for c in columns)
        return frame.join(stored, on=columns, how="anti", nulls_equal=True)

    def relink(self, table: str, model: Model, frame: pl.DataFrame) -> None:
        """A file linked again to a record this load does not replace (a results file
        loaded a second time) replaces that record's link to the file of the same name;
        the earlier file goes once nothing names it."""
        fields = {f.column: f for f in model._meta.concrete_fields}
        owner = next(
            c
            for c in frame.columns
            if c in fields and fields[c].is_relation and c != "file_info_id"
        )
        infos = models_by_table()["file_info"]
        new_ids = frame["file_info_id"].unique().to_list()
        new = frame.select(owner, "file_info_id")
        pk = model._meta.pk.column
        old = _fetch(
            model, self.workspace, owner, new[owner].unique().to_list(), [pk, owner, "file_info_id"]
        ).filter(~pl.col("file_info_id").is_in(new_ids))
        if old.is_empty():
            return
        old_names = _fetch(
            infos,
            self.workspace,
            "file_info_id",
            old["file_info_id"].unique().to_list(),
            ["file_info_id", "original_file_name"],
        )
        new_names = _fetch(
            infos, self.workspace, "file_info_id", new_ids, ["file_info_id", "original_file_name"]
        )
        same = old.join(old_names, on="file_info_id").join(
            new.join(new_names, on="file_info_id").select(owner, "original_file_name").unique(),
            on=[owner, "original_file_name"],
        )
        if same.is_empty():
            return
        self.unlinked_files.update(same["file_info_id"].to_list())
        ids = same[pk].to_list()
        for start in range(0, len(ids), _IN_CHUNK):
            rows = model._base_manager.filter(pk__in=ids[start : start + _IN_CHUNK])
            rows._raw_delete(rows.db)
        self.result._add(table, "replaced", len(ids))

    def replace(self, table: str, model: Model, column: str, owner: str, accessions: set) -> None:
        """Delete ``table``'s rows of updated owners; the owners' history keeps them."""
        columns = [f.column for f in model._meta.concrete_fields if f.column != "workspace_id"]
        ordered = sorted(accessions)
        old = _fetch(model, self.workspace, column, ordered, columns)
        if old.is_empty():
            return
        self.history_replaced.append(
            old.select(
                pl.lit(owner).alias("table_name"),
                pl.col(column).alias("accession"),
                pl.lit(table).alias("child"),
                _json_object(old, columns).alias("row"),
            )
            .group_by("table_name", "accession", "child")
            .agg(pl.format("[{}]", pl.col("row").str.join(",")).alias("rows"))
        )
        if "file_info_id" in old.columns:
            self.unlinked_files.update(old["file_info_id"].to_list())
        attname = next(f.attname for f in model._meta.concrete_fields if f.column == column)
        for start in range(0, len(ordered), _IN_CHUNK):
            rows = model._base_manager.filter(
                workspace=self.workspace, **{f"{attname}__in": ordered[start : start + _IN_CHUNK]}
            )
            if model._meta.related_objects:  # rows others point at: Django's cascade
                rows.delete()
            else:
                rows._raw_delete(rows.db)
        self.result._add(table, "replaced", old.height)

    def store_files(self, block: _Block) -> None:
        """Files the block names: stored, recorded in file_info, linked to their records."""
        columns = [c for c in block.columns if c.names_package_file and c.key in block.data.columns]
        if not columns:
            return
        models = models_by_table()
        own = next(iter(block.defines), None)
        link = models.get(f"{own}_2_file_info") if own else None
        id_column = next(
            (c for c in block.columns if c.db_column == "user_defined_id" and own in _tables(c)),
            None,
        )
        linked: set[tuple[str, int]] = set()  # a file two columns of a row name: one link
        for column in columns:
            names = (
                block.data.select(
                    LINE,
                    pl.col(id_column.key).alias("owner")
                    if id_column
                    else pl.lit(None, pl.String).alias("owner"),
                    pl.col(column.key).str.split(LIST_SEPARATOR).alias("name"),
                )
                .explode("name")
                .with_columns(pl.col("name").str.strip_chars())
                .filter(pl.col("name").is_not_null() & (pl.col("name") != ""))
                .unique(["owner", "name"], maintain_order=True)
            )
            if names.is_empty():
                continue
            infos: dict[Path, int] = {}
            link_rows = []
            for line, owner, name in names.iter_rows():  # one row per file named
                path = self.files.find(name)
                if path is None:
                    raise LoadError(
                        f"the file '{name}' named here is not in the package",
                        file=block.path,
                        line=line,
                        column=column.name,
                    )
                if path not in infos:
                    infos[path] = self.file_info(block, name, column.name)
                if link is not None and owner is not None:
                    if (owner.lower(), infos[path]) not in linked:
                        link_rows.append((owner, infos[path]))
                    linked.add((owner.lower(), infos[path]))
            if link is not None and own is not None and link_rows:
                rows = pl.DataFrame(
                    link_rows, schema={"owner": pl.String, "file_info_id": pl.Int64}, orient="row"
                )
                owner_column = f"{own}_accession"
                rows = self.resolve(
                    block, rows.with_columns(pl.lit(0).alias(LINE)), "owner", own, column.name
                )
                rows = rows.select(
                    pl.col("owner").alias(owner_column),
                    "file_info_id",
                    pl.lit("OTHER").alias("result_schema"),
                ).unique()
                self.add_rows(
                    block,
                    link._meta.db_table,
                    link,
                    rows.with_columns(pl.lit(0).alias(LINE)),
                    False,
                )

    def file_info(self, block: _Block, name: str, detail: str) -> int:
        """The file_info row of the package's file ``name``, stored once per load."""
        path = self.files.find(name)
        if path is None:
            raise LoadError(f"the file '{name}' is not in the package", file=block.path)
        if path not in self.file_infos:
            stored, size = self.files.store(path)
            info = models_by_table()["file_info"]._default_manager.create(
                workspace=self.workspace,
                name=stored[-250:],
                original_file_name=path.name[:250],
                filesize_bytes=size,
                detail=f"{block.template.file_name}: {detail}"[:100],
            )
            self.file_infos[path] = info.pk
            self.result._add("file_info", "created", 1)
        return self.file_infos[path]

    def _record(self, table: str, accessions: list, udis: list, action: str) -> None:
        self.result.records += [
            LoadedRecord(table, a, u, action) for a, u in zip(accessions, udis, strict=True)
        ]
        self.result._add(table, action, len(accessions))

    def drop_unlinked_files(self) -> None:
        """Files whose links the load replaced and that nothing else names any more:
        their file_info rows go now, the stored files once the load is committed."""
        file_info = models_by_table()["file_info"]
        orphans = set(self.unlinked_files)
        for relation in file_info._meta.related_objects:
            column = relation.field.attname
            ids = sorted(orphans)
            for start in range(0, len(ids), _IN_CHUNK):
                linked = relation.related_model._base_manager.filter(
                    **{f"{column}__in": ids[start : start + _IN_CHUNK]}
                ).values_list(column, flat=True)
                orphans -= set(linked)
        ids, names = sorted(orphans), list[str]()
        for start in range(0, len(ids), _IN_CHUNK):
            rows = file_info._base_manager.filter(
                workspace=self.workspace, pk__in=ids[start : start + _IN_CHUNK]
            )
            names += rows.values_list("name", flat=True)
            rows._raw_delete(rows.db)
        if not names:
            return
        self.result._add("file_info", "replaced", len(names))

        def delete_stored() -> None:
            for name in names:
                default_storage.delete(name)

        transaction.on_commit(delete_stored)

    def write_history(self, user, package_id: str | None) -> None:
        """One RecordHistory row per updated record: its values, and under "replaced"
        the dependent rows the load replaced, by table. Written as a frame."""
        if not self.history_values:
            return
        history = pl.concat(self.history_values).unique(
            ["table_name", "accession"], keep="first", maintain_order=True
        )
        if self.history_replaced:
            # each (record, child table) was replaced once: its rows are one JSON array
            replaced = (
                pl.concat(self.history_replaced)
                .group_by("table_name", "accession", maintain_order=True)
                .agg(
                    pl.concat_str(pl.lit('"'), "child", pl.lit('": '), "rows")
                    .str.join(", ")
                    .alias("replaced")
                )
            )
            history = history.join(replaced, on=["table_name", "accession"], how="left")
            values = (
                pl.when(pl.col("replaced").is_null())
                .then(pl.col("values"))
                .otherwise(
                    pl.concat_str(
                        pl.col("values").str.strip_suffix("}"),
                        pl.lit(', "replaced": {'),
                        "replaced",
                        pl.lit("}}"),
                    )
                )
            )
            history = history.with_columns(values.alias("values"))
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        changed_by = user.pk if user is not None and user.pk else None
        insert_frame(
            RecordHistory,
            history.select(
                pl.lit(self.workspace.pk).alias("workspace_id"),
                "table_name",
                "accession",
                pl.lit(str(now)).alias("changed_at"),
                pl.lit(changed_by, pl.Int64).alias("changed_by_id"),
                pl.lit(package_id, pl.String).alias("package_id"),
                pl.col("values").alias("previous_values"),
            ),
        )


# ---------------------------------------------------------------------------------
# Helpers


def _id_frame(frame: pl.DataFrame) -> pl.DataFrame:
    by_accession = frame.select(pl.col(_ACCESSION).str.to_lowercase().alias(_KEY), _ACCESSION)
    by_udi = frame.filter(pl.col("udi").is_not_null()).select(
        pl.col("udi").str.to_lowercase().alias(_KEY), _ACCESSION
    )
    return pl.concat([by_udi, by_accession]).unique(_KEY, keep="first", maintain_order=True)


def _fetch(
    model: Model, workspace: Workspace, by: str, values: list, columns: list[str]
) -> pl.DataFrame:
    """``columns`` of the workspace's rows whose column ``by`` is one of ``values``."""
    fields = {f.column: f for f in model._meta.concrete_fields}
    attnames = [fields[c].attname for c in columns]
    schema = {c: polars_type(internal_type(fields[c])) for c in columns}
    # a frame per chunk: a million rows are never a million Python tuples at once
    frames = [pl.DataFrame(schema=schema)]
    for start in range(0, len(values), _IN_CHUNK):
        rows = model._default_manager.filter(
            workspace=workspace, **{f"{fields[by].attname}__in": values[start : start + _IN_CHUNK]}
        ).values_list(*attnames)
        frames.append(pl.DataFrame(list(rows), schema=schema, orient="row"))
    return pl.concat(frames, rechunk=True)


def _cast(column: str, internal: str) -> pl.Expr:
    dtype = polars_type(internal)
    value = pl.col(column)
    if dtype == pl.String:
        return value.cast(pl.String)
    text = value.cast(pl.String).str.strip_chars()
    if dtype == pl.Date:
        return pl.coalesce(
            text.str.to_date("%d-%b-%Y", strict=False),
            text.str.to_date("%Y-%m-%d", strict=False),
            text.str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False).dt.date(),
        )
    if dtype == pl.Int64:
        return text.cast(pl.Float64, strict=False).round(0).cast(pl.Int64, strict=False)
    return text.cast(dtype, strict=False)


def _unique_key(model: Model) -> list[str] | None:
    for constraint in model._meta.constraints:
        if constraint.name.endswith("_immport_key"):
            return [model._meta.get_field(name).column for name in constraint.fields]
    return None


def _json_object(frame: pl.DataFrame, columns: list[str]) -> pl.Expr:
    """Each row's ``columns`` as a JSON object (dates as ISO text), encoded by polars."""
    fields = [
        (pl.col(c).cast(pl.String) if frame.schema[c] == pl.Date else pl.col(c)).alias(c)
        for c in columns
    ]
    return pl.struct(fields).struct.json_encode()
