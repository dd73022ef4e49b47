"""Full-text search of a data release's studies, in the database it is stored in.

One interface, two engines chosen by the database vendor:

- SQLite: an FTS5 virtual table, ``porter unicode61`` tokens (stems, case and
  diacritics folded), ranked by ``bm25``;
- PostgreSQL: a table of ``tsvector``s with a GIN index, the ``english`` configuration,
  ranked by ``ts_rank``.

Both hold one row per (release, study): the study's accession and its searchable text
(see ``portal.search.study_bodies``), written when the release's search index is built
from its public tables, so nothing of a private study or of withheld text is here.

On SQLite a row's rowid is its key: the release's id above :data:`KEY_BITS`, the
study's ordinal below. A query narrows to a release by a rowid range and reads rowids
and bm25 scores only: reading an UNINDEXED column (release_id, study_accession) loads
the whole row, body and all, which took most of a query's time. The accessions of a
release's keys are read once per process (:func:`_sqlite_keys`). Ranking is most of
what is left (bm25 reads every matching row's phrase positions): a search that does
not order by relevance asks for the matches alone (:func:`unranked`).

The user's text never reaches FTS5 or tsquery syntax: it is cut into words (letters
and digits), each word is quoted, every word must occur (AND), and the last one is a
prefix, so a query typed letter by letter finds as it goes (``vaccin`` finds
*vaccine* and *vaccination*). Other databases have no engine: :func:`ranked` returns
None and the caller matches in memory.
"""

import threading
from collections.abc import Iterable
from typing import Protocol

import polars as pl
from django.db import connection, transaction

from immunoport.portal.search import words

TABLE = "search_study_fts"

# as migration portal.0001 creates it (the benchmark creates its own from this)
SQLITE_CREATE = (
    f"CREATE VIRTUAL TABLE {TABLE} USING fts5("
    "study_accession UNINDEXED, release_id UNINDEXED, body, "
    "tokenize = 'porter unicode61 remove_diacritics 2')"
)
SQLITE_INSERT = (
    f"INSERT INTO {TABLE} (rowid, release_id, study_accession, body) VALUES (%s, %s, %s, %s)"
)
SQLITE_SEARCH = (  # {score}: bm25, or a constant when the order does not matter
    f"SELECT rowid, {{score}} FROM {TABLE} WHERE {TABLE} MATCH %s AND rowid BETWEEN %s AND %s"
)
SQLITE_KEYS = f"SELECT rowid, study_accession FROM {TABLE} WHERE rowid BETWEEN %s AND %s"
KEY_BITS = 32  # a SQLite row's key: release id << KEY_BITS | the study's ordinal


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


def ranked(release: Release | int, text: str) -> pl.Series | None:
    """The accessions of the release's studies whose text holds every word of
    ``text``, most relevant first (ties in accession order); None when ``text`` has no
    words or the database has no full-text engine (match in memory then)."""
    return _found(release, text, by_relevance=True)


def unranked(release: Release | int, text: str) -> pl.Series | None:
    """:func:`ranked`'s accessions in accession order, without ranking them."""
    return _found(release, text, by_relevance=False)


def matching(release: Release | int, text: str) -> set[str] | None:
    """The accessions of the release's studies whose text matches ``text``; None when
    ``text`` has no words (or there is no engine)."""
    found = unranked(release, text)
    return None if found is None else set(found)


def _found(release: Release | int, text: str, *, by_relevance: bool) -> pl.Series | None:
    terms = words(text)
    if not terms or connection.vendor not in ENGINES:
        return None
    release_id = release if isinstance(release, int) else release.pk
    return ENGINES[connection.vendor].ranked(release_id, terms, by_relevance)


def available() -> bool:
    """Whether the database has a full-text engine here."""
    return connection.vendor in ENGINES


def has_rows(release: Release | int) -> bool:
    """Whether the release's rows are written (on SQLite: with their keys; rows written
    before rows had keys count as missing, so they are written again)."""
    release_id = release if isinstance(release, int) else release.pk
    where = "rowid BETWEEN %s AND %s" if connection.vendor == "sqlite" else "release_id = %s"
    params = key_range(release_id) if connection.vendor == "sqlite" else (release_id,)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {TABLE} WHERE {where} LIMIT 1", params)
        return cursor.fetchone() is not None


def key_range(release_id: int) -> tuple[int, int]:
    """The first and last SQLite key of the release's rows."""
    first = release_id << KEY_BITS
    return first, first + (1 << KEY_BITS) - 1


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
        engine = ENGINES[connection.vendor]
        cursor.executemany(engine.insert, engine.rows(release_id, bodies))
    _keys.pop((connection.alias, release_id), None)


class _SQLite:
    insert = SQLITE_INSERT

    @staticmethod
    def rows(release_id: int, bodies: Iterable[tuple[str, str]]) -> list[tuple]:
        first, _ = key_range(release_id)
        return [
            (first + ordinal, release_id, accession, body)
            for ordinal, (accession, body) in enumerate(bodies)
        ]

    @staticmethod
    def ranked(release_id: int, terms: list[str], by_relevance: bool) -> pl.Series:
        search = SQLITE_SEARCH.format(score=f"bm25({TABLE})" if by_relevance else "0.0")
        with connection.cursor() as cursor:
            cursor.execute(search, [fts5_query(" ".join(terms)), *key_range(release_id)])
            scores = cursor.fetchall()
        found = pl.DataFrame(scores, schema={"key": pl.Int64, "score": pl.Float64}, orient="row")
        return (
            found.join(_sqlite_keys(release_id), on="key")
            .sort("score", "study_accession")
            .get_column("study_accession")
        )


_keys: dict[tuple[str, int], pl.DataFrame] = {}  # (database alias, release id) -> keys
_keys_lock = threading.Lock()


def _sqlite_keys(release_id: int) -> pl.DataFrame:
    """key and study_accession of the release's rows, read once per process: a
    release's rows are written once (again only with the same keys, from the same
    index), and :func:`store` forgets what it replaces."""
    cache_key = (connection.alias, release_id)
    keys = _keys.get(cache_key)
    if keys is None:
        with connection.cursor() as cursor:
            cursor.execute(SQLITE_KEYS, key_range(release_id))
            keys = pl.DataFrame(
                cursor.fetchall(),
                schema={"key": pl.Int64, "study_accession": pl.String},
                orient="row",
            )
        with _keys_lock:
            _keys[cache_key] = keys
    return keys


class _PostgreSQL:
    insert = (
        f"INSERT INTO {TABLE} (release_id, study_accession, body) "
        "VALUES (%s, %s, to_tsvector('english', %s))"
    )

    @staticmethod
    def rows(release_id: int, bodies: Iterable[tuple[str, str]]) -> list[tuple]:
        return [(release_id, accession, body) for accession, body in bodies]

    @staticmethod
    def ranked(release_id: int, terms: list[str], by_relevance: bool) -> pl.Series:
        # the leading words as plain text; the last as a quoted prefix (letters and
        # digits only, see search.WORD, so nothing in it is tsquery syntax)
        last = "to_tsquery('english', %s)"
        query = f"plainto_tsquery('english', %s) && {last}" if len(terms) > 1 else last
        params: list[str | int] = [" ".join(terms[:-1])] if len(terms) > 1 else []
        params += [f"'{terms[-1]}':*", release_id]
        order = "ts_rank(body, query) DESC, study_accession" if by_relevance else "study_accession"
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT study_accession FROM {TABLE}, (SELECT {query} AS query) AS q "
                f"WHERE release_id = %s AND body @@ query ORDER BY {order}",
                params,
            )
            return pl.Series("study_accession", [row[0] for row in cursor.fetchall()], pl.String)


ENGINES: dict[str, type[_SQLite] | type[_PostgreSQL]] = {
    "sqlite": _SQLite,
    "postgresql": _PostgreSQL,
}
