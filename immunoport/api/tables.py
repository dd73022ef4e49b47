"""Answers in ImmPort's two formats: JSON records with camelCase names, or TSV."""

import re

import polars as pl
from django.http import HttpResponse

FORMATS = ("json", "tsv")
_WORD_START = re.compile(r"_([a-z0-9])")


def camel(column: str) -> str:
    """ImmPort's JSON name for a database column: ``type_reported`` → ``typeReported``."""
    return _WORD_START.sub(lambda found: found[1].upper(), column)


def table_response(rows: pl.DataFrame, format: str, name: str) -> HttpResponse:
    """``rows`` (columns already named as the API names them) as JSON or TSV.

    Dates and times are written as ISO text in both formats. Polars writes either body
    itself, so a large answer is never turned into Python objects row by row.
    """
    rows = rows.with_columns(pl.col(pl.Date, pl.Datetime).dt.to_string())
    if format == "tsv":
        response = HttpResponse(
            rows.write_csv(separator="\t"), content_type="text/tab-separated-values"
        )
        response["Content-Disposition"] = f'attachment; filename="{name}.tsv"'
        return response
    return HttpResponse(rows.write_json(), content_type="application/json")
