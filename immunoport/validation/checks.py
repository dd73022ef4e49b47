"""The validator's checks, each a polars computation over a whole column.

Every check returns a frame of findings (see findings.FINDING_COLUMNS). Nothing
here loops over rows in Python: loops run over columns, and over distinct bad
values where a message needs Python (the "did you mean" suggestions).
"""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import polars as pl

from immunoport.schema.reference import tables
from immunoport.schema.templates import Column, Condition, Template, readable_condition
from immunoport.validation.findings import Severity, cell_findings
from immunoport.validation.parser import GROUP, LINE
from immunoport.validation.vocabulary import synonyms, vocabulary

# Accession prefixes by table (SUB for subject, as in SUB123), from ImmPort's model.
ACCESSION_PREFIXES = {
    name: table["accession_prefix"]
    for name, table in tables().items()
    if table.get("accession_prefix")
}

# Shapes of accessions in public repositories, by lk_public_repository name.
REPOSITORY_ACCESSIONS = {
    "GEO": r"G(SE|SM|PL|DS)\d+",
    "SRA": r"(SRR|SRX|SRP|SRS|SRA|ERR|ERX|ERP|DRR|DRX|DRP)\d+|PRJNA\d+|SAMN\d+",
    "dbGAP": r"phs\d{6}(\.v\d+(\.p\d+)?)?",
    "ENA": r"(ERR|ERX|ERP|ERS|PRJEB)\d+",
    "ArrayExpress": r"E-[A-Z]{4}-\d+",
    "GenBank": r"[A-Z]{1,2}\d{5,6}(\.\d+)?",
    "FlowRepository": r"FR-FCM-[A-Z0-9]{4}",
    "PRIDE": r"PXD\d{6}",
    "MassIVE": r"MSV\d{9}",
    "MetaboLights": r"MTBLS\d+",
    "Metabolomics Workbench": r"(ST|PR)\d{6}",
    "UniProt": r"[A-NR-Z][0-9][A-Z0-9]{3}[0-9]|[OPQ][0-9][A-Z0-9]{3}[0-9]",
    "ImmPort": r"SDY\d+",
    "IEDB": r"\d+",
    "NCBI Gene": r"\d+",
}

_DATE_COLUMN_FORMAT = r"^\d{1,2}-[A-Za-z]{3}-(\d{2}|\d{4})$"
CALENDAR_DATE = (
    r"\b(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{2,4}|"
    r"\d{1,2}[-\s](jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*[-\s,]+\d{2,4})\b"
)
EMAIL = r"[\w.+-]+@[\w-]+\.[\w.-]+"
PHONE = r"(\+\d{1,3}[\s.-]?)?\(?\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}\b"
_AGE_LIMIT = 89
_MAX_SUGGESTED = 500  # distinct wrong values per column that get "did you mean"
_FREE_TEXT_MIN_LENGTH = 100  # short fields hold codes and names, not narratives
_CONTACTS = {"email", "contact", "orcid_id"}  # columns meant for contact details


@dataclass
class PackageIndex:
    """What the package and the workspace define, for references between templates."""

    # table -> file -> user-defined IDs the file defines (lower-cased)
    defined: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    # table -> user-defined IDs and accessions already in the workspace (lower-cased)
    existing: dict[str, set[str]] = field(default_factory=dict)
    # whether ``existing`` was filled from a workspace; offline, accessions can only
    # be checked for their shape
    workspace_known: bool = False
    files: set[str] = field(default_factory=set)

    def defined_in(self, table: str, *, except_file: str | None = None) -> set[str]:
        files = self.defined.get(table, {})
        return set().union(*(ids for path, ids in files.items() if path != except_file))

    def known(self, table: str) -> set[str]:
        return self.defined_in(table) | self.existing.get(table, set())


def column_checks(
    path: str,
    template: Template,
    frame: pl.DataFrame,
    columns: tuple[Column, ...],
    index: PackageIndex,
) -> Iterator[pl.DataFrame]:
    """All per-column checks of one table (a template, or a section of one)."""
    if frame.height == 0:
        return
    flags = row_flags(path, frame, columns, index)
    inputs = [flag.meta.output_name() for flag in flags]
    scoped = frame.with_columns(flags)
    # metadata repeats on every result group: checked on the first group's rows
    metadata = scoped.filter(pl.col(GROUP) == 0) if GROUP in frame.columns else scoped
    for column in columns:
        if column.is_pseudo or column.key not in frame.columns:
            continue
        rows = scoped if column.part == "result" else metadata
        value = rows.select(LINE, pl.col(column.key).alias("value"), *inputs)
        emit = _emitter(path, column)
        yield from _required(value, column, template, emit)
        items = _items(value, column)
        yield from _types(items, column, emit)
        yield from _vocabulary(items, column, emit)
        yield from _references(items, column, template, index, emit)
        yield from _package_files(items, column, index, emit)
        yield from _privacy(items, column, emit)
    yield from _ages(path, scoped, columns)
    yield from _repository_accessions(path, scoped, columns)


def _emitter(path: str, column: Column) -> Callable[..., pl.DataFrame]:
    def emit(failures, severity, rule, message, fix):
        return cell_findings(
            failures,
            severity=severity,
            rule=rule,
            file=path,
            column=column.name,
            message=message,
            fix=fix,
        )

    return emit


def _items(value: pl.DataFrame, column: Column) -> pl.DataFrame:
    """Filled cells; list columns split into one row per item."""
    filled = value.filter(pl.col("value").is_not_null()) if value["value"].has_nulls() else value
    if not column.is_list:
        return filled.select(LINE, "value")
    return (
        filled.select(LINE, pl.col("value").str.split(";"))
        .explode("value")
        .with_columns(pl.col("value").str.strip_chars())
        .filter(pl.col("value") != "")
    )


def _failing(items: pl.DataFrame, passes: pl.Expr) -> pl.DataFrame:
    """The items whose value fails ``passes``, a check of the value alone.

    The check runs once per distinct value: a million rows often hold a few
    thousand values (IDs, terms), and the rows are then picked by value.
    """
    distinct = items.select(pl.col("value").unique())
    bad = distinct.filter(~passes)["value"]
    if bad.is_empty():
        return items.clear()
    return items.filter(pl.col("value").is_in(bad.implode()))


# --- required and conditionally required ------------------------------------------


def _required(
    value: pl.DataFrame, column: Column, template: Template, emit
) -> Iterator[pl.DataFrame]:
    empty = pl.col("value").is_null()
    if column.required:
        failures = value.filter(empty)
        if failures.height:
            yield emit(
                failures,
                Severity.ERROR,
                "required",
                f"'{column.name}' is required and this row leaves it empty",
                f"Fill in '{column.name}' on this row.",
            )
        return
    condition = condition_expr(column)
    if condition is None:
        return
    failures = value.filter(empty & condition)
    if failures.height:
        readable = readable_condition(template, column)
        yield emit(
            failures,
            Severity.ERROR,
            "conditional-required",
            f"'{column.name}' is required on this row because {readable}",
            f"Fill in '{column.name}', or change the values that make it required.",
        )


_ATOM = re.compile(
    r"\w+ (?:= '[^']*' \(case-insensitive\)|in \[.*?\] \(case-insensitive\)"
    r"|is not empty|is empty|is not a term of \w+)"
)


def condition_expr(column: Column) -> pl.Expr | None:
    """The column's conditional requirement as a polars boolean expression.

    ImmPort's readable condition gives the AND/OR structure; its atoms are, in
    order, the structured conditions.
    """
    if not column.conditions:
        return None
    text = column.condition_text or ""
    atoms = [_atom(c) for c in column.conditions]
    tokens = _tokens(text, len(atoms))
    if tokens is None:  # no readable structure: ImmPort's flags OR-ed, the rest AND-ed
        flags = [a for a, c in zip(atoms, column.conditions, strict=True) if _is_flag(c)]
        others = [a for a, c in zip(atoms, column.conditions, strict=True) if not _is_flag(c)]
        expr = pl.any_horizontal(flags) if flags else pl.lit(True)
        return pl.all_horizontal([expr, *others])
    position = 0

    def parse_or() -> pl.Expr:
        nonlocal position
        left = parse_and()
        while position < len(tokens) and tokens[position] == "OR":
            position += 1
            left = left | parse_and()
        return left

    def parse_and() -> pl.Expr:
        nonlocal position
        left = parse_atom()
        while position < len(tokens) and tokens[position] == "AND":
            position += 1
            left = left & parse_atom()
        return left

    def parse_atom() -> pl.Expr:
        nonlocal position
        token = tokens[position]
        position += 1
        if token == "(":
            inner = parse_or()
            position += 1  # ")"
            return inner
        return atoms[int(token)]

    return parse_or()


def _tokens(text: str, count: int) -> list[str] | None:
    tokens: list[str] = []
    position, atom = 0, 0
    while position < len(text):
        if text[position] in " ":
            position += 1
        elif text[position] in "()":
            tokens.append(text[position])
            position += 1
        elif text.startswith("AND ", position) or text.startswith("OR ", position):
            word = text[position:].split(" ", 1)[0]
            tokens.append(word)
            position += len(word)
        else:
            match = _ATOM.match(text, position)
            if not match:
                return None
            tokens.append(str(atom))
            atom += 1
            position = match.end()
    return tokens if atom == count else None


def _is_flag(condition: Condition) -> bool:
    return condition.column.endswith("_required")


def _atom(condition: Condition) -> pl.Expr:
    column = pl.col(condition.column)
    lowered = column.str.to_lowercase()
    raw = condition.value
    if condition.op == "ci_equals":
        return (lowered == str(raw).lower()).fill_null(False)
    if condition.op == "ci_in":
        return lowered.is_in([v.lower() for v in raw or []]).fill_null(False)
    if condition.op == "not_empty":
        return column.is_not_null()
    if condition.op == "empty":
        return column.is_null()
    if condition.op == "not_in_preferred_list":
        keys = vocabulary(raw).terms["key"] if raw else pl.Series([], dtype=pl.String)
        return (~lowered.is_in(keys.implode())).fill_null(True)
    raise ValueError(f"unknown condition {condition.op}")


# --- conditions' inputs: ImmPort's row flags and data columns ---------------------


def row_flags(
    path: str, frame: pl.DataFrame, columns: tuple[Column, ...], index: PackageIndex
) -> list[pl.Expr]:
    """The columns conditions read: ``<entity>_required`` flags and data columns.

    ``biosample_required`` is 'Yes' on the row that defines a new biosample: its
    Biosample ID is neither defined by another template of the package nor in the
    workspace nor an accession, and this is the ID's first row in the file.
    """
    by_data = {c.data_column: c for c in columns}
    needed = {cond.column for c in columns for cond in c.conditions}
    exprs = []
    for name in sorted(needed):
        if name in by_data and by_data[name].key in frame.columns:
            if by_data[name].key != name:
                exprs.append(pl.col(by_data[name].key).alias(name))
            continue
        if not name.endswith("_required"):
            exprs.append(pl.lit(None, pl.String).alias(name))
            continue
        table = name.removesuffix("_required")
        id_column = next(
            (c for c in columns if c.db_table == table and c.db_column == "user_defined_id"),
            None,
        )
        if id_column is None or id_column.key not in frame.columns:
            exprs.append(pl.lit("No").alias(name))
            continue
        identifier = pl.col(id_column.key)
        elsewhere = index.existing.get(table, set()) | index.defined_in(table, except_file=path)
        new = (
            identifier.is_not_null()
            & ~identifier.str.to_lowercase().is_in(list(elsewhere))
            & identifier.is_first_distinct()
        )
        if not index.workspace_known:
            # offline, an accession-shaped ID is taken to name a record already loaded
            new = new & ~_looks_like_accession(identifier, table)
        exprs.append(pl.when(new).then(pl.lit("Yes")).otherwise(pl.lit("No")).alias(name))
    return exprs


def _looks_like_accession(value: pl.Expr, table: str) -> pl.Expr:
    prefix = ACCESSION_PREFIXES.get(table)
    if prefix is None:
        return pl.lit(False)
    return value.str.contains(f"^{prefix}\\d+$").fill_null(False)


# --- types, lengths, dates --------------------------------------------------------


def _types(items: pl.DataFrame, column: Column, emit) -> Iterator[pl.DataFrame]:
    if items.height == 0:
        return
    value = pl.col("value")
    if column.is_numeric:
        number = value.cast(pl.Float64, strict=False)
        # polars reads "nan" and "inf" as floats; no instrument reports those
        failures = items.filter(number.is_null() | number.is_nan() | number.is_infinite())
        if failures.height:
            yield emit(
                failures,
                Severity.ERROR,
                "type",
                pl.format("'{}' is not a number", value),
                f"Write a number in '{column.name}' (digits, a decimal point, no units).",
            )
        if "positive" in {column.numeric_type, column.json_type}:
            negative = items.filter(number < 0)
            if negative.height:
                yield emit(
                    negative,
                    Severity.ERROR,
                    "range",
                    pl.format("{} is negative", value),
                    f"'{column.name}' takes zero or a positive number.",
                )
    if column.json_type == "date":
        failures = items.filter(~value.str.contains(_DATE_COLUMN_FORMAT))
        if failures.height:
            yield emit(
                failures,
                Severity.ERROR,
                "type",
                pl.format("'{}' is not a date written dd-MMM-yyyy", value),
                "Write the date as day-month-year with the month's three letters, "
                "e.g. 06-Feb-2005.",
            )
    if column.max_length and not _is_reference(column) and column.type == "varchar":
        # a value has at least as many bytes as characters: count characters of few
        too_long = items.filter(value.str.len_bytes() > column.max_length)
        too_long = too_long.filter(value.str.len_chars() > column.max_length)
        if too_long.height:
            yield emit(
                too_long,
                Severity.ERROR,
                "length",
                pl.format(
                    "the value has {} characters; '{}' holds at most {}",
                    value.str.len_chars(),
                    pl.lit(column.name),
                    pl.lit(column.max_length),
                ),
                f"Shorten the value to {column.max_length} characters.",
            )


def _is_reference(column: Column) -> bool:
    return bool(column.foreign_key_table) or column.db_column in {
        "user_defined_id",
        "study_accession",
        "subject_accession",
        "biosample_accession",
        "experiment_accession",
        "expsample_accession",
        "planned_visit_accession",
        "arm_accession",
        "protocol_accession",
    }


# --- vocabularies -----------------------------------------------------------------


def _vocabulary(items: pl.DataFrame, column: Column, emit) -> Iterator[pl.DataFrame]:
    name = column.vocabulary
    if not name or items.height == 0:
        return
    terms = vocabulary(name)
    keys = terms.terms["key"]
    if column.preferred_mapping_table:
        keys = pl.concat([keys, synonyms(column.preferred_mapping_table)["key"]])
    unmatched = _failing(items, pl.col("value").str.to_lowercase().is_in(keys.implode()))
    if unmatched.height == 0:
        return
    # suggestions cost a fuzzy search each: the most frequent wrong values get them
    distinct = unmatched["value"].value_counts(sort=True).head(_MAX_SUGGESTED)["value"]
    hints = pl.DataFrame(
        {
            "value": distinct,
            "hint": [_did_you_mean(terms.suggestions(v)) for v in distinct.to_list()],
        },
        schema={"value": pl.String, "hint": pl.String},
    )
    failures = unmatched.join(hints, on="value", how="left").with_columns(
        pl.col("hint").fill_null("")
    )
    if column.controlled_vocabulary:
        yield emit(
            failures,
            Severity.ERROR,
            "vocabulary",
            pl.format("'{}' is not a term of {}{}", "value", pl.lit(name), "hint"),
            f"Use one of the terms of {name} (any letter case); see the template's lookup list.",
        )
    else:
        yield emit(
            failures,
            Severity.WARNING,
            "preferred-vocabulary",
            pl.format(
                "'{}' is kept as reported but matches no preferred term of {}{}",
                "value",
                pl.lit(name),
                "hint",
            ),
            f"Nothing to do if the value is right; using a term of {name} lets it be "
            "found by the preferred term.",
        )


def _did_you_mean(suggestions: list[str]) -> str:
    if not suggestions:
        return ""
    return "; did you mean " + " or ".join(f"'{s}'" for s in suggestions) + "?"


# --- references between templates and to the workspace ---------------------------


def reference_target(column: Column, template: Template) -> str | None:
    for reference in template.references:
        if reference.column == column.name:
            return reference.target_table
    return column.foreign_key_table


def _references(
    items: pl.DataFrame, column: Column, template: Template, index: PackageIndex, emit
) -> Iterator[pl.DataFrame]:
    target = reference_target(column, template)
    if target is None or items.height == 0:
        return
    if column.db_column == "user_defined_id" and template.defines(target):
        return  # the column defines its records (inline definitions included)
    known = pl.Series(list(index.known(target)), dtype=pl.String)
    value = pl.col("value")
    resolved = value.str.to_lowercase().is_in(known.implode())
    if not index.workspace_known:
        resolved = resolved | _looks_like_accession(value, target)
    failures = _failing(items, resolved)
    if failures.height:
        where = "in this package or the workspace" if index.workspace_known else "in this package"
        prefix = ACCESSION_PREFIXES.get(target, "")
        yield emit(
            failures,
            Severity.ERROR,
            "reference",
            pl.format(
                "'{}' names no {} defined {}",
                value,
                pl.lit(target.replace("_", " ")),
                pl.lit(where),
            ),
            f"Define it in its template in the same package, or give the accession "
            f"({prefix}…) of a record already loaded.",
        )


def duplicate_ids(path: str, frame: pl.DataFrame, column: Column) -> Iterator[pl.DataFrame]:
    """User-defined IDs must be unique among the records a template defines."""
    if column.key not in frame.columns or frame.height == 0:
        return
    value = pl.col(column.key)
    rows = frame.select(LINE, value.alias("value")).filter(pl.col("value").is_not_null())
    repeated = rows.filter(pl.col("value").str.to_lowercase().is_duplicated()).with_columns(
        pl.col(LINE).min().over(pl.col("value").str.to_lowercase()).alias("first")
    )
    repeated = repeated.filter(pl.col(LINE) != pl.col("first"))
    if repeated.height:
        yield cell_findings(
            repeated,
            severity=Severity.ERROR,
            rule="duplicate-id",
            file=path,
            column=column.name,
            message=pl.format("the ID '{}' was already used on line {}", "value", "first"),
            fix="Give every record its own ID (IDs are compared ignoring letter case).",
        )


def _package_files(
    items: pl.DataFrame, column: Column, index: PackageIndex, emit
) -> Iterator[pl.DataFrame]:
    if not column.names_package_file or items.height == 0:
        return
    present = [name.lower() for name in index.files]
    basename = pl.col("value").str.split("/").list.last().str.to_lowercase()
    failures = items.filter(~basename.is_in(present))
    if failures.height:
        yield emit(
            failures,
            Severity.ERROR,
            "file",
            pl.format("the file '{}' named here is not in the package", "value"),
            "Add the file to the package (ZIP or folder), or correct its name here.",
        )


# --- privacy ----------------------------------------------------------------------


def _privacy(items: pl.DataFrame, column: Column, emit) -> Iterator[pl.DataFrame]:
    if items.height == 0 or column.json_type != "string" or column.vocabulary:
        return
    if _is_reference(column) or column.names_package_file or column.data_column in _CONTACTS:
        return
    if column.max_length is not None and column.max_length < _FREE_TEXT_MIN_LENGTH:
        return
    value = pl.col("value")
    # dates and phone numbers hold digits, e-mail addresses an @: only those are searched
    items = items.filter(value.str.contains(r"\d|@"))
    lowered = value.str.to_lowercase()
    checks = [
        (
            lowered.str.contains(CALENDAR_DATE),
            pl.format(
                "the text contains what looks like a calendar date: '{}'",
                lowered.str.extract(CALENDAR_DATE, 0),
            ),
            "Remove calendar dates: subjects' and samples' time is given relative to the "
            "study (Study Day, Study Time Collected), never as a date.",
        ),
        (
            value.str.contains(EMAIL),
            pl.format("the text contains an e-mail address: '{}'", value.str.extract(EMAIL, 0)),
            "Remove personal contact details from free text; personnel go in study_personnel.",
        ),
        (
            value.str.contains(PHONE),
            pl.format(
                "the text contains what looks like a phone number: '{}'",
                value.str.extract(PHONE, 0),
            ),
            "Remove phone numbers from free text.",
        ),
    ]
    for matches, message, fix in checks:
        failures = items.filter(matches)
        if failures.height:
            yield emit(failures, Severity.WARNING, "privacy", message, fix)


def _ages(path: str, frame: pl.DataFrame, columns: tuple[Column, ...]) -> Iterator[pl.DataFrame]:
    """Ages above 89 years identify people; public views show them as 90."""
    unit = next((c for c in columns if c.data_column == "age_unit"), None)
    for column in columns:
        if column.data_column not in {"min_subject_age", "max_subject_age"}:
            continue
        if column.key not in frame.columns:
            continue
        in_years = (
            pl.col(unit.key).str.to_lowercase().is_in(["years", "year"]).fill_null(True)
            if unit is not None and unit.key in frame.columns
            else pl.lit(True)
        )
        age = pl.col(column.key).cast(pl.Float64, strict=False)
        failures = frame.filter(in_years & (age > _AGE_LIMIT)).select(
            LINE, pl.col(column.key).alias("value")
        )
        if failures.height:
            yield cell_findings(
                failures,
                severity=Severity.WARNING,
                rule="privacy",
                file=path,
                column=column.name,
                message=pl.format("an age of {} years can identify a person", "value"),
                fix=f"Ages above {_AGE_LIMIT} are shown as 90 in public views; give 90 here "
                "unless the exact age is needed privately.",
            )


def _repository_accessions(
    path: str, frame: pl.DataFrame, columns: tuple[Column, ...]
) -> Iterator[pl.DataFrame]:
    name = next((c for c in columns if c.data_column == "repository_name"), None)
    accession = next((c for c in columns if c.data_column == "repository_accession"), None)
    if name is None or accession is None or accession.key not in frame.columns:
        return
    rows = frame.select(
        LINE,
        pl.col(name.key).alias("repository"),
        pl.col(accession.key).alias("value"),
    ).filter(pl.col("value").is_not_null() & pl.col("repository").is_not_null())
    for repository, pattern in REPOSITORY_ACCESSIONS.items():
        failures = rows.filter(
            (pl.col("repository").str.to_lowercase() == repository.lower())
            & ~pl.col("value").str.contains(f"^({pattern})$")
        )
        if failures.height:
            yield cell_findings(
                failures,
                severity=Severity.ERROR,
                rule="repository-accession",
                file=path,
                column=accession.name,
                message=pl.format(
                    "'{}' is not shaped like a {} accession", "value", pl.lit(repository)
                ),
                fix=f"Give the accession exactly as {repository} issued it (pattern {pattern}).",
            )
