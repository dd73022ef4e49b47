"""A validation report as text for the terminal, JSON for programs, or HTML.

Findings are grouped by file; the text and HTML forms show the first findings of
each rule in a file and count the rest, so a million bad cells stay readable.
"""

import html
import json
from pathlib import Path
from typing import Any

import polars as pl

from immunoport.validation.validator import Report

SCHEMA_PATH = Path(__file__).resolve().parent / "report.schema.json"
SHOWN_PER_RULE = 20


def report_schema() -> dict[str, Any]:
    """The JSON schema every ``--format json`` report follows."""
    return json.loads(SCHEMA_PATH.read_text())


def as_dict(report: Report) -> dict[str, Any]:
    return {
        "package": report.package,
        "valid": report.is_valid,
        "summary": {
            "files": len(report.files),
            "rows": sum(f.rows for f in report.files),
            "errors": report.errors,
            "warnings": report.warnings,
        },
        "files": [
            {
                "path": f.path,
                "template": f.template,
                "rows": f.rows,
                "schema_version": f.schema_version,
            }
            for f in report.files
        ],
        "findings": report.findings.to_dicts(),
    }


def as_json(report: Report) -> str:
    return json.dumps(as_dict(report), indent=2, ensure_ascii=False)


def shown_findings(report: Report) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The first findings of each rule per file, and how many of each were left out."""
    numbered = report.findings.with_columns(
        pl.int_range(pl.len()).over("file", "rule").alias("_n"),
        pl.len().over("file", "rule").alias("_total"),
    )
    shown = numbered.filter(pl.col("_n") < SHOWN_PER_RULE).drop("_n", "_total")
    hidden = (
        numbered.filter(pl.col("_total") > SHOWN_PER_RULE)
        .group_by("file", "rule", maintain_order=True)
        .agg((pl.col("_total").first() - SHOWN_PER_RULE).alias("more"))
    )
    return shown, hidden


def _where(finding: dict[str, Any]) -> str:
    parts = []
    if finding["line"] is not None:
        parts.append(f"line {finding['line']}")
    if finding["column"] is not None:
        parts.append(f"column '{finding['column']}'")
    return ", ".join(parts) or "file"


def as_text(report: Report) -> str:
    verdict = "valid" if report.is_valid else "NOT valid"
    lines = [
        f"{report.package}: {verdict} — {report.errors:,} errors, {report.warnings:,} warnings "
        f"in {len(report.files)} files ({sum(f.rows for f in report.files):,} rows)",
    ]
    shown, hidden = shown_findings(report)
    by_file = {f.path: f for f in report.files}
    for (path,), group in shown.group_by("file", maintain_order=True):
        summary = by_file.get(str(path))
        template = f" ({summary.template}, {summary.rows:,} rows)" if summary else ""
        lines += ["", f"{path}{template}"]
        for finding in group.iter_rows(named=True):
            lines.append(f"  {finding['severity']:<7} {_where(finding)}: {finding['message']}")
            lines.append(f"          fix: {finding['fix']}")
        for row in hidden.filter(pl.col("file") == path).iter_rows(named=True):
            lines.append(f"  … and {row['more']:,} more '{row['rule']}' findings in this file")
    return "\n".join(lines) + "\n"


def as_html(report: Report) -> str:
    """A standalone page: the same report, readable in a browser."""
    e = html.escape
    shown, hidden = shown_findings(report)
    rows = "\n".join(
        "<tr class='{severity}'><td>{severity}</td><td>{file}</td><td>{line}</td>"
        "<td>{column}</td><td>{value}</td><td>{message}</td><td>{fix}</td></tr>".format(
            **{k: e("" if v is None else str(v)) for k, v in finding.items()}
        )
        for finding in shown.iter_rows(named=True)
    )
    more = "".join(
        f"<li>{e(row['file'])}: {row['more']:,} more '{e(row['rule'])}' findings</li>"
        for row in hidden.iter_rows(named=True)
    )
    verdict = "valid" if report.is_valid else "not valid"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Validation of {e(report.package)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: .3rem .5rem; }}
tr.error td:first-child {{ color: #a40000; font-weight: bold; }}
tr.warning td:first-child {{ color: #8a5a00; }}
</style></head><body>
<h1>{e(report.package)} is {verdict}</h1>
<p>{report.errors:,} errors, {report.warnings:,} warnings in {len(report.files)} files.</p>
<table><thead><tr><th>Severity</th><th>File</th><th>Line</th><th>Column</th><th>Value</th>
<th>Problem</th><th>How to fix it</th></tr></thead>
<tbody>
{rows}
</tbody></table>
<ul>{more}</ul>
</body></html>
"""


RENDERERS = {"text": as_text, "json": as_json, "html": as_html}
