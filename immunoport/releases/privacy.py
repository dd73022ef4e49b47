"""The public form of a study's rows: the one place privacy rules are applied.

Pages, search, the API and downloads all call :func:`public_tables`. The rules,
driven by ImmPort's data model (column types and names) with small explicit lists
where a judgement is needed:

1. No user-defined IDs and no workspace: ``user_defined_id``, ``*_user_defined_id``,
   ``workspace_id`` and ``*_workspace_id`` columns are dropped; accessions remain.
2. No calendar dates: DATE/TIMESTAMP columns (by the model's type, or a polars
   Date/Datetime dtype) are dropped, except the study-level and administrative
   dates ImmPort publishes (:data:`PUBLIC_DATES`).
3. No location finer than a US state or a country: a geographic location keeps
   its value only when it is a term of ``lk_subject_location`` (a bare US state
   name is given as its "US: <state>" term); other geography
   columns (zip, city, address...) are dropped. Anatomical locations stay.
4. Ages above 89 years are shown as 90: numeric ages are converted to years with
   the row's unit and capped (90 'Years'); in text ages every number above 89
   becomes 90.
5. Stored files are named by their own name, not by the storage path that holds
   them (which names the workspace).
6. Free text flagged during curation (``withheld``) is nulled cell by cell;
   :func:`flag_free_text` finds the candidates (e-mail addresses, phone numbers,
   calendar dates).

Tables outside the model get the rules that apply by column name and dtype.
Rows keep their order; columns no rule touches keep their dtype.
"""

import re
from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping
from functools import cache
from typing import Any

import polars as pl

from immunoport.schema.blanks import lookup_terms
from immunoport.schema.reference import tables
from immunoport.validation.checks import _FREE_TEXT_MIN_LENGTH as FREE_TEXT_MIN_LENGTH
from immunoport.validation.checks import CALENDAR_DATE, EMAIL, PHONE

AGE_LIMIT = 89  # ages above this many years identify people (HIPAA Safe Harbor)
AGE_SHOWN = 90  # what a capped age is shown as, in years

# Dates ImmPort publishes: when a study ran and was shared, and grants' and
# programs' terms. No subject, sample or result date is among them.
PUBLIC_DATES = frozenset(
    {
        ("study", "actual_start_date"),  # the study's period, on every ImmPort study page
        ("study", "actual_completion_date"),
        ("study", "initial_data_release_date"),  # release history is public by design
        ("study", "latest_data_release_date"),
        ("study_data_release", "data_release_date"),
        ("contract_grant", "start_date"),  # funding terms, as NIH RePORTER shows them
        ("contract_grant", "end_date"),
        ("program", "start_date"),
        ("program", "end_date"),
    }
)

_DATE_TYPES = ("DATE", "TIMESTAMP", "DATETIME")

# Columns whose name says "location" but that locate a finding on the body.
ANATOMICAL_LOCATIONS = frozenset(
    {
        "location_of_reaction_preferred",  # adverse_event: injection site, arm...
        "location_of_reaction_reported",
        "location_of_finding_preferred",  # assessment_component: organ or body site
        "location_of_finding_reported",
    }
)

# Name parts of columns that place a person finer than a state: dropped outright.
_FINE_GEOGRAPHY = re.compile(
    r"(^|_)(zip|zipcode|zip_code|postal|postcode|postal_code|city|town|county|street"
    r"|address|latitude|longitude|geolocation|residence)(_|$)"
)

# Time units (lk_time_unit) in years; unknown units and null are taken as years.
YEARS_PER_UNIT = {
    "years": 1.0,
    "year": 1.0,
    "months": 1 / 12,
    "month": 1 / 12,
    "weeks": 7 / 365.25,
    "week": 7 / 365.25,
    "days": 1 / 365.25,
    "day": 1 / 365.25,
    "hours": 1 / (365.25 * 24),
    "hour": 1 / (365.25 * 24),
    "minutes": 1 / (365.25 * 24 * 60),
    "minute": 1 / (365.25 * 24 * 60),
    "seconds": 1 / (365.25 * 24 * 3600),
    "second": 1 / (365.25 * 24 * 3600),
}

# A number above 89 in a text, with the character before it (not a digit or a
# point, so decimals like 1.95 are left alone): 90-99, 100 and up, 89.x with x > 0.
_NUMBER_ABOVE_LIMIT = r"(^|[^0-9.])0*([1-9][0-9]{2,}|9[0-9]|89\.[0-9]*[1-9])(\.[0-9]+)?"

# Text columns that are not narratives, though long: contact details (meant to be
# public), links, file names and publication metadata (copied from PubMed).
_NOT_FREE_TEXT_NAMES = frozenset(
    {
        "email",  # personnel contacts, published as such
        "contact",  # reagent supplier contact
        "orcid",
        "orcid_id",
        "link",  # URLs: dates in paths are not about subjects
        "weblink",
        "doi",
        "file_name",  # names of uploaded files, shown as they are
        "original_file_name",
        "fcs_file_name",
    }
)
_NOT_FREE_TEXT_COLUMNS = frozenset(
    {
        ("file_info", "name"),  # a file's name
        ("study_link", "value"),  # a link's URL
    }
)
_NOT_FREE_TEXT_TABLES = frozenset({"study_pubmed"})  # PubMed metadata, public already

REASONS = {"e-mail address": EMAIL, "phone number": PHONE, "date": CALENDAR_DATE}


def public_tables(
    frames: Mapping[str, pl.DataFrame],
    *,
    withheld: Collection[tuple[str, str, str]] = (),
) -> dict[str, pl.DataFrame]:
    """The public form of one study's rows.

    ``frames``: ImmPort table name -> that study's private rows, with every column
    of the table as stored (user_defined_id, workspace_id included; values as
    Python types: str, int, float, date). ``withheld``: (table, primary-key value
    as str, column) of free-text values flagged during curation and not yet
    cleared. A composite primary key is written as its values in the model's key
    order joined by ``|`` (see :func:`row_keys`); when a table's key cannot be
    found, the whole withheld column is nulled.
    """
    cells: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for table, key, column in withheld:
        cells[table][column].add(str(key))
    return {
        table: _public_table(table, frame, cells.get(table, {})) for table, frame in frames.items()
    }


def flag_free_text(frames: Mapping[str, pl.DataFrame]) -> list[tuple[str, str, str, str]]:
    """(table, key, column, reason) for every free-text cell holding an e-mail
    address, a phone number or a calendar date.

    Free text: a model column of text type, at least ``FREE_TEXT_MIN_LENGTH``
    long or unbounded, not a lookup or a reference, nor a contact, link, file name
    or PubMed column. Shorter text fields of tables about subjects and samples are
    searched for dates only. Tables outside the model are not searched (no key).
    """
    flags: list[tuple[str, str, str, str]] = []
    for table, frame in frames.items():
        keys = row_keys(table, frame)
        if keys is None or frame.height == 0:
            continue
        searched = dict.fromkeys(_free_text_columns(table), REASONS)
        for column in _dated_text_columns(table):  # short fields: dates only
            searched.setdefault(column, {"date": CALENDAR_DATE})
        for column, reasons in searched.items():
            if column not in frame.columns or frame.schema[column] != pl.String:
                continue
            lowered = pl.col(column).str.to_lowercase()
            for reason, pattern in reasons.items():
                hits = frame.filter(lowered.str.contains(pattern) & keys.is_not_null())
                for key in hits.select(keys)[:, 0]:
                    flags.append((table, key, column, reason))
    return flags


def row_keys(table: str, frame: pl.DataFrame) -> pl.Expr | None:
    """The primary-key value of each row as str, as ``withheld`` names rows.

    The model's primary key (composite keys joined by ``|``); outside the model, a
    ``<table>_accession`` or ``<table>_id`` column. None when none is in the frame.
    """
    spec = tables().get(table)
    if spec is not None:
        key = list(spec["primary_key"])
    else:
        key = next(([c] for c in (f"{table}_accession", f"{table}_id") if c in frame.columns), [])
    if not key or any(column not in frame.columns for column in key):
        return None
    parts = [pl.col(column).cast(pl.String) for column in key]
    return parts[0] if len(parts) == 1 else pl.concat_str(parts, separator="|")


# --- the rules ----------------------------------------------------------------------


def _public_table(
    table: str, frame: pl.DataFrame, withheld: Mapping[str, set[str]]
) -> pl.DataFrame:
    frame = _withhold(table, frame, withheld)  # first: keys are still all there
    frame = frame.drop([c for c in frame.columns if _is_dropped(table, c, frame.schema[c])])
    frame = _cap_numeric_ages(frame)
    if table == "file_info" and "name" in frame.columns:  # a storage path names the
        frame = frame.with_columns(pl.col("name").str.split("/").list.last())  # workspace
    updates = [
        expr
        for column in frame.columns
        for expr in (_geography(column, frame.schema[column]), _text_age(column, frame))
        if expr is not None
    ]
    return frame.with_columns(updates) if updates else frame


def _withhold(table: str, frame: pl.DataFrame, withheld: Mapping[str, set[str]]) -> pl.DataFrame:
    columns = {column: keys for column, keys in withheld.items() if column in frame.columns}
    if not columns:
        return frame
    keys = row_keys(table, frame)
    return frame.with_columns(
        pl.when(pl.lit(True) if keys is None else keys.is_in(sorted(values)))
        .then(None)
        .otherwise(pl.col(column))
        .alias(column)
        for column, values in columns.items()
    )


def _is_dropped(table: str, column: str, dtype: pl.DataType) -> bool:
    if column in {"user_defined_id", "workspace_id"}:
        return True
    if column.endswith(("_user_defined_id", "_workspace_id")):
        return True
    if _FINE_GEOGRAPHY.search(column.lower()) and "email" not in column.lower():
        return True
    return _is_date(table, column, dtype) and (table, column) not in PUBLIC_DATES


def _is_date(table: str, column: str, dtype: pl.DataType) -> bool:
    if isinstance(dtype, pl.Date | pl.Datetime):
        return True
    return _model_type(table, column).startswith(_DATE_TYPES)


def _geography(column: str, dtype: pl.DataType) -> pl.Expr | None:
    """A place kept only as a lk_subject_location term (a country or a US state)."""
    if "location" not in column.lower() or column in ANATOMICAL_LOCATIONS:
        return None
    if dtype == pl.Null:
        return None
    if not isinstance(dtype, pl.String | pl.Categorical | pl.Enum):
        return pl.lit(None, dtype=dtype).alias(column)  # a number in a place: a zip code
    return (
        pl.col(column)
        .cast(pl.String)
        .str.strip_chars()
        .str.to_lowercase()
        .replace_strict(_locations(), default=None, return_dtype=pl.String)
        .alias(column)
    )


@cache
def _locations() -> dict[str, str]:
    """Lower-cased term -> term; a US state also by its bare name ("Massachusetts"),
    unless that is a country's name too (Georgia)."""
    terms = lookup_terms("lk_subject_location")
    found = {term.lower(): term for term in terms}
    for term in terms:
        if term.startswith("US: "):
            found.setdefault(term.removeprefix("US: ").lower(), term)
    return found


def _age_parts(column: str) -> list[str]:
    return column.lower().split("_")


def _is_age(column: str) -> bool:
    parts = _age_parts(column)
    return "age" in parts and not {"unit", "event"} & set(parts)


def _text_age(column: str, frame: pl.DataFrame) -> pl.Expr | None:
    """Every number above 89 in a text age or age range becomes 90."""
    if not _is_age(column) or frame.schema[column] != pl.String:
        return None
    return pl.col(column).str.replace_all(_NUMBER_ABOVE_LIMIT, f"${{1}}{AGE_SHOWN}").alias(column)


def _unit_column(column: str, columns: Collection[str]) -> str | None:
    """The column holding a numeric age's unit, by ImmPort's naming."""
    candidates = [f"{column}_unit", "age_unit"]
    if column.endswith("_preferred"):
        candidates.insert(0, column.removesuffix("_preferred") + "_unit_preferred")
    return next((c for c in candidates if c in columns), None)


def _cap_numeric_ages(frame: pl.DataFrame) -> pl.DataFrame:
    """Numeric ages above 89 years become 90 'Years'.

    Ages sharing a unit column (min and max subject age) are capped together: when
    one is capped, the row's unit becomes 'Years' and the others are converted.
    """
    by_unit: dict[str | None, list[str]] = defaultdict(list)
    for column in frame.columns:
        if _is_age(column) and frame.schema[column].is_numeric():
            by_unit[_unit_column(column, frame.columns)].append(column)
    for unit, ages in by_unit.items():
        frame = frame.with_columns(_capped(frame, unit, ages))
    return frame


def _capped(frame: pl.DataFrame, unit: str | None, ages: list[str]) -> Iterator[pl.Expr]:
    if unit is None:
        factor = pl.lit(1.0)
    else:
        factor = (
            pl.col(unit)
            .cast(pl.String)
            .str.strip_chars()
            .str.to_lowercase()
            .replace_strict(YEARS_PER_UNIT, default=1.0, return_dtype=pl.Float64)
        )
    years = {age: pl.col(age).cast(pl.Float64) * factor for age in ages}
    over = pl.any_horizontal([(y > AGE_LIMIT).fill_null(False) for y in years.values()])
    for age, in_years in years.items():
        value = pl.when(in_years > AGE_LIMIT).then(pl.lit(float(AGE_SHOWN))).otherwise(in_years)
        dtype = frame.schema[age]
        if dtype.is_integer():
            value = value.round(0)
        yield pl.when(over).then(value).otherwise(pl.col(age)).cast(dtype).alias(age)
    if unit is not None:
        yield (
            pl.when(over)
            .then(pl.lit("Years"))
            .otherwise(pl.col(unit).cast(pl.String))
            .cast(pl.String if frame.schema[unit] == pl.Null else frame.schema[unit])
            .alias(unit)
        )


# --- the data model -----------------------------------------------------------------


def _model_type(table: str, column: str) -> str:
    spec = tables().get(table)
    if spec is None:
        return ""
    found: dict[str, Any] | None = next((c for c in spec["columns"] if c["name"] == column), None)
    return str(found["type"]).upper() if found else ""


def _free_text_columns(table: str) -> list[str]:
    spec = tables().get(table)
    if spec is None or table.startswith("lk_") or table in _NOT_FREE_TEXT_TABLES:
        return []
    return [
        column["name"]
        for column in spec["columns"]
        if _is_free_text(str(column["type"]).upper())
        and not column.get("fk")
        and column["name"] not in _NOT_FREE_TEXT_NAMES
        and (table, column["name"]) not in _NOT_FREE_TEXT_COLUMNS
    ]


def _dated_text_columns(table: str) -> list[str]:
    """Text columns of any length, in tables about subjects and their samples, where
    a calendar date would date a person (a biosample's "t0 event: vaccinated
    2023-03-14"). Study-level tables, whose dates are public, are left out."""
    spec = tables().get(table)
    public_dated = {t for t, _ in PUBLIC_DATES} | {"study_pubmed"}
    if (
        spec is None
        or table.startswith("lk_")
        or table in public_dated
        or table.startswith("study")
    ):
        return []
    return [
        column["name"]
        for column in spec["columns"]
        if re.fullmatch(r"(?:VAR)?CHAR\(\d+\)|(?:MEDIUM|LONG)?TEXT", str(column["type"]).upper())
        and not column.get("fk")
        and column["name"] not in _NOT_FREE_TEXT_NAMES
        and (table, column["name"]) not in _NOT_FREE_TEXT_COLUMNS
        and not column["name"].endswith("_accession")
    ]


def _is_free_text(sql_type: str) -> bool:
    if sql_type in {"TEXT", "MEDIUMTEXT", "LONGTEXT"}:
        return True
    length = re.fullmatch(r"(?:VAR)?CHAR\((\d+)\)", sql_type)
    return length is not None and int(length.group(1)) >= FREE_TEXT_MIN_LENGTH
