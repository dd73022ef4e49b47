"""Load polars frames into a model's table without building model instances.

SQLite gets one prepared INSERT run over the frame's rows; PostgreSQL gets
``COPY ... FROM STDIN`` fed with the frame written as CSV by polars. Both run
inside the caller's transaction, so a failed load leaves nothing behind.
"""

import io

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
