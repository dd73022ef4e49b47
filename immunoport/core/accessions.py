"""Issue ImmPort-style accessions: a prefix and a number (SDY1, SUB123456, ...).

Numbers come from one counter row per prefix, advanced with a single
``UPDATE ... RETURNING`` statement. The row lock (PostgreSQL) or the database
write lock (SQLite, whose transactions begin IMMEDIATE here) serialises concurrent
writers, so numbers are unique and increase monotonically. The counter moves
inside the caller's transaction: numbers of a rolled-back load were never seen
by anyone, and committed numbers are never issued again.
"""

import re

from django.db import connection, transaction

from immunoport.core.models import AccessionCounter

_ACCESSION = re.compile(r"^([A-Z]+)(\d+)$")


def issue_accessions(prefix: str, count: int) -> list[str]:
    """Reserve ``count`` consecutive accessions for ``prefix`` and return them."""
    if count < 1:
        return []
    table = connection.ops.quote_name(AccessionCounter._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (prefix, last_value) VALUES (%s, 0) "
            "ON CONFLICT (prefix) DO NOTHING",
            [prefix],
        )
        cursor.execute(
            f"UPDATE {table} SET last_value = last_value + %s WHERE prefix = %s "
            "RETURNING last_value",
            [count, prefix],
        )
        (last,) = cursor.fetchone()
    first = last - count + 1
    return [f"{prefix}{number}" for number in range(first, last + 1)]


def split_accession(accession: str) -> tuple[str, int]:
    """``"SDY702"`` -> ``("SDY", 702)``; raises ValueError for anything else."""
    match = _ACCESSION.match(accession)
    if not match:
        raise ValueError(f"{accession!r} is not an accession (letters followed by digits)")
    return match.group(1), int(match.group(2))


def advance_counter(prefix: str, at_least: int) -> None:
    """Make sure ``prefix`` never issues a number at or below ``at_least``.

    Used after importing records that already carry accessions (from ImmPort).
    """
    table = connection.ops.quote_name(AccessionCounter._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (prefix, last_value) VALUES (%s, %s) "
            "ON CONFLICT (prefix) DO UPDATE SET last_value = "
            f"CASE WHEN {table}.last_value < excluded.last_value "
            f"THEN excluded.last_value ELSE {table}.last_value END",
            [prefix, at_least],
        )
