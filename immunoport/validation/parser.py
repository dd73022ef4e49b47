"""Read filled ImmPort templates (.txt or .xlsx) into polars frames.

A tabular template becomes one frame: ``_line`` (the line or spreadsheet row a
record came from) and one string column per template column, empty cells null.
Combined-result templates repeat their result group to the right; each repeat
becomes its own row, with ``_group`` numbering the repeat, so every check sees one
value per column. A compound template (basic_study_design, study_design_edit)
becomes one frame per section.

Splitting lines into cells is done by polars on the whole file at once: a million
rows never become a million Python lists.
"""

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from io import BytesIO
from operator import itemgetter

import polars as pl

from immunoport.schema.templates import (
    COLUMN_NAME,
    MARKER_TEXT,
    SCHEMA_VERSION,
    SEPARATOR_COLUMN,
    Section,
    Template,
    template_for_file,
    template_named,
)
from immunoport.validation.findings import Finding, Severity

LINE = "_line"
_STRAY = "_stray"  # the first filled cell right of the header, if any
GROUP = "_group"
_VERSION = re.compile(r"^Schema Version\s+(\d+\.\d+)\s*$", re.IGNORECASE)
_HEADER_SEARCH_LINES = 12
_HEADER_LINES = 3  # name and version, marker, column names (or the first section)
_XLSX_MAGIC = b"PK\x03\x04"


class FileProblem(Exception):
    """A file that cannot be read as a template at all; becomes one finding."""

    def __init__(self, message: str, fix: str, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.line = line


@dataclass
class SectionData:
    section: Section
    data: pl.DataFrame
    line: int
    # vertical sections: the line each field was written on
    field_lines: dict[str, int] = field(default_factory=dict)


@dataclass
class TemplateFile:
    """One parsed template file of a package."""

    path: str
    template: Template
    schema_version: str
    data: pl.DataFrame
    findings: list[Finding] = field(default_factory=list)
    sections: dict[str, SectionData] = field(default_factory=dict)

    @property
    def row_count(self) -> int:
        if self.sections:
            return sum(s.data.height for s in self.sections.values())
        return self.data[LINE].n_unique() if self.data.height else 0


def parse_file(path: str, raw: bytes) -> TemplateFile:
    """Parse one template file named ``path`` (inside its package) from its bytes."""
    if not raw:
        raise FileProblem("the file is empty", "Export the template again with its header lines.")
    if path.lower().endswith(".xlsx"):
        if not raw.startswith(_XLSX_MAGIC):
            raise FileProblem(
                "the file is named .xlsx but is not an Excel workbook",
                "Save it from Excel as an .xlsx workbook, or name it .txt if it is text.",
            )
        rows = _xlsx_rows(raw)
        findings: list[Finding] = []
        head = [[_text(c) for c in row] for row in rows[:_HEADER_SEARCH_LINES]]
        text = b""
    else:
        if raw.startswith(_XLSX_MAGIC):
            raise FileProblem(
                "the file is named .txt but is an Excel workbook or a ZIP archive",
                "Save it from Excel as 'Text (Tab delimited)', or name it .xlsx.",
            )
        text, findings = _decode(path, raw)
        breaks = text.count(b"\n")
        if not text.endswith(b"\n") and breaks < _HEADER_LINES:
            raise FileProblem(
                f"the file ends on line {breaks + 1}, before its header is "
                "complete: it seems cut short",
                "Upload the whole file again; its first three lines (name and version, "
                "the marker line, the column names) must be complete.",
            )
        head = [line.split("\t") for line in _head_lines(text)]
        rows = None

    template, version, version_findings = _identify(path, head)
    findings += version_findings
    if template.is_compound:
        lines = (
            [line.split("\t") for line in _lines(text.decode())["raw"].to_list()]
            if rows is None
            else [[_text(c) for c in row] for row in rows]
        )
        return _parse_compound(path, template, version, lines, findings)

    header_index = _header_index(path, head)
    header = [cell.strip() for cell in head[header_index][1:]]
    while header and not header[-1]:
        header.pop()
    if rows is None:
        cells = _read_cells(text, header_index, len(head[header_index]), len(header))
        if cells is None:  # an irregular file: split it line by line
            cells = _split_text(_lines(text.decode()), header_index, len(header))
    else:
        cells = _xlsx_cells(rows, header_index, len(header))
    findings += _shape_findings(path, cells, len(header))
    parsed = _tabular(path, template, version, header, cells, header_index + 1)
    parsed.findings = findings + parsed.findings
    return parsed


def _decode(path: str, raw: bytes) -> tuple[bytes, list[Finding]]:
    """The file's text as UTF-8 bytes without a byte-order mark (Latin-1 is converted)."""
    sample = raw[:65536]
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileProblem(
            "the file is UTF-16 text (Excel's 'Unicode Text'), which is not read",
            "Save it as 'Text (Tab delimited)' in UTF-8, or upload the .xlsx workbook.",
        )
    if b"\x00" in sample or _control_ratio(sample) > 0.05:
        raise FileProblem(
            "the file is binary, not tab-separated text",
            "Upload the template as tab-separated text (.txt) or as an Excel workbook (.xlsx).",
        )
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if not raw.strip():
        raise FileProblem("the file is empty", "Export the template again with its header lines.")
    if b"\r" in raw and raw.count(b"\r") != raw.count(b"\r\n"):
        # classic Mac line endings (a lone CR ends a line)
        raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    try:
        raw.decode("utf-8")  # only checks: the text is split by polars, from the bytes
        return raw, []
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        warning = Finding(
            Severity.WARNING,
            "encoding",
            path,
            line,
            None,
            None,
            "the file is not UTF-8; it was read as Latin-1 (first non-UTF-8 byte on this line)",
            "Save the file as UTF-8 so that accented characters are stored as intended.",
        )
        return raw.decode("latin-1").encode("utf-8"), [warning]


def _control_ratio(sample: bytes) -> float:
    if not sample:
        return 0.0
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 13))
    return controls / len(sample)


def _head_lines(text: bytes) -> list[str]:
    """The first lines, as ``_lines`` splits them, without splitting the whole text."""
    lines: list[str] = []
    start = 0
    while len(lines) < _HEADER_SEARCH_LINES:
        end = text.find(b"\n", start)
        line = text[start:] if end < 0 else text[start:end]
        lines.append(line.decode().removesuffix("\r"))
        if end < 0:
            break
        start = end + 1
    return lines


def _lines(text: str) -> pl.DataFrame:
    return (
        pl.DataFrame({"raw": [text]})
        .select(pl.col("raw").str.split("\n"))
        .explode("raw")
        .with_row_index(LINE, offset=1)
        .with_columns(pl.col("raw").str.strip_suffix("\r"))
    )


def _identify(path: str, head: list[list[str]]) -> tuple[Template, str, list[Finding]]:
    by_name = template_for_file(path)
    first = [cell.strip() for cell in head[0]] if head else []
    internal = first[0] if first else ""
    by_content = template_named(internal) if internal else None
    # ImmPort recognises a file by its name; cell A1 must agree with it
    template = by_name or by_content
    if template is None:
        raise FileProblem(
            f"'{internal}' in cell A1 is not the name of an ImmPort template",
            "Start from a blank template of this schema version and keep its first two lines.",
            line=1,
        )
    findings = []
    if by_name is None:
        findings.append(
            Finding(
                Severity.ERROR,
                "header",
                path,
                1,
                None,
                internal,
                f"the file name is not one of ImmPort's template names; cell A1 says it is "
                f"{template.file_name}",
                f"Rename the file to {template.file_name} (a browser may have added a suffix "
                "such as ' (1)').",
            )
        )
    elif internal.lower() != template.name:
        findings.append(
            Finding(
                Severity.ERROR,
                "header",
                path,
                1,
                None,
                internal or None,
                (
                    f"the file is named like {template.file_name} but cell A1 says "
                    f"'{internal}', the template {by_content.file_name}"
                    if by_content
                    else f"cell A1 of {template.file_name} must read '{template.name}'"
                ),
                f"Write '{template.name}' in cell A1, or use the blank template of the file "
                "you meant.",
            )
        )
    second = head[1][0].strip() if len(head) > 1 and head[1] else ""
    if second != MARKER_TEXT:
        findings.append(
            Finding(
                Severity.ERROR,
                "header",
                path,
                2,
                "A",
                second or None,
                f"line 2 must begin with '{MARKER_TEXT}'",
                "Restore the second line of the blank template.",
            )
        )
    version_cell = first[1] if len(first) > 1 else ""
    match = _VERSION.match(version_cell)
    if not match:
        raise FileProblem(
            f"line 1 must read '{template.name}<TAB>Schema Version {SCHEMA_VERSION}', "
            f"found {version_cell!r} after the template name",
            "Restore the first line of the blank template; do not edit the version tag.",
            line=1,
        )
    return template, match.group(1), findings


def _header_index(path: str, head: list[list[str]]) -> int:
    for index, cells in enumerate(head):
        if cells and cells[0].strip() == COLUMN_NAME:
            return index
    raise FileProblem(
        f"no line starts with '{COLUMN_NAME}', so the columns cannot be found",
        f"Keep the header line of the blank template: '{COLUMN_NAME}' in column A, "
        "then the column names.",
    )


def _split_text(lines: pl.DataFrame, header_index: int, width: int) -> pl.DataFrame:
    """Data lines after the header, one string column per cell position."""
    data = lines.slice(header_index + 1).filter(
        pl.col("raw").str.replace_all(r"[\t ]", "").str.len_bytes() > 0
    )
    fields = pl.col("raw").str.split("\t")
    return data.select(
        LINE,
        # cells up to the last filled one: empty cells trailing to the right are no stray cells
        pl.col("raw").str.strip_chars_end().str.split("\t").list.len().alias("_cells"),
        fields.list.slice(width + 1)
        .list.eval(pl.element().str.strip_chars())
        .list.eval(pl.element().filter(pl.element() != ""))
        .list.first()
        .alias(_STRAY),
        *(_clean(fields.list.get(i, null_on_oob=True)).alias(f"c{i}") for i in range(width + 1)),
    )


def _read_cells(
    text: bytes, header_index: int, header_cells: int, width: int
) -> pl.DataFrame | None:
    """What ``_split_text`` makes of the lines, read by polars' CSV reader in one pass.

    None when the file is irregular: a carriage return that does not end a line, or a
    row with more cells than the header line. The header line is read as the first
    row so that the reader expects its number of cells. Reading, cleaning and
    dropping empty rows stream through polars together, so that only the result is
    ever whole in memory.
    """
    if b"\r" in text and text.count(b"\r") != text.count(b"\r\n"):
        return None
    names = [f"c{i}" for i in range(header_cells)]
    first = header_index + 2  # the line after the header
    cells = [_clean(pl.col(name)).alias(name) for name in names]
    query = (
        pl.scan_csv(
            text,
            skip_lines=header_index,
            has_header=False,
            new_columns=names,
            separator="\t",
            quote_char=None,
            infer_schema=False,
            raise_if_empty=False,
        )
        .slice(1)
        .with_row_index(LINE, offset=first)
        .select(LINE, *cells)
        .filter(pl.any_horizontal(pl.col(name).is_not_null() for name in names))
        .select(
            LINE,
            # cells up to the last filled one (see _split_text)
            pl.max_horizontal(
                pl.when(pl.col(name).is_not_null()).then(pl.lit(i + 1, pl.UInt32))
                for i, name in enumerate(names)
            ).alias("_cells"),
            (
                pl.coalesce(names[width + 1 :])
                if len(names) > width + 1
                else pl.lit(None, pl.String)
            ).alias(_STRAY),
            *names[: width + 1],
        )
    )
    try:
        frame = query.collect(engine="streaming")
    except pl.exceptions.PolarsError:  # more cells on a row than on the header line
        return None
    # lines of whitespace alone were dropped above; _split_text keeps those holding
    # more than tabs and spaces, as rows without values
    last = text.count(b"\n") + (0 if text.endswith(b"\n") else 1)
    if frame.height < last - first + 1:
        kept = _lines_with_text(text, _missing(frame[LINE], first, last))
        if kept.len():
            empty = pl.DataFrame(
                {LINE: kept, "_cells": pl.repeat(1, kept.len(), dtype=pl.UInt32, eager=True)}
            ).with_columns(
                pl.lit(None, pl.String).alias(name) for name in [_STRAY, *names[: width + 1]]
            )
            frame = pl.concat([frame, empty]).sort(LINE)
    return frame


def _missing(lines: pl.Series, first: int, last: int) -> list[int]:
    """The line numbers from ``first`` to ``last`` that ``lines`` lacks."""
    every = pl.int_range(first, last + 1, dtype=pl.UInt32, eager=True)
    return every.filter(~every.is_in(lines.implode())).to_list()


def _lines_with_text(text: bytes, numbers: list[int]) -> pl.Series:
    """Of the given line numbers, those whose line holds more than tabs and spaces."""
    import numpy as np  # only for such rare lines; importing it takes a while

    ends = np.flatnonzero(np.frombuffer(text, dtype=np.uint8) == ord("\n"))
    starts = np.concatenate(([0], ends + 1))
    ends = np.concatenate((ends, [len(text)]))
    kept = []
    for number in numbers:
        line = text[starts[number - 1] : ends[number - 1]].removesuffix(b"\r")
        if line.replace(b"\t", b"").replace(b" ", b""):
            kept.append(number)
    return pl.Series(LINE, kept, dtype=pl.UInt32)


def _clean(cell: pl.Expr) -> pl.Expr:
    stripped = cell.str.strip_chars()
    return pl.when(stripped == "").then(None).otherwise(stripped)


def _xlsx_rows(raw: bytes) -> list[list]:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(BytesIO(raw))
        return workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception as error:  # calamine raises its own error types for broken workbooks
        raise FileProblem(
            f"the workbook cannot be read ({error})",
            "Open it in Excel or LibreOffice and save it again as .xlsx.",
        ) from None


def _text(value: object) -> str:
    """A spreadsheet cell as the text a person typed."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%d-%b-%Y") if value.time() == time() else value.isoformat()
    if isinstance(value, date):
        return value.strftime("%d-%b-%Y")
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


def _texts(values: tuple | list) -> list[str | None]:
    """``_text`` of each cell, with text and numbers (most cells) taken the short way."""
    texts: list[str | None] = []
    append = texts.append
    for value in values:
        kind = type(value)
        if kind is str or value is None:
            append(value)  # _clean makes no value of "" and None alike
        elif kind is float:
            append(str(int(value)) if value.is_integer() else str(value))
        else:
            append(_text(value))
    return texts


def _xlsx_cells(rows: list[list], header_index: int, width: int) -> pl.DataFrame:
    data = rows[header_index + 1 :]
    lines = pl.Series(LINE, range(header_index + 2, header_index + 2 + len(data)), pl.Int64)
    # the columns as zip(*data) gives them (as wide as the narrowest row), much faster
    shared = min(map(len, data)) if data else 0
    columns = [list(map(itemgetter(i), data)) for i in range(shared)]
    series = []
    for i in range(width + 1):
        values = columns[i] if i < len(columns) else [None] * len(data)
        try:
            column = pl.Series(f"c{i}", values, dtype=pl.String)
        except (TypeError, pl.exceptions.PolarsError):
            column = pl.Series(f"c{i}", _texts(values), dtype=pl.String)
        series.append(column)
    counts = pl.Series("_cells", [width + 1] * len(data), pl.Int64)
    strays = pl.Series(
        _STRAY, [None] * len(data), pl.String
    )  # cells right of the header are not read
    frame = pl.DataFrame([lines, counts, strays, *series]).with_columns(
        _clean(pl.col(s.name)).alias(s.name) for s in series
    )
    cell_columns = [s.name for s in series[1:]] or ["c0"]
    return frame.filter(pl.any_horizontal(pl.col(c).is_not_null() for c in ["c0", *cell_columns]))


def _shape_findings(path: str, cells: pl.DataFrame, width: int) -> list[Finding]:
    findings = []
    extra = cells.filter(pl.col("_cells") > width + 1)
    for line, count, stray in extra.select(LINE, "_cells", _STRAY).head(20).iter_rows():
        findings.append(
            Finding(
                Severity.ERROR,
                "header",
                path,
                line,
                None,
                stray,
                f"the row has {count - 1} cells after column A but the header names {width}; "
                f"the first stray cell holds '{stray}'",
                "Remove the stray cells to the right, or add the missing column to the header.",
            )
        )
    shifted = cells.filter(pl.col("c0").is_not_null())
    for line, value in shifted.select(LINE, "c0").head(20).iter_rows():
        findings.append(
            Finding(
                Severity.ERROR,
                "header",
                path,
                line,
                "A",
                value,
                "column A of a data row must stay empty; the values may be shifted one column "
                "to the left",
                "Leave column A empty and start the values in column B, under the header.",
            )
        )
    return findings


def _tabular(
    path: str,
    template: Template,
    version: str,
    header: list[str],
    cells: pl.DataFrame,
    header_line: int,
) -> TemplateFile:
    findings: list[Finding] = []
    metadata_names = {c.name for c in template.columns if c.part != "result"}
    result_names = set(template.repeatable_result_columns)
    separator_at = header.index(SEPARATOR_COLUMN) if SEPARATOR_COLUMN in header else None
    metadata: dict[str, int] = {}
    groups: list[dict[str, int]] = []

    def finding(name: str, problem: str) -> None:
        findings.append(_header_finding(path, name, problem, template, header_line))

    for index, name in enumerate(header, start=1):
        if separator_at is not None:
            in_results = index - 1 > separator_at
        else:  # no separator: result columns are told apart by name
            in_results = name in result_names and (name not in metadata_names or name in metadata)
        if in_results and name in result_names:
            if not groups or name in groups[-1]:
                groups.append({})
            groups[-1][name] = index
        elif name in metadata:
            finding(name, "duplicated")
        elif name in metadata_names:
            metadata[name] = index
        elif name in result_names:
            finding(name, "misplaced")
        elif name:
            finding(name, "unknown")
        else:
            finding(f"(empty, column {index + 1})", "empty")
    expected = [c.name for c in template.columns if c.part != "result"]
    missing = [name for name in expected if name not in metadata]
    if result_names and not groups:
        missing += list(template.repeatable_result_columns)
    else:
        for group in groups:
            missing += [c for c in template.repeatable_result_columns if c not in group]
    for name in dict.fromkeys(missing):
        finding(name, "missing")
    if version != template.schema_version:
        findings.append(_version_finding(path, template, version, header_matches=not missing))

    keys = {c.name: c.key for c in template.columns if c.part != "result"}
    result_keys = {c.name: c.key for c in template.columns if c.part == "result"}
    base = [pl.col(LINE), *(pl.col(f"c{i}").alias(keys[name]) for name, i in metadata.items())]
    if groups:
        frames = [
            cells.select(
                *base,
                pl.lit(number, pl.Int32).alias(GROUP),
                *(pl.col(f"c{i}").alias(result_keys[name]) for name, i in group.items()),
            )
            for number, group in enumerate(groups)
        ]
        stacked = pl.concat(frames, how="diagonal")
        result_columns = [k for k in result_keys.values() if k in stacked.columns]
        # a repeat left empty on a row is no result; the first repeat always stays
        filled = pl.any_horizontal(pl.col(k).is_not_null() for k in result_columns)
        data = stacked.filter((pl.col(GROUP) == 0) | filled).sort(LINE, GROUP)
    else:
        data = cells.select(base)
    for column in template.columns:
        if column.key not in data.columns and not column.is_pseudo:
            data = data.with_columns(pl.lit(None, pl.String).alias(column.key))
    return TemplateFile(
        path=path,
        template=template,
        schema_version=version,
        data=data,
        findings=findings,
    )


def _header_finding(path: str, name: str, problem: str, template: Template, line: int) -> Finding:
    messages = {
        "unknown": (
            f"'{name}' is not a column of {template.file_name}",
            "Check the spelling against the blank template, or remove the column.",
        ),
        "duplicated": (
            f"the column '{name}' appears more than once",
            "Keep one column of that name and move its values into it.",
        ),
        "missing": (
            f"the column '{name}' is missing from the header",
            "Add the column back in its place (copy the header line of the blank template); "
            "leave its cells empty if you have no values.",
        ),
        "empty": (
            f"a header cell is empty: {name}",
            "Give the column its template name, or remove the empty column.",
        ),
        "misplaced": (
            f"the result column '{name}' stands left of '{SEPARATOR_COLUMN}'",
            f"Move it right of '{SEPARATOR_COLUMN}', into the result group.",
        ),
    }
    message, fix = messages[problem]
    severity = Severity.ERROR if problem != "empty" else Severity.WARNING
    return Finding(severity, "header", path, line, name, None, message, fix)


def _version_finding(path: str, template: Template, version: str, header_matches: bool) -> Finding:
    if header_matches:
        return Finding(
            Severity.WARNING,
            "header",
            path,
            1,
            None,
            f"Schema Version {version}",
            f"the file was made for schema {version}; it was read as "
            f"{template.schema_version} because its columns match",
            f"Copy your rows into a blank {template.schema_version} template when you can.",
        )
    return Finding(
        Severity.ERROR,
        "header",
        path,
        1,
        None,
        f"Schema Version {version}",
        f"the file was made for schema {version} and its columns differ from "
        f"{template.schema_version}",
        f"Copy your rows into a blank {template.schema_version} template.",
    )


def _parse_compound(
    path: str, template: Template, version: str, lines: list[list[str]], findings: list[Finding]
) -> TemplateFile:
    sections = {s.name: s for s in template.sections}
    parsed: dict[str, SectionData] = {}
    current: Section | None = None
    rows: list[tuple[int, list[str]]] = []
    start = 0

    def close() -> None:
        if current is not None:
            parsed[current.name] = _section_data(path, current, start, rows, findings)

    for number, cells in enumerate(lines, start=1):
        values = [c.strip() for c in cells]
        filled = [v for v in values if v]
        if number <= 3 or not filled:
            continue
        if len(filled) == 1 and values[0] in sections:
            close()
            current, rows, start = sections[values[0]], [], number
            if current.name in parsed:
                findings.append(
                    Finding(
                        Severity.ERROR, "header", path, number, None, current.name,
                        f"the section '{current.name}' appears twice",
                        "Keep one copy of the section and put all its rows there.",
                    )
                )  # fmt: skip
            continue
        if current is None:
            findings.append(
                Finding(
                    Severity.ERROR, "header", path, number, None, values[0],
                    f"'{values[0]}' is not a section of {template.file_name}",
                    "Each section starts with its name alone on a line, as in the blank template.",
                )
            )  # fmt: skip
            continue
        rows.append((number, values))
    close()
    for section in template.sections:
        if section.required and section.name not in parsed:
            findings.append(
                Finding(
                    Severity.ERROR, "header", path, None, None, section.name,
                    f"the required section '{section.name}' is missing",
                    f"Add the '{section.name}' section from the blank template and fill it in.",
                )
            )  # fmt: skip
    if version != template.schema_version:
        findings.append(_version_finding(path, template, version, header_matches=True))
    return TemplateFile(
        path=path,
        template=template,
        schema_version=version,
        data=pl.DataFrame(),
        findings=findings,
        sections=parsed,
    )


def _section_data(
    path: str,
    section: Section,
    start: int,
    rows: list[tuple[int, list[str]]],
    findings: list[Finding],
) -> SectionData:
    names = [c.name for c in section.columns]
    if section.layout == "vertical":
        values: dict[str, list[str | None]] = {}
        field_lines: dict[str, int] = {}
        for number, cells in rows:
            label, rest = cells[0], [c for c in cells[1:] if c]
            if label not in names:
                findings.append(_section_label_finding(path, section, number, label))
                continue
            values.setdefault(label, []).extend(rest)
            field_lines.setdefault(label, number)
        depth = max((len(v) for v in values.values()), default=0)
        if not section.multiple_values and depth > 1:
            for label, items in values.items():
                if len(items) > 1:
                    findings.append(
                        Finding(
                            Severity.ERROR, "list", path, field_lines[label], label, items[1],
                            f"'{label}' takes one value in this section; found {len(items)}",
                            "Keep one value on the line.",
                        )
                    )  # fmt: skip
            depth = 1
        height = depth  # a section whose fields are all empty holds no record
        data = pl.DataFrame(
            {
                LINE: [field_lines.get(names[0], start + 1)] * height,
                **{
                    name: [
                        (values.get(name) or [None] * height)[i]
                        if i < len(values.get(name) or [])
                        else None
                        for i in range(height)
                    ]
                    for name in names
                },
            },
            schema={LINE: pl.Int64, **dict.fromkeys(names, pl.String)},
        )
        return SectionData(section, data, start, field_lines)

    if not rows:
        return SectionData(section, _empty_section(names), start)
    (header_line, header), *body = rows
    header = list(header)
    while header and not header[-1]:
        header.pop()
    for name in header:
        if name not in names:
            findings.append(_section_label_finding(path, section, header_line, name))
    for name in names:
        if name not in header:
            findings.append(
                Finding(
                    Severity.ERROR, "header", path, header_line, name, None,
                    f"the column '{name}' is missing from section '{section.name}'",
                    "Copy the section's header line from the blank template.",
                )
            )  # fmt: skip
    index = {name: header.index(name) for name in names if name in header}
    for number, cells in body:
        stray = [c for c in cells[len(header) :] if c]
        if stray:
            findings.append(
                Finding(
                    Severity.ERROR, "header", path, number, None, stray[0],
                    f"the row has {len(header) + len(stray)} cells but section "
                    f"'{section.name}' names {len(header)} columns",
                    "Remove the stray cells to the right, or add the missing column.",
                )
            )  # fmt: skip
    records = [
        {
            LINE: number,
            **{name: (cells[i] or None) if i < len(cells) else None for name, i in index.items()},
        }
        for number, cells in body
    ]
    if not records:
        return SectionData(section, _empty_section(names), start)
    data = pl.DataFrame(records, schema={LINE: pl.Int64, **dict.fromkeys(index, pl.String)})
    for name in names:
        if name not in data.columns:
            data = data.with_columns(pl.lit(None, pl.String).alias(name))
    return SectionData(section, data, start)


def _empty_section(names: list[str]) -> pl.DataFrame:
    return pl.DataFrame(schema={LINE: pl.Int64, **dict.fromkeys(names, pl.String)})


def _section_label_finding(path: str, section: Section, line: int, label: str) -> Finding:
    return Finding(
        Severity.ERROR,
        "header",
        path,
        line,
        label,
        None,
        f"'{label}' is not a field of section '{section.name}'",
        "Check the spelling against the blank template.",
    )
