"""Full-text search of a data release's studies, in the database it is stored in.

One interface, two engines chosen by the database vendor:

- SQLite: an FTS5 virtual table, ``porter unicode61`` tokens (stems, case and
  diacritics folded), ranked by ``bm25``;
- PostgreSQL: a table of ``tsvector``s with a GIN index, the ``english`` configuration,
  ranked by ``ts_rank``.

Both hold one row per (release, study): the study's accession and its searchable text
(see ``portal.search.study_bodies``), written when the release's search index is built
from its public tables, so nothing of a private study or of withheld text is here.

The user's text never reaches FTS5 or tsquery syntax: it is cut into words (letters
and digits), each word is quoted, every word must occur (AND), and the last one is a
prefix, so a query typed letter by letter finds as it goes (``vaccin`` finds
*vaccine* and *vaccination*). Other databases have no engine: :func:`ranked` returns
None and the caller matches in memory.
"""

from collections.abc import Iterable
from typing import Protocol

from django.db import connection, transaction

from immunoport.portal.search import words

TABLE = "search_study_fts"

# as migration portal.0001 creates it (the benchmark creates its own from this)
SQLITE_CREATE = (
    f"CREATE VIRTUAL TABLE {TABLE} USING fts5("
    "study_accession UNINDEXED, release_id UNINDEXED, body, "
    "tokenize = 'porter unicode61 remove_diacritics 2')"
)
SQLITE_INSERT = f"INSERT INTO {TABLE} (release_id, study_accession, body) VALUES (%s, %s, %s)"
SQLITE_SEARCH = (
    f"SELECT study_accession FROM {TABLE} WHERE {TABLE} MATCH %s AND release_id = %s "
    f"ORDER BY bm25({TABLE}), study_accession"
)


class Release(Protocol):
    pk: int


def fts5_query(text: str) -> str | None:
    """An FTS5 MATCH expression for ``text``: each word quoted, all required, the last
    a prefix; None when the text has no words."""
    terms = words(text)
    if not terms:
        return None
    quoted = [f'"{term}"' for term in terms]  # a word holds no quote: see search.WORD
    quoted[-1] += "*"
    return " ".join(quoted)


def ranked(release: Release | int, text: str) -> list[str] | None:
    """The accessions of the release's studies whose text holds every word of
    ``text``, most relevant first; None when ``text`` has no words or the database
    has no full-text engine (match in memory then)."""
    terms = words(text)
    if not terms or connection.vendor not in ENGINES:
        return None
    release_id = release if isinstance(release, int) else release.pk
    return ENGINES[connection.vendor].ranked(release_id, terms)


def matching(release: Release | int, text: str) -> set[str] | None:
    """The accessions of the release's studies whose text matches ``text``; None when
    ``text`` has no words (or there is no engine)."""
    found = ranked(release, text)
    return None if found is None else set(found)


def available() -> bool:
    """Whether the database has a full-text engine here."""
    return connection.vendor in ENGINES


def has_rows(release: Release | int) -> bool:
    release_id = release if isinstance(release, int) else release.pk
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {TABLE} WHERE release_id = %s LIMIT 1", [release_id])
        return cursor.fetchone() is not None


def store(
    release: Release | int, bodies: Iterable[tuple[str, str]], *, keep: int | None = None
) -> None:
    """Replace the release's rows with ``bodies`` ((study accession, text) pairs) and
    remove the rows of every other release but ``keep`` (the current release, while an
    older one is written)."""
    if connection.vendor not in ENGINES:
        return
    release_id = release if isinstance(release, int) else release.pk
    kept = [release_id] if keep is None else [release_id, keep]
    with transaction.atomic(), connection.cursor() as cursor:
        marks = ", ".join(["%s"] * len(kept))
        cursor.execute(f"DELETE FROM {TABLE} WHERE release_id NOT IN ({marks})", kept)
        cursor.execute(f"DELETE FROM {TABLE} WHERE release_id = %s", [release_id])
        cursor.executemany(
            ENGINES[connection.vendor].insert,
            [(release_id, accession, body) for accession, body in bodies],
        )


class _SQLite:
    insert = SQLITE_INSERT

    @staticmethod
    def ranked(release_id: int, terms: list[str]) -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute(SQLITE_SEARCH, [fts5_query(" ".join(terms)), release_id])
            return [row[0] for row in cursor.fetchall()]


class _PostgreSQL:
    insert = (
        f"INSERT INTO {TABLE} (release_id, study_accession, body) "
        "VALUES (%s, %s, to_tsvector('english', %s))"
    )

    @staticmethod
    def ranked(release_id: int, terms: list[str]) -> list[str]:
        # the leading words as plain text; the last as a quoted prefix (letters and
        # digits only, see search.WORD, so nothing in it is tsquery syntax)
        last = "to_tsquery('english', %s)"
        query = f"plainto_tsquery('english', %s) && {last}" if len(terms) > 1 else last
        params: list[str | int] = [" ".join(terms[:-1])] if len(terms) > 1 else []
        params += [f"'{terms[-1]}':*", release_id]
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT study_accession FROM {TABLE}, (SELECT {query} AS query) AS q "
                "WHERE release_id = %s AND body @@ query "
                "ORDER BY ts_rank(body, query) DESC, study_accession",
                params,
            )
            return [row[0] for row in cursor.fetchall()]


ENGINES: dict[str, type[_SQLite] | type[_PostgreSQL]] = {
    "sqlite": _SQLite,
    "postgresql": _PostgreSQL,
}
