"""Validate a package of ImmPort templates: a folder, a ZIP, or single files.

``validate_package(path)`` is the whole validator; the command line, the web page
and the ingest jobs all call it. ``existing`` passes the user-defined IDs and
accessions already in a workspace, so references to them resolve.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from immunoport.core.archives import (
    MAX_UNPACKED_BYTES,
    ArchiveError,
    Budget,
    member_paths,
    open_archive,
    read_member,
)
from immunoport.schema.templates import Template, template_for_file, template_named
from immunoport.validation.checks import PackageIndex, column_checks, duplicate_ids
from immunoport.validation.findings import (
    FINDING_COLUMNS,
    Finding,
    Severity,
    UnusableInput,
    findings_frame,
)
from immunoport.validation.parser import FileProblem, TemplateFile, parse_file

_TEMPLATE_SUFFIXES = (".txt", ".xlsx")
_DEFINING_TYPES = {"single", "multiple"}


@dataclass(frozen=True)
class FileSummary:
    path: str
    template: str | None
    rows: int
    schema_version: str | None


@dataclass
class Report:
    """The outcome of one validation: which files were read and what was found."""

    package: str
    files: list[FileSummary]
    findings: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=FINDING_COLUMNS))

    def count(self, severity: Severity) -> int:
        return int((self.findings["severity"] == str(severity)).sum())

    @property
    def errors(self) -> int:
        return self.count(Severity.ERROR)

    @property
    def warnings(self) -> int:
        return self.count(Severity.WARNING)

    @property
    def is_valid(self) -> bool:
        return self.errors == 0

    @property
    def exit_code(self) -> int:
        return 0 if self.is_valid else 1


@dataclass
class _Input:
    """What a package holds: template files' bytes and the names of all files."""

    label: str
    templates: dict[str, bytes]
    files: set[str]


def validate_package(
    path: Path | str, *, existing: Mapping[str, Iterable[str]] | None = None
) -> Report:
    """Validate the package at ``path``; raises UnusableInput when it cannot be read."""
    package = _read(Path(path))
    # the bytes read here are nobody else's: each file's go once it is parsed
    return _validate(package.label, package.templates, package.files, existing, release=True)


def validate_files(
    label: str,
    templates: Mapping[str, bytes],
    files: Iterable[str] = (),
    *,
    existing: Mapping[str, Iterable[str]] | None = None,
) -> Report:
    """Validate template files given as ``{path: bytes}`` with the package's file names."""
    return _validate(label, dict(templates), files, existing, release=False)


def _validate(
    label: str,
    templates: dict[str, bytes],
    files: Iterable[str],
    existing: Mapping[str, Iterable[str]] | None,
    *,
    release: bool,
) -> Report:
    problems: list[Finding] = []
    parsed: list[TemplateFile] = []
    names = sorted(templates)
    for path in names:
        outcome = _parse(path, templates.pop(path) if release else templates[path])
        if isinstance(outcome, Finding):
            problems.append(outcome)
        else:
            parsed.append(outcome)
    index = PackageIndex(
        existing={table: {v.lower() for v in values} for table, values in (existing or {}).items()},
        workspace_known=existing is not None,
        files={name.rsplit("/", 1)[-1] for name in [*files, *names]},
    )
    _index_definitions(parsed, index)
    frames = [findings_frame(problems)]
    for template_file in sorted(parsed, key=lambda t: (t.template.loading_order, t.path)):
        frames.append(findings_frame(template_file.findings))
        frames.extend(_check(template_file, index))
    findings = pl.concat(frames).sort(
        "file", pl.col("line").fill_null(0), "column", nulls_last=False, maintain_order=True
    )
    summaries = [
        FileSummary(t.path, t.template.file_name, t.row_count, t.schema_version)
        for t in sorted(parsed, key=lambda t: t.path)
    ]
    summaries += [FileSummary(f.file, None, 0, None) for f in problems]
    return Report(label, summaries, findings)


def _parse(path: str, raw: bytes) -> TemplateFile | Finding:
    try:
        return parse_file(path, raw)
    except FileProblem as problem:
        return Finding(
            Severity.ERROR, "file", path, problem.line, None, None, problem.message, problem.fix
        )


def _check(template_file: TemplateFile, index: PackageIndex) -> list[pl.DataFrame]:
    path, template = template_file.path, template_file.template
    out = []
    if template_file.row_count == 0:
        out.append(
            findings_frame(
                [
                    Finding(
                        Severity.WARNING,
                        "empty",
                        path,
                        None,
                        None,
                        None,
                        "the template has no data rows",
                        "Fill in rows under the header, or leave the file out of the package.",
                    )
                ]
            )
        )
    if template_file.sections:
        for section in template_file.sections.values():
            found = list(
                column_checks(path, template, section.data, section.section.columns, index)
            )
            key = next((c for c in section.section.columns if c.name == "User Defined ID"), None)
            if key is not None and section.section.layout == "tabular":
                found += duplicate_ids(path, section.data, key)
            if section.field_lines and found:
                lines = pl.DataFrame(
                    {
                        "column": list(section.field_lines),
                        "field_line": list(section.field_lines.values()),
                    },
                    schema={"column": pl.String, "field_line": pl.Int64},
                )
                found = [
                    f.join(lines, on="column", how="left")
                    .with_columns(pl.coalesce("field_line", "line").alias("line"))
                    .drop("field_line")
                    for f in found
                ]
            out += found
        return out
    out += column_checks(path, template, template_file.data, template.columns, index)
    key = _defining_column(template)
    if key is not None:
        out += duplicate_ids(path, template_file.data, key)
    return out


def _defining_column(template: Template):
    if template.type not in _DEFINING_TYPES:
        return None
    return next((c for c in template.columns if c.db_column == "user_defined_id"), None)


def _index_definitions(parsed: list[TemplateFile], index: PackageIndex) -> None:
    """Record which user-defined IDs each file defines, per table."""
    for template_file in parsed:
        tables = (
            [(s.section.columns, s.data) for s in template_file.sections.values()]
            if template_file.sections
            else [(template_file.template.columns, template_file.data)]
        )
        for columns, data in tables:
            for column in columns:
                table = column.db_table
                if column.db_column != "user_defined_id" or not table or " " in table:
                    continue
                if not template_file.template.defines(table):
                    continue  # the file only names such records
                if column.key not in data.columns:
                    continue
                ids = data[column.key].drop_nulls().str.to_lowercase().unique().to_list()
                index.defined.setdefault(table, {}).setdefault(template_file.path, set()).update(
                    ids
                )


# --- reading a package ------------------------------------------------------------


def _read(path: Path) -> _Input:
    if path.is_dir():
        return _read_folder(path)
    if path.is_file() and path.suffix.lower() == ".zip":
        return _read_zip(path)
    if path.is_file():
        return _Input(path.name, {path.name: path.read_bytes()}, {path.name})
    raise UnusableInput(f"{path}: no such file or folder")


def _is_template(name: str, head: bytes) -> bool:
    if not name.lower().endswith(_TEMPLATE_SUFFIXES):
        return False
    if template_for_file(name) is not None or name.lower().endswith(".xlsx"):
        return True
    first_cell = head.split(b"\n", 1)[0].split(b"\t", 1)[0].lstrip(b"\xef\xbb\xbf")
    return template_named(first_cell.decode("latin-1")) is not None


def _read_folder(root: Path) -> _Input:
    templates: dict[str, bytes] = {}
    files: set[str] = set()
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        name = file.relative_to(root).as_posix()
        files.add(name)
        if name.lower().endswith(_TEMPLATE_SUFFIXES):
            with file.open("rb") as handle:
                head = handle.read(512)
            if _is_template(name, head):
                templates[name] = file.read_bytes()
    return _Input(root.name, templates, files)


def _read_zip(archive_path: Path) -> _Input:
    templates: dict[str, bytes] = {}
    files: set[str] = set()
    budget = Budget(MAX_UNPACKED_BYTES)
    try:
        with open_archive(archive_path) as archive:
            for info, name in member_paths(archive, archive_path.name):
                files.add(name)
                if not name.lower().endswith(_TEMPLATE_SUFFIXES):
                    continue
                raw = b"".join(read_member(archive, info, budget, archive_path.name))
                if _is_template(name, raw[:512]):
                    templates[name] = raw
    except ArchiveError as error:
        raise UnusableInput(str(error)) from None
    return _Input(archive_path.name, templates, files)
