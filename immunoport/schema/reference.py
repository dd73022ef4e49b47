"""Read-only access to the ImmPort reference data packaged with immunoport.

The files under ``reference/`` are copies of ImmPort's schema 3.36 lookups and of
its relational model and Shared Data API; immunoport never reads them from anywhere else.
"""

import json
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
LOOKUPS_DIR = REFERENCE_DIR / "lookups"


@cache
def data_model() -> dict[str, Any]:
    return json.loads((REFERENCE_DIR / "immport-data-model.json").read_text())


@cache
def tables() -> dict[str, dict[str, Any]]:
    """ImmPort's tables by name, each with columns, keys and references."""
    return {table["name"]: table for table in data_model()["tables"]}


@cache
def lookup_index() -> list[dict[str, Any]]:
    """The 53 lookup tables: file, kind, columns, and the template columns using them."""
    return json.loads((LOOKUPS_DIR / "index.json").read_text())["tables"]


def read_lookup_file(file_name: str) -> pl.DataFrame:
    """One lookup TSV as strings; the first column is the term's name."""
    return pl.read_csv(
        LOOKUPS_DIR / file_name,
        separator="\t",
        quote_char=None,
        infer_schema=False,
    ).fill_null("")
