"""Rows of ImmPort package files and of the database, counted without the importer."""

from pathlib import Path

from immunoport.studies.registry import models_by_table

# The one table DR16 names differently (its rows are the same links).
RENAMED_TABLES = {"biosample_2_expsample": "expsample_2_biosample"}


def _table_files(package: Path) -> list[Path]:
    """``<SDY>/<SDY>-DRnn_<Format>/<Format>/<table>.txt``, lookups left out."""
    return [p for p in sorted(package.glob("*/*/*.txt")) if not p.stem.startswith("lk_")]


def _records(path: Path) -> list[str]:
    text = path.read_text()
    if path.parent.name == "MySQL":
        # No header; every row ends with the terminator.
        return text.split("~@@~\n")[:-1]
    return [line for line in text.splitlines()[1:] if line]  # Tab: a header row first


def _package_rows(package: Path) -> dict[str, list[str]]:
    """Rows per study table of one package, with the links an older package leaves
    implicit: a DR16 package's contract_grant rows are its study's grants, written to
    contract_grant_2_study by the import (one "<grant id>|<study>" row each)."""
    tables = models_by_table()
    rows: dict[str, list[str]] = {}
    for path in _table_files(package):
        table = RENAMED_TABLES.get(path.stem, path.stem)
        if table in tables:
            rows.setdefault(table, []).extend(_records(path))
    if rows.get("contract_grant") and "contract_grant_2_study" not in rows:
        grants = [row.split("\t", 1)[0] for row in rows["contract_grant"]]
        rows["contract_grant_2_study"] = [f"{grant}|{package.name}" for grant in grants]
    return rows


def row_counts(package: Path) -> dict[str, int]:
    """Rows per study table in one package folder: tables the model has, non-empty."""
    return {table: len(rows) for table, rows in _package_rows(package).items() if rows}


def distinct_rows(*packages: Path) -> dict[str, set[str]]:
    """Distinct rows per study table across packages: records several ship are identical."""
    rows: dict[str, set[str]] = {}
    for package in packages:
        for table, records in _package_rows(package).items():
            rows.setdefault(table, set()).update(records)
    return {table: records for table, records in rows.items() if records}


def database_counts() -> dict[str, int]:
    """Rows per study table in the database, non-empty tables only."""
    counts = {table: model._default_manager.count() for table, model in models_by_table().items()}
    return {table: n for table, n in counts.items() if n}
