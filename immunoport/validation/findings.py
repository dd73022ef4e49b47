"""What the validator reports: findings that say where a problem is and how to fix it."""

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

import polars as pl

FINDING_COLUMNS = {
    "severity": pl.String,
    "rule": pl.String,
    "file": pl.String,
    "line": pl.Int64,
    "column": pl.String,
    "value": pl.String,
    "message": pl.String,
    "fix": pl.String,
}


class Severity(StrEnum):
    ERROR = "error"  # the package cannot be loaded until it is fixed
    WARNING = "warning"  # loads, but someone should look


@dataclass(frozen=True)
class Finding:
    severity: Severity
    rule: str
    file: str
    line: int | None
    column: str | None
    value: str | None
    message: str
    fix: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"severity": str(self.severity)}


def findings_frame(findings: list[Finding]) -> pl.DataFrame:
    return pl.DataFrame([f.as_dict() for f in findings], schema=FINDING_COLUMNS)


def cell_findings(
    failures: pl.DataFrame,
    *,
    severity: Severity,
    rule: str,
    file: str,
    column: str,
    message: str | pl.Expr,
    fix: str | pl.Expr,
) -> pl.DataFrame:
    """Findings for many cells at once: ``failures`` has ``_line`` and ``value``.

    ``message`` and ``fix`` are text or polars expressions over ``value`` (for
    messages that quote the cell), so a million bad cells never become a million
    Python objects.
    """

    def expr(text: str | pl.Expr) -> pl.Expr:
        return text if isinstance(text, pl.Expr) else pl.lit(text)

    return failures.select(
        pl.lit(str(severity)).alias("severity"),
        pl.lit(rule).alias("rule"),
        pl.lit(file).alias("file"),
        pl.col("_line").cast(pl.Int64).alias("line"),
        pl.lit(column).alias("column"),
        pl.col("value").cast(pl.String),
        expr(message).cast(pl.String).alias("message"),
        expr(fix).cast(pl.String).alias("fix"),
    )


class UnusableInput(Exception):
    """The input cannot be read as a package at all (exit code 2 of the CLI)."""
