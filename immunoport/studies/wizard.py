"""The study registration wizard's eleven steps, described from the templates.

Each step shows one or more *parts*: a section of ``basic_study_design.txt`` or the
``protocols.txt`` template. A part's fields are the template's columns, with the
template's limits, lookups and requirements; its rows are checked by the validator's
own column checks, so a step accepts exactly what an uploaded template would. A draft
stores each part's rows as the template would hold them (column name -> text), and
``package_files`` writes a draft out as the two filled templates.

Plain Python and polars: nothing here touches the database.
"""

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache

import polars as pl

from immunoport.schema.blanks import describe, lookup_terms
from immunoport.schema.filled import compound_text, flatten, tabular_text
from immunoport.schema.reference import tables
from immunoport.schema.templates import Column, Section, Template, templates
from immunoport.studies.documents import DESIGN, PROTOCOLS
from immunoport.studies.registry import models_by_table
from immunoport.validation.checks import PackageIndex, column_checks
from immunoport.validation.findings import Severity
from immunoport.validation.parser import LINE

DATE_FORMAT = "%d-%b-%Y"  # the templates' dd-MMM-yyyy
# Columns the wizard fills itself: a protocol's file name is the uploaded document's.
UPLOADED = {("protocols", "File Name"), ("study_file", "File Name")}


@dataclass(frozen=True)
class Part:
    """What one step shows of a template: a section, or a whole one-table template."""

    key: str  # the draft's key: the section's name, or "protocols"
    title: str
    template: Template
    section: Section | None
    columns: tuple[Column, ...]
    multiple: bool  # several rows (arms, personnel, ...) or one (the study itself)
    required: bool  # at least one row

    @property
    def file_name(self) -> str:
        return self.template.file_name

    @property
    def id_column(self) -> Column | None:
        return next((c for c in self.columns if c.name == "User Defined ID"), None)

    @property
    def table(self) -> str:
        return self.columns[0].db_table or ""

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


@dataclass(frozen=True)
class Step:
    slug: str
    title: str
    intro: str
    parts: tuple[Part, ...]

    @property
    def optional(self) -> bool:
        return bool(self.parts) and not any(part.required for part in self.parts)


@dataclass(frozen=True)
class Problem:
    """Something wrong with a field (``row`` and ``column`` set), a row or a part."""

    part: str
    row: int | None  # 0-based row of the part
    column: str | None
    message: str
    fix: str
    severity: str = Severity.ERROR

    @property
    def is_error(self) -> bool:
        return self.severity == Severity.ERROR


_TITLES = {
    "study": "Study",
    "study_categorization": "Research focus",
    "study_2_condition_or_disease": "Conditions or diseases studied",
    "arm_or_cohort": "Arms or cohorts",
    "inclusion_exclusion": "Inclusion and exclusion criteria",
    "study_personnel": "Personnel",
    "planned_visit": "Planned visits",
    "study_pubmed": "Publications (PubMed)",
    "study_link": "Study links",
    "study_file": "Study files",
    "protocols": "Protocols",
}

# (slug, title, parts, intro): the steps in ImmPort's order.
_STEPS = [
    (
        "basic-info",
        "Basic Info",
        ["study"],
        "The study's identity and summary, as it will be shown once the study is shared.",
    ),
    (
        "categorization",
        "Categorization",
        ["study_categorization"],
        "The study's main research focus.",
    ),
    (
        "condition",
        "Condition or Disease",
        ["study_2_condition_or_disease"],
        "Every condition or disease the study is about; add a row for each.",
    ),
    (
        "arms",
        "Arms/Cohorts/Subject Groups",
        ["arm_or_cohort"],
        "The groups subjects are assigned to: arms of a trial, cohorts, controls.",
    ),
    (
        "criteria",
        "Inclusion/Exclusion",
        ["inclusion_exclusion"],
        "The criteria that decided which subjects could take part.",
    ),
    (
        "personnel",
        "Personnel",
        ["study_personnel"],
        "The people responsible for the study; at least a principal investigator.",
    ),
    (
        "visits",
        "Planned Visits/Time Series",
        ["planned_visit"],
        "The visits or time points at which subjects were seen and sampled.",
    ),
    (
        "protocol",
        "Protocol",
        ["protocols"],
        "The study protocol document, uploaded here, and what it describes.",
    ),
    (
        "publications",
        "Publications/Study Links",
        ["study_pubmed", "study_link"],
        "Optional: publications of the study and links to pages about it.",
    ),
    (
        "study-files",
        "Study Files",
        ["study_file"],
        "Optional: documents about the study (consent forms, data dictionaries, ...).",
    ),
    (
        "finish",
        "Finish",
        [],
        "Check what you entered, then register the study to receive its accession.",
    ),
]


@cache
def parts() -> dict[str, Part]:
    design, protocols = templates()[DESIGN], templates()[PROTOCOLS]
    found = {
        section.name: Part(
            key=section.name,
            title=_TITLES[section.name],
            template=design,
            section=section,
            columns=section.columns,
            multiple=section.multiple_values,
            required=section.required,
        )
        for section in design.sections
        if section.name in _TITLES
    }
    found["protocols"] = Part(
        "protocols", _TITLES["protocols"], protocols, None, protocols.columns, True, True
    )
    return found


@cache
def steps() -> tuple[Step, ...]:
    return tuple(
        Step(slug, title, intro, tuple(parts()[key] for key in keys))
        for slug, title, keys, intro in _STEPS
    )


def step(slug: str) -> Step | None:
    return next((s for s in steps() if s.slug == slug), None)


# --- fields ---------------------------------------------------------------------------


@cache
def limit(part: Part, column: Column) -> int | None:
    """The most characters a field takes: the template's limit, or the database
    column's where ImmPort's schema is stricter (a person's e-mail: 40, not 100)."""
    limits = [column.max_length] if column.max_length else []
    model = models_by_table().get(column.db_table or "")
    if model is not None and column.db_column != "user_defined_id":
        field = next((f for f in model._meta.fields if f.column == column.db_column), None)
        if field is not None and field.max_length and not field.is_relation:
            limits.append(field.max_length)
    return min(limits) if limits else None


@cache
def help_text(part: Part, column: Column) -> str:
    """What ImmPort's data model says the column holds, and how to fill it in."""
    doc = describe(part.template, column, part.section)
    meaning = next(
        (
            c.get("description") or ""
            for c in tables().get(column.db_table or "", {}).get("columns", [])
            if c["name"] == column.db_column
        ),
        "",
    )
    if column.db_column == "user_defined_id":
        meaning = "Your own identifier, private to the workspace; other records refer to it."
        if part.key == "study":
            meaning += " It cannot be changed once the study is registered."
    sentences = [meaning.strip().rstrip(".") + "." if meaning.strip() else "", doc.requirement]
    if column.vocabulary:
        sentences.append("Pick a term of the list (type to filter).")
    return " ".join(s.rstrip(".") + "." for s in sentences if s)


def choices(column: Column) -> tuple[str, ...]:
    return lookup_terms(column.vocabulary) if column.vocabulary else ()


def is_long_text(part: Part, column: Column) -> bool:
    size = limit(part, column)
    return column.type == "clob" or (size is not None and size > 500)


def to_input_date(value: str) -> str:
    """A template date (06-Feb-2005) as an HTML date input's value (2005-02-06)."""
    try:
        return datetime.strptime(value, DATE_FORMAT).date().isoformat()
    except ValueError:
        return value


def from_input_date(value: str) -> str:
    try:
        return date.fromisoformat(value).strftime(DATE_FORMAT)
    except ValueError:
        return value


def clean_value(column: Column, value: str) -> str:
    """A submitted value as the template would hold it."""
    value = flatten(value)
    if value and column.json_type == "date":
        return from_input_date(value)
    return value


# --- checking a part's rows --------------------------------------------------------------


def check_part(part: Part, rows: list[dict[str, str]], index: PackageIndex) -> list[Problem]:
    """The problems of ``part``'s rows: the validator's checks of the template's columns,
    plus the limits the validator leaves to the database (user-defined IDs' lengths)."""
    if not rows:
        if part.required:
            what = "a row" if part.multiple else "this information"
            return [Problem(part.key, None, None, f"{part.title}: add {what}.", "Required.")]
        return []
    problems = [*_lengths(part, rows), *_duplicates(part, rows)]
    frame = pl.DataFrame(
        {
            LINE: list(range(1, len(rows) + 1)),
            **{c.key: [row.get(c.name) or None for row in rows] for c in part.columns},
        },
        schema={LINE: pl.Int64, **{c.key: pl.String for c in part.columns}},
    )
    found = [
        f
        for frame in column_checks(part.file_name, part.template, frame, part.columns, index)
        for f in frame.filter(pl.col("rule") != "length").iter_rows(named=True)
    ]
    for finding in found:
        message, fix = _sentence(finding["message"]), finding["fix"]
        if finding["rule"] == "required":  # the validator speaks of rows of a file
            message, fix = f"{finding['column']} is required.", "Fill it in."
        problems.append(
            Problem(
                part.key,
                finding["line"] - 1 if finding["line"] else None,
                finding["column"],
                message,
                fix,
                finding["severity"],
            )
        )
    return problems


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def _lengths(part: Part, rows: list[dict[str, str]]):
    for column in part.columns:
        size = limit(part, column)
        for n, row in enumerate(rows):
            value = row.get(column.name) or ""
            if size and len(value) > size:
                yield Problem(
                    part.key,
                    n,
                    column.name,
                    f"{column.name} has {len(value)} characters; it holds at most {size}.",
                    f"Shorten it to {size} characters.",
                )


def _duplicates(part: Part, rows: list[dict[str, str]]):
    key = part.id_column or (part.columns[0] if part.multiple else None)
    if key is None or not part.multiple:
        return
    seen: dict[str, int] = {}
    for n, row in enumerate(rows):
        value = (row.get(key.name) or "").lower()
        if value and value in seen:
            yield Problem(
                part.key,
                n,
                key.name,
                f"'{row[key.name]}' is already given on row {seen[value] + 1}.",
                "Give every row its own value (compared ignoring letter case).",
            )
        seen.setdefault(value, n)


# --- the package a draft amounts to -----------------------------------------------------


def package_files(data: dict[str, list[dict[str, str]]]) -> dict[str, str]:
    """The two filled templates a draft stands for: file name -> text.

    The study's protocols are its ``protocols.txt`` rows, linked by their IDs in the
    ``study_2_protocol`` section.
    """
    design = templates()[DESIGN]
    protocols = data.get("protocols") or []
    rows = dict(data) | {
        "study_2_protocol": [{"Protocol ID": p["User Defined ID"]} for p in protocols]
    }
    sections = {s.name: _frame(s.columns, rows.get(s.name) or []) for s in design.sections}
    return {
        DESIGN: compound_text(design, sections),
        PROTOCOLS: tabular_text(
            templates()[PROTOCOLS], _frame(parts()["protocols"].columns, protocols)
        ),
    }


def _frame(columns: tuple[Column, ...], rows: list[dict[str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {c.key: [row.get(c.name) or None for row in rows] for c in columns},
        schema={c.key: pl.String for c in columns},
    )
