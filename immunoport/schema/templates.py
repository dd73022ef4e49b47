"""ImmPort's 66 upload templates (schema 3.36) as plain Python objects.

Everything here comes from the packaged ``reference/immport-templates.json``; nothing
imports Django, so the validator and its command line work offline.
"""

import json
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from immunoport.schema.reference import REFERENCE_DIR

SCHEMA_VERSION = "3.36"
MARKER_TEXT = "Please do not delete or edit this column"
COLUMN_NAME = "Column Name"
SEPARATOR_COLUMN = "Result Separator Column"


@dataclass(frozen=True)
class Condition:
    """One part of a conditional requirement, e.g. ``biosample_required = 'Yes'``."""

    op: str
    column: str
    value: Any = None


@dataclass(frozen=True)
class Column:
    name: str
    # unique within the template: assessments and labTests name a metadata column and
    # a result column both "Name Reported"; the result one is keyed "Name Reported (result)"
    key: str
    data_column: str
    required: bool
    conditions: tuple[Condition, ...]
    condition_text: str | None  # the AND/OR structure of ``conditions``, readable
    controlled_vocabulary: str | None
    preferred_vocabulary: str | None
    preferred_mapping_table: str | None
    preferred_value_column: str | None
    type: str | None
    max_length: int | None
    json_type: str
    is_list: bool
    db_table: str | None
    db_column: str | None
    part: str | None
    numeric_type: str | None
    foreign_key_table: str | None
    names_package_file: bool
    is_pseudo: bool

    @property
    def vocabulary(self) -> str | None:
        return self.controlled_vocabulary or self.preferred_vocabulary

    @property
    def is_numeric(self) -> bool:
        return self.json_type in {"number", "positive"} or self.type == "float"


@dataclass(frozen=True)
class Reference:
    """A column naming records of another table, by user-defined ID or accession."""

    column: str
    target_table: str
    target_templates: tuple[str, ...]
    may_define_new_inline: bool
    section: str | None


@dataclass(frozen=True)
class Section:
    """One stacked part of a compound template (basic_study_design, study_design_edit)."""

    name: str
    layout: str  # "vertical" (label, value) or "tabular" (header line, then rows)
    required: bool
    multiple_values: bool
    columns: tuple[Column, ...]


@dataclass(frozen=True)
class Template:
    name: str  # ImmPort's internal name, written in cell A1
    file_name: str
    type: str
    schema_version: str
    description: str
    loading_order: int
    extra_header_lines: tuple[str, ...]
    columns: tuple[Column, ...]
    sections: tuple[Section, ...]
    references: tuple[Reference, ...]
    accession_prefix: str | None
    repeatable_result_columns: tuple[str, ...]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def is_compound(self) -> bool:
        return bool(self.sections)

    @property
    def header(self) -> tuple[str, ...]:
        """Column names of the header row, after ``Column Name``."""
        return tuple(column.name for column in self.columns)

    @property
    def all_columns(self) -> tuple[Column, ...]:
        if self.sections:
            return tuple(column for section in self.sections for column in section.columns)
        return self.columns

    def defines(self, table: str) -> bool:
        """Whether rows of this template can define ``table`` records, not only name them.

        experimentSamples.ELISA describes biosamples inline (Type, Subject ID, ...);
        subjectHumans only names arms, so its Arm Or Cohort ID must point elsewhere.
        """
        return any(
            c.db_table == table and c.db_column != "user_defined_id" for c in self.all_columns
        )

    def column(self, name: str) -> Column:
        return next(c for c in self.all_columns if c.name == name)


def _column(raw: dict[str, Any], taken: set[str] | None = None) -> Column:
    name = raw["template_column"]
    key = f"{name} (result)" if taken is not None and name in taken else name
    if taken is not None:
        taken.add(key)
    return Column(
        name=name,
        key=key,
        data_column=raw["data_column"],
        required=bool(raw["required"]),
        conditions=tuple(
            Condition(c["op"], c["column"], c.get("values") or c.get("lookup") or c.get("value"))
            for c in raw.get("conditional_required_conditions") or []
        ),
        condition_text=raw["conditional_required"],
        controlled_vocabulary=raw["controlled_vocabulary"],
        preferred_vocabulary=raw["preferred_vocabulary"],
        preferred_mapping_table=raw["preferred_mapping_table"],
        preferred_value_column=raw["preferred_value_column"],
        type=raw["type"],
        max_length=raw["max_length"],
        json_type=raw["json_type"],
        is_list=bool(raw["list"]),
        db_table=raw["db_table"],
        db_column=raw["db_column"],
        part=raw.get("part"),
        numeric_type=raw.get("numeric_type"),
        foreign_key_table=raw.get("foreign_key_table"),
        names_package_file=bool(raw.get("names_package_file")),
        is_pseudo=bool(raw.get("pseudo_column")),
    )


def _template(raw: dict[str, Any]) -> Template:
    sections = tuple(
        Section(
            name=s["name"],
            layout=s["layout"],
            required=bool(s["required"]),
            multiple_values=bool(s["multiple_values"]),
            columns=tuple(_column(c) for c in s["columns"]),
        )
        for s in raw.get("sections") or []
    )
    references = [
        *(raw.get("references") or []),
        *(ref for s in raw.get("sections") or [] for ref in s.get("references") or []),
    ]
    taken: set[str] = set()
    return Template(
        name=raw["name"],
        file_name=raw["file_name"],
        type=raw["type"],
        schema_version=raw["schema_version"],
        description=raw["description_short"],
        loading_order=raw["loading_order"],
        extra_header_lines=tuple(raw["header"].get("extra_lines_before_column_name") or ()),
        columns=tuple(_column(c, taken) for c in raw["columns"]),
        sections=sections,
        references=tuple(
            Reference(
                column=r["column"],
                target_table=r["target_table"],
                target_templates=tuple(r.get("target_templates") or ()),
                may_define_new_inline=bool(r.get("may_define_new_inline")),
                section=r.get("section"),
            )
            for r in references
        ),
        accession_prefix=(raw["key"] or {}).get("accession_prefix"),
        repeatable_result_columns=tuple(
            (raw.get("result_block") or {}).get("repeatable_result_columns") or ()
        ),
        raw=raw,
    )


@cache
def templates() -> dict[str, Template]:
    """All templates by file name, in ImmPort's loading order."""
    raw = json.loads((REFERENCE_DIR / "immport-templates.json").read_text())
    ordered = sorted(raw["templates"], key=lambda t: t["loading_order"])
    return {t["file_name"]: _template(t) for t in ordered}


def template_for_file(file_name: str) -> Template | None:
    """The template a file name stands for, ignoring case (``subjecthumans.TXT``)."""
    stem = file_name.rsplit("/", 1)[-1].lower()
    for suffix in (".txt", ".xlsx"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    return _by_stem().get(stem)


def template_named(internal_name: str) -> Template | None:
    """The template whose cell A1 reads ``internal_name`` (ImmPort's internal name)."""
    return {t.name: t for t in templates().values()}.get(internal_name.strip().lower())


@cache
def _by_stem() -> dict[str, Template]:
    return {t.file_name.lower().removesuffix(".txt"): t for t in templates().values()}


_CONDITION = re.compile(
    r"(?P<column>\w+) (?P<test>= '[^']*'|in \[.*?\]|is not empty|is empty|is not a term of \w+)"
    r"(?: \(case-insensitive\))?"
)


def readable_condition(template: Template, column: Column) -> str | None:
    """``column``'s conditional requirement with template column names, e.g.

    ``biosample_required = 'Yes' (case-insensitive) AND type = 'other' (case-insensitive)``
    reads "'Biosample ID' names a new biosample and 'Type' is 'other'".
    """
    if not column.condition_text:
        return None
    # reversed: where a data column repeats, its first (metadata) column names it
    names = {c.data_column: c.name for c in reversed(template.all_columns)}

    def atom(match: re.Match[str]) -> str:
        name, test = match["column"], match["test"]
        if name.endswith("_required") and test == "= 'Yes'":
            return _new_record(template, name.removesuffix("_required"))
        label = f"'{names.get(name, name)}'"
        if test.startswith("in ["):
            return f"{label} is one of {test[4:-1]}"
        if test.startswith("= "):
            return f"{label} is {test[2:]}"
        if test == "is not empty":
            return f"{label} is filled in"
        return f"{label} {test}"

    text = _CONDITION.sub(atom, column.condition_text)
    return text.replace(" AND ", " and ").replace(" OR ", " or ")


def _new_record(template: Template, table: str) -> str:
    """The row flag ``<table>_required``: the row's ID names a record not seen before."""
    entity = table.replace("_", " ")
    id_column = next(
        (
            c
            for c in template.all_columns
            if c.db_table == table and c.db_column == "user_defined_id"
        ),
        None,
    )
    if id_column is None:
        return f"the row defines a new {entity}"
    return f"'{id_column.name}' names a new {entity}"
