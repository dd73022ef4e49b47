"""Filled upload templates written as text, in ImmPort's layout.

The inverse of the validator's parser: rows (column key -> text) become the file a
provider would upload. The study registration wizard exports with it, and the tests
build packages with it. Values cannot hold tabs or line breaks: the layout has no
quoting, so callers flatten them first (``flatten``).
"""

import re

import polars as pl

from immunoport.schema.templates import COLUMN_NAME, MARKER_TEXT, Template

_BREAKS = re.compile(r"[\t\r\n]+")


def flatten(value: str) -> str:
    """``value`` with tabs and line breaks turned into single spaces, trimmed."""
    return _BREAKS.sub(" ", value).strip()


def cells(frame: pl.DataFrame) -> list[str]:
    """Each row as tab-joined cells; empty cells for nulls."""
    breaks = frame.select(pl.any_horizontal(pl.all().str.contains(r"[\t\r\n]").any())).item()
    if breaks:
        raise ValueError("a value holds a tab or a line break; the template layout cannot hold it")
    line = pl.concat_str([pl.col(c).fill_null("") for c in frame.columns], separator="\t")
    return frame.select(line).to_series().to_list()


def tabular_text(template: Template, rows: pl.DataFrame) -> str:
    """A one-table template (protocols.txt, subjectHumans.txt, ...) holding ``rows``."""
    lines = [
        f"{template.name}\tSchema Version {template.schema_version}",
        MARKER_TEXT,
        *template.extra_header_lines,
        "\t".join([COLUMN_NAME, *template.header]),
        *("\t" + line for line in cells(rows.select(c.key for c in template.columns))),
    ]
    return "\n".join(lines) + "\n"


def compound_text(template: Template, sections: dict[str, pl.DataFrame]) -> str:
    """A compound template (basic_study_design.txt) holding each section's rows;
    optional sections without rows are left out."""
    lines = [
        f"{template.name}\tSchema Version {template.schema_version}",
        f"{MARKER_TEXT}\t{template.description}",
        COLUMN_NAME,
        "",
        "",
    ]
    for section in template.sections:
        rows = sections[section.name]
        if not section.required and rows.height == 0:
            continue
        lines.append(section.name)
        if section.layout == "vertical":
            for column in section.columns:
                values = rows[column.key].drop_nulls().to_list()
                lines.append("\t".join([column.name, *(values or [""])]))
        else:
            lines.append("\t".join(c.name for c in section.columns))
            lines += cells(rows.select(c.key for c in section.columns))
        lines.append("")
    return "\n".join(lines) + "\n"
