"""Blank upload templates, written from the template registry as .txt and .xlsx.

The .txt is what ImmPort's own generator writes, byte for byte. The .xlsx holds
the same grid, plus what helps people fill it in: a note on every header cell,
drop-down lists for vocabulary columns (their terms on a sheet named ``lookup``)
and a frozen header. Pure Python: the command line and notebooks use it offline.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from io import BytesIO
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from immunoport.schema.reference import REFERENCE_DIR, lookup_index, read_lookup_file
from immunoport.schema.templates import (
    COLUMN_NAME,
    MARKER_TEXT,
    Column,
    Section,
    Template,
    readable_condition,
    templates,
)

# ImmPort's workbooks offer their drop-downs on rows 4 to 201 of a tabular template
DROPDOWN_ROWS = 198
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_SHEET_NAME_LIMIT = 31  # Excel's; ImmPort's workbooks cut long file names the same way
_REQUIRED_FILL = PatternFill("solid", fgColor="F4CCCC")
_CONDITIONAL_FILL = PatternFill("solid", fgColor="FFF2CC")
_SEPARATOR_FILL = PatternFill("solid", fgColor="D9D9D9")
_BOLD = Font(bold=True)


# --- what a column holds, in our words (notes in the workbook, the web page) -------


@dataclass(frozen=True)
class ColumnDoc:
    column: Column
    requirement: str  # "Required", "Required when …", "Optional" or "Leave empty"
    kind: str
    type_label: str  # ImmPort's storage type, e.g. varchar(100)
    vocabulary_rule: str | None
    refers_to: str | None
    extra: str | None

    @property
    def note(self) -> str:
        parts = [
            f"{self.requirement}.",
            f"{self.kind}.",
            "Several values may be given, separated by ';'." if self.column.is_list else None,
            self.vocabulary_rule,
            self.refers_to,
            self.extra,
            f"Loaded into {self.column.db_table}.{self.column.db_column}."
            if self.column.db_table
            else None,
        ]
        return "\n".join(part for part in parts if part)


def describe(template: Template, column: Column, section: Section | None = None) -> ColumnDoc:
    """What ``column`` of ``template`` (in ``section`` if compound) holds."""
    if column.is_pseudo:
        return ColumnDoc(
            column,
            "Leave empty",
            "A marker with no values",
            "",
            None,
            None,
            "The result group starts to its right; repeat the group's columns further "
            "right, or add rows, to report more results for one record.",
        )
    condition = readable_condition(template, column)
    if column.required:
        optional_section = section is not None and not section.required
        requirement = "Required whenever the section is used" if optional_section else "Required"
    elif condition:
        requirement = f"Required when {condition}"
    else:
        requirement = "Optional"
    return ColumnDoc(
        column,
        requirement,
        _kind(column),
        f"{column.type}({column.max_length})" if column.max_length else column.type or "text",
        _vocabulary_rule(column),
        _refers_to(template, column, section),
        "Names a file that must be part of the same package."
        if column.names_package_file
        else None,
    )


def _kind(column: Column) -> str:
    if column.json_type == "date":
        return "A date written dd-MMM-yyyy or dd-MMM-yy, e.g. 06-Feb-2005"
    if column.is_numeric:
        sign = "zero or a positive number" if column.json_type == "positive" else "a number"
        limit = f" of at most {column.max_length} characters" if column.max_length else ""
        return f"Holds {sign}{limit}"
    if column.type == "clob":
        return "Free text of any length"
    if column.max_length:
        return f"Text of at most {column.max_length} characters"
    return "Text"


def _vocabulary_rule(column: Column) -> str | None:
    if column.controlled_vocabulary:
        rule = (
            f"Only terms of the lookup {column.controlled_vocabulary} are accepted "
            "(any letter case); pick one from the drop-down list."
        )
    elif column.preferred_vocabulary:
        rule = (
            f"Preferably a term of the lookup {column.preferred_vocabulary} (drop-down list); "
            "another value is kept as reported, with a warning."
        )
    else:
        return None
    if column.preferred_mapping_table:
        rule += f" Synonyms listed in {column.preferred_mapping_table} count as their term."
    return rule


def _refers_to(template: Template, column: Column, section: Section | None) -> str | None:
    section_name = section.name if section else None
    targets = {
        (r.target_table, r.target_templates, r.may_define_new_inline): None
        for r in template.references
        if r.column == column.name and r.section in (None, section_name)
    }
    sentences = []
    for table, where, inline in targets:
        defined = ", ".join(t.replace("#", " section ") for t in where) or "its template"
        sentence = (
            f"Refers to a record of {table}: its user-defined ID as given in {defined}, "
            "or its ImmPort accession."
        )
        if inline:
            sentence += " A new ID defines that record on this row."
        sentences.append(sentence)
    return " ".join(sentences) or None


# --- the grid shared by .txt and .xlsx ----------------------------------------------


@dataclass(frozen=True)
class _Field:
    """A column's header cell and the cells where its values go (1-based)."""

    column: Column
    section: Section | None
    row: int
    col: int
    values: str  # a cell or range, e.g. "D4:D201"


@dataclass(frozen=True)
class _Grid:
    rows: list[list[str]]
    fields: list[_Field]
    body_row: int  # the first row below the ``Column Name`` line


@cache
def _compound_descriptions() -> dict[str, str]:
    raw = json.loads((REFERENCE_DIR / "compound-descriptions.json").read_text())
    return raw["descriptions"]


def _grid(template: Template) -> _Grid:
    marker = [MARKER_TEXT]
    if template.is_compound:
        marker.append(_compound_descriptions()[template.name])
    rows = [
        [template.name, f"Schema Version {template.schema_version}"],
        marker,
        *(line.split("\t") for line in template.extra_header_lines),
    ]
    rows.append([COLUMN_NAME, *template.header])  # alone on its line in compound templates
    body_row = len(rows) + 1
    if template.is_compound:
        rows += [[], []]
        return _Grid(rows, list(_sections(template, rows)), body_row)
    rows.append([""] * (len(template.columns) + 1))
    last = body_row + DROPDOWN_ROWS - 1
    fields = []
    for index, column in enumerate(template.columns, start=2):
        letter = get_column_letter(index)
        fields.append(
            _Field(column, None, body_row - 1, index, f"{letter}{body_row}:{letter}{last}")
        )
    return _Grid(rows, fields, body_row)


def _sections(template: Template, rows: list[list[str]]) -> Iterator[_Field]:
    """Append the stacked sections of a compound template to ``rows``."""
    for section in template.sections:
        rows.append([section.name])
        if section.layout == "vertical":
            for column in section.columns:
                rows.append([column.name, ""])
                yield _Field(column, section, len(rows), 1, f"B{len(rows)}")
        else:
            rows.append([column.name for column in section.columns])
            rows.append([""] * len(section.columns))
            for index, column in enumerate(section.columns, start=1):
                values = f"{get_column_letter(index)}{len(rows)}"
                yield _Field(column, section, len(rows) - 1, index, values)
        rows.append([])


# --- writers ------------------------------------------------------------------------


def blank_txt(template: Template) -> bytes:
    """The blank tab-separated template, identical to ImmPort's blank (LF endings)."""
    lines = ("\t".join(row) for row in _grid(template).rows)
    return ("\n".join(lines) + "\n").encode("ascii")


def xlsx_name(template: Template) -> str:
    return template.file_name.removesuffix(".txt") + ".xlsx"


@cache
def lookup_terms(name: str) -> tuple[str, ...]:
    """The terms of one lookup, as written in its packaged file."""
    entry = next(entry for entry in lookup_index() if entry["table"] == name)
    frame = read_lookup_file(entry["file"])
    return tuple(term for term in frame[frame.columns[0]] if term)


def blank_xlsx(template: Template) -> bytes:
    """The blank template as a workbook, with notes, drop-downs and a lookup sheet."""
    grid = _grid(template)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = template.file_name[:_SHEET_NAME_LIMIT]
    for row in grid.rows:
        sheet.append([cell or None for cell in row])
    sheet.freeze_panes = f"A{grid.body_row}"
    sheet.column_dimensions["A"].width = max(len(row[0]) for row in grid.rows[2:] if row) + 2
    for field in grid.fields:
        _header_cell(
            sheet.cell(field.row, field.col), describe(template, field.column, field.section)
        )
        if field.col > 1:
            width = min(max(len(field.column.name) + 2, 12), 40)
            sheet.column_dimensions[get_column_letter(field.col)].width = width
    _dropdowns(workbook, sheet, grid.fields)
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _header_cell(cell: Cell, doc: ColumnDoc) -> None:
    cell.font = _BOLD
    if doc.column.is_pseudo:
        cell.fill = _SEPARATOR_FILL
    elif doc.column.required:
        cell.fill = _REQUIRED_FILL
    elif doc.column.condition_text:
        cell.fill = _CONDITIONAL_FILL
    note = doc.note
    cell.comment = Comment(note, "immunoport", height=40 + 16 * note.count("\n"), width=320)


def _dropdowns(workbook: Workbook, sheet, fields: list[_Field]) -> None:
    """One column per lookup on the ``lookup`` sheet; validations refer to its range."""
    lookup_sheet = workbook.create_sheet("lookup")
    ranges: dict[str, str] = {}
    validations: dict[tuple[str, bool], DataValidation] = {}
    for field in fields:
        name = field.column.vocabulary
        if name is None:
            continue
        if name not in ranges:
            terms = lookup_terms(name)
            index = len(ranges) + 1
            letter = get_column_letter(index)
            lookup_sheet.cell(1, index, name).font = _BOLD
            for row, term in enumerate(terms, start=2):
                lookup_sheet.cell(row, index, term)
            lookup_sheet.column_dimensions[letter].width = min(
                max(len(name), *(len(t) for t in terms)) + 2, 60
            )
            ranges[name] = f"lookup!${letter}$2:${letter}${len(terms) + 1}"
        controlled = field.column.controlled_vocabulary is not None
        key = (name, controlled)
        if key not in validations:
            validations[key] = DataValidation(
                type="list",
                formula1=ranges[name],
                allow_blank=True,
                showErrorMessage=True,
                errorStyle="stop" if controlled else "information",
                errorTitle="Not in the list",
                error=f"Choose a term of {name}."
                if controlled
                else f"Not a term of {name}; it will be kept as written.",
            )
            sheet.add_data_validation(validations[key])
        validations[key].add(field.values)


def export_blanks(directory: Path) -> list[Path]:
    """Write every template's blank .txt and .xlsx into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for template in templates().values():
        for name, content in (
            (template.file_name, blank_txt(template)),
            (xlsx_name(template), blank_xlsx(template)),
        ):
            path = directory / name
            path.write_bytes(content)
            written.append(path)
    return written
