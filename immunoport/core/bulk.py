"""Load polars frames into a model's table without building model instances.

SQLite gets one prepared INSERT run over the frame's rows; PostgreSQL gets
``COPY ... FROM STDIN`` fed with the frame written as CSV by polars. Both run
inside the caller's transaction, so a failed load leaves nothing behind.
"""

import io
from typing import Any

import polars as pl
from django.db import connection, models

_COPY_CHUNK_ROWS = 200_000
_INSERT_CHUNK_ROWS = 50_000


def insert_frame(model: type[models.Model], frame: pl.DataFrame) -> int:
    """Insert every row of ``frame`` (columns named as the table's columns)."""
    if frame.is_empty():
        return 0
    table = model._meta.db_table
    columns = frame.columns
    if connection.vendor == "postgresql":
        _copy(table, columns, frame)
    else:
        quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
        placeholders = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {connection.ops.quote_name(table)} ({quoted}) VALUES ({placeholders})"
        with connection.cursor() as cursor:
            for chunk in frame.iter_slices(_INSERT_CHUNK_ROWS):
                cursor.executemany(sql, chunk.rows())
    return frame.height


def _copy(table: str, columns: list[str], frame: pl.DataFrame) -> None:
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    sql = (
        f"COPY {connection.ops.quote_name(table)} ({quoted}) FROM STDIN WITH (FORMAT csv, NULL '')"
    )
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for chunk in frame.iter_slices(_COPY_CHUNK_ROWS):
            buffer = io.BytesIO()
            # polars quotes empty strings, so '' stays distinct from NULL (unquoted empty).
            chunk.write_csv(buffer, include_header=False, null_value="")
            copy.write(buffer.getvalue())


def reset_sequences(models_: list[type[models.Model]]) -> None:
    """Move PostgreSQL sequences past ids that were loaded explicitly."""
    if connection.vendor != "postgresql":
        return
    from django.core.management.color import no_style

    statements = connection.ops.sequence_reset_sql(no_style(), models_)
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


_POLARS_TYPES: dict[str, pl.DataType] = {
    "IntegerField": pl.Int64(),
    "BigIntegerField": pl.Int64(),
    "AutoField": pl.Int64(),
    "BigAutoField": pl.Int64(),
    "PositiveIntegerField": pl.Int64(),
    "FloatField": pl.Float64(),
    "DateField": pl.Date(),
    "DateTimeField": pl.Datetime("us", "UTC"),
    "BooleanField": pl.Boolean(),
    "JSONField": pl.Object(),
}
_READ_CHUNK_ROWS = 50_000


def internal_type(field: Any) -> str:
    """The field's storage type; a reference has the type of the column it names."""
    while field.is_relation:  # django-stubs does not know ForeignKey.target_field
        field = field.target_field
    return field.get_internal_type()


def polars_type(internal: str) -> pl.DataType:
    """The frame type of a storage type (``internal_type``); text for the rest."""
    return _POLARS_TYPES.get(internal, pl.String())


def read_frame(queryset: models.QuerySet, columns: list[str] | None = None) -> pl.DataFrame:
    """The queryset's rows as a frame named by table columns (all concrete ones by
    default), read in chunks so that no million Python tuples exist at once."""
    fields = {f.column: f for f in queryset.model._meta.concrete_fields}
    columns = columns or list(fields)
    schema = {c: polars_type(internal_type(fields[c])) for c in columns}
    rows = queryset.values_list(*(fields[c].attname for c in columns)).iterator(
        chunk_size=_READ_CHUNK_ROWS
    )
    frames = [pl.DataFrame(schema=schema)]
    chunk: list[tuple] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == _READ_CHUNK_ROWS:
            frames.append(pl.DataFrame(chunk, schema=schema, orient="row"))
            chunk = []
    frames.append(pl.DataFrame(chunk, schema=schema, orient="row"))
    return pl.concat(frames, rechunk=True)
