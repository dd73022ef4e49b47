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


def row_counts(package: Path) -> dict[str, int]:
    """Rows per study table in one package folder: tables the model has, non-empty."""
    tables = models_by_table()
    counts = {}
    for path in _table_files(package):
        table = RENAMED_TABLES.get(path.stem, path.stem)
        if table in tables and (rows := len(_records(path))):
            counts[table] = rows
    return counts


def distinct_rows(*packages: Path) -> dict[str, set[str]]:
    """Distinct rows per study table across packages: records several ship are identical."""
    tables = models_by_table()
    rows: dict[str, set[str]] = {}
    for package in packages:
        for path in _table_files(package):
            table = RENAMED_TABLES.get(path.stem, path.stem)
            if table in tables:
                rows.setdefault(table, set()).update(_records(path))
    return {table: records for table, records in rows.items() if records}


def database_counts() -> dict[str, int]:
    """Rows per study table in the database, non-empty tables only."""
    counts = {table: model._default_manager.count() for table, model in models_by_table().items()}
    return {table: n for table, n in counts.items() if n}
