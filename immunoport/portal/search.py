"""The shared data search: a faceted index of the current data release, in polars.

Two frames, built from the release's public tables (``releases.public``), so the
index holds nothing a public download does not:

- ``studies``: one row per released study: its titles and descriptions, the study
  facets as lists of strings (research focus, condition or disease, biosample type,
  assay method, program name) and as booleans (clinical trial, lab tests,
  assessments), and its subject and result counts.
- ``subjects``: one row per (study, subject): age in years with its age group, and
  the subject facets (ethnicity, gender, race, species).

:meth:`SearchIndex.search` filters with OR within a facet and AND across facets; a
subject facet selects the studies with at least one matching subject and counts the
matching subjects (distinct subjects: a subject enrolled in two studies counts once in
a total, as on the home page, and once in each study's own count). Facet counts are
computed with every other facet's filter applied but not the facet's own, so a
selection can be widened. Everything is column operations; no Python loop visits a
row.

Only :func:`build_index` and :func:`current_index` need Django (they read the
release); the index itself is plain polars, so benchmarks and notebooks use it alone.
"""

import functools
import io
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np
import polars as pl

if TYPE_CHECKING:
    from immunoport.releases.models import DataRelease


@dataclass(frozen=True)
class Facet:
    key: str  # the index column and the filter's name
    label: str  # ImmPort's name for it on the search page
    level: Literal["study", "subject"]
    boolean: bool = False  # a yes/no facet: values "Yes" and "No"


FACETS: tuple[Facet, ...] = (
    Facet("research_focus", "Research Focus", "study"),
    Facet("condition_or_disease", "Condition or Disease", "study"),
    Facet("biosample_type", "Biosample Type", "study"),
    Facet("assay_method", "Assay Methods", "study"),
    Facet("program_name", "Program Name", "study"),
    Facet("is_clinical_trial", "Is Clinical Trial", "study", boolean=True),
    Facet("has_lab_tests", "Has Lab Tests", "study", boolean=True),
    Facet("has_assessments", "Has Assessments", "study", boolean=True),
    Facet("age_group", "Age (years)", "subject"),
    Facet("ethnicity", "Ethnicity", "subject"),
    Facet("gender", "Gender", "subject"),
    Facet("race", "Race", "subject"),
    Facet("species", "Species", "subject"),
)
FACET_BY_KEY = {facet.key: facet for facet in FACETS}
STUDY_FACETS = tuple(f for f in FACETS if f.level == "study")
SUBJECT_FACETS = tuple(f for f in FACETS if f.level == "subject")

YES, NO = "Yes", "No"
NOT_SPECIFIED = "Not Specified"  # ImmPort's term for a subject value left blank
UNKNOWN_AGE = "Unknown"
# (group, upper bound in years, exclusive); ages above 89 are published as 90
AGE_GROUPS: tuple[tuple[str, float], ...] = (
    ("0-17", 18),
    ("18-29", 30),
    ("30-49", 50),
    ("50-64", 65),
    ("65-89", 90),
    ("90+", float("inf")),
)

STUDY_SCHEMA: dict[str, Any] = {
    "study_accession": pl.String,
    "brief_title": pl.String,
    "official_title": pl.String,
    "brief_description": pl.String,
    "description": pl.String,
    **{f.key: pl.List(pl.String) for f in STUDY_FACETS if not f.boolean},
    **{f.key: pl.Boolean for f in STUDY_FACETS if f.boolean},
    "subject_count": pl.Int64,
    "result_count": pl.Int64,
    # searched, not shown: arms' names and descriptions, inclusion/exclusion criteria
    # and conditions as reported
    "extra_text": pl.String,
}
SUBJECT_SCHEMA: dict[str, Any] = {
    "study_accession": pl.String,
    "subject_accession": pl.String,
    "age": pl.Float64,
    **{f.key: pl.String for f in SUBJECT_FACETS},
}
TEXT_COLUMNS = (  # a study's searchable text, in this order (see study_bodies)
    "study_accession",
    "brief_title",
    "official_title",
    "brief_description",
    "description",
    "condition_or_disease",
    "assay_method",
    "research_focus",
    "program_name",
    "extra_text",
)
SORTS = {
    "study_accession": "_order",
    "brief_title": "_title",
    "subjects": "subjects",
    "relevance": "_rank",  # best match of the text first; accession order without text
}
WORD = re.compile(r"[^\W_]+")  # letters and digits of any script; all else separates
MOST_WORDS, LONGEST_WORD = 32, 64  # of a search text; the rest is not searched for
FEW_STUDIES = 100  # a page of at most as many has its subjects counted study by study

# A text search: the accessions whose text matches, most relevant first when asked to
# rank (text, ranked); None when it cannot tell (no words, no engine), and the index
# matches in memory.
TextSearch = Callable[[str, bool], "pl.Series | Sequence[str] | None"]


class FacetValue(NamedTuple):
    value: str
    total: int  # studies for a study facet, subjects for a subject facet


@dataclass(frozen=True)
class StudyHit:
    study_accession: str
    brief_title: str
    subjects: int  # the study's subjects that match the subject facets


@dataclass(frozen=True)
class SearchResult:
    total_studies: int
    total_subjects: int
    studies: list[StudyHit]  # the requested page
    facets: dict[str, list[FacetValue]]  # facet key -> values, most frequent first
    page: int
    per_page: int
    elapsed_ms: float

    @property
    def pages(self) -> int:
        return max(1, -(-self.total_studies // self.per_page))


def words(text: str) -> list[str]:
    """The words of a user's search text, lower case, in order: runs of letters and
    digits; anything else (spaces, quotes, ``*``, ``:``, ``-``, parentheses) only
    separates them. At most :data:`MOST_WORDS`, each cut to :data:`LONGEST_WORD`."""
    return [word.lower()[:LONGEST_WORD] for word in WORD.findall(text or "")[:MOST_WORDS]]


def study_bodies(studies: pl.DataFrame) -> pl.DataFrame:
    """study_accession and body: each study's searchable text (:data:`TEXT_COLUMNS`),
    one value a line; what the full-text engines index and the in-memory match reads."""
    studies = _conform(studies, STUDY_SCHEMA)
    parts = [
        (pl.col(c).list.join("\n") if STUDY_SCHEMA[c] == pl.List(pl.String) else pl.col(c))
        for c in TEXT_COLUMNS
    ]
    return studies.select(
        "study_accession",
        pl.concat_str(parts, separator="\n", ignore_nulls=True).fill_null("").alias("body"),
    )


class SearchIndex:
    """The two frames and, derived once, the columns a search reads.

    ``text_search``: how text is matched and ranked, when a database holds the index's
    full text (see :func:`stored_index`); without it, words are matched in memory.
    """

    def __init__(
        self,
        studies: pl.DataFrame,
        subjects: pl.DataFrame,
        *,
        text_search: TextSearch | None = None,
    ) -> None:
        self.text_search = text_search
        self.studies = _conform(studies, STUDY_SCHEMA)
        self.subjects = _conform(subjects, SUBJECT_SCHEMA).with_columns(
            pl.col("age_group").fill_null(pl.lit(UNKNOWN_AGE)),
            *(
                pl.col(f.key).fill_null(pl.lit(NOT_SPECIFIED))
                for f in SUBJECT_FACETS
                if f.key != "age_group"
            ),
        )
        # studies in accession order (SDY2 before SDY10); a study's position is its id
        accession = pl.col("study_accession")
        self.studies = self.studies.sort(
            accession.str.extract(r"^(\D*)"),
            accession.str.extract(r"(\d+)$").cast(pl.Int64),
            accession,
            nulls_last=True,
        )
        count = self.studies.height
        ids = pl.int_range(count, dtype=pl.UInt32, eager=True).alias("_study")
        self._ids = ids
        self._text = study_bodies(self.studies)["body"].str.to_lowercase().rechunk()
        self._meta = self.studies.select(
            ids,
            "study_accession",
            pl.col("brief_title").fill_null(pl.col("study_accession")),
            pl.int_range(count, dtype=pl.UInt32).alias("_order"),
            pl.col("brief_title").str.to_lowercase().fill_null("").alias("_title"),
        )
        # study facet -> (study id, value, code): one row per study and distinct value;
        # a code numbers a (facet, value) of _study_columns, to count values as integers
        keyed = self.studies.with_columns(ids)
        self._study_values: dict[str, pl.DataFrame] = {}
        self._study_columns: list[tuple[str, str]] = []
        for facet in STUDY_FACETS:
            column = pl.col(facet.key)
            value = pl.when(column).then(pl.lit(YES)).otherwise(pl.lit(NO))
            values = keyed.select("_study", (value if facet.boolean else column).alias("value"))
            if not facet.boolean:
                values = values.explode("value").drop_nulls().unique(maintain_order=True)
            distinct = values["value"].unique().sort()
            self._study_columns += [(facet.key, value) for value in distinct]
            self._study_values[facet.key] = values.with_columns(
                _codes(pl.col("value"), facet.key, self._study_columns)
            ).rechunk()
        # subjects in study order, with their study's id
        subjects = self.subjects.join(
            keyed.select("_study", "study_accession"), on="study_accession", how="inner"
        ).sort("_study", maintain_order=True)
        self._subject_study = subjects["_study"].rechunk()
        # study id -> its first subject row, and past the last one at the end; a
        # study's rows are contiguous: a study mask becomes a subject mask by repeating
        self._subject_starts = self._subject_study.search_sorted(
            pl.int_range(count + 1, dtype=pl.UInt32, eager=True), side="left"
        ).cast(pl.Int64)
        self._rows_per_study = np.diff(self._subject_starts.to_numpy())
        # subject facet -> its values; each value a boolean column "<facet>:<value>" of
        # one frame: a selection is an OR of columns, the counts of every facet one
        # select of the sums of columns under masks. A code numbers a column.
        self._subject_values = {
            facet.key: subjects[facet.key].drop_nulls().unique().sort().to_list()
            for facet in SUBJECT_FACETS
        }
        self._subject_columns = [
            (key, value) for key, values in self._subject_values.items() for value in values
        ]
        self._subject_bits = subjects.select(
            (pl.col(key) == value).fill_null(False).alias(f"{key}:{value}")
            for key, value in self._subject_columns
        ).rechunk()
        # a subject in several studies has a row in each: subject counts are of distinct
        # subjects, less the repeats among these rows (few: rarely shared), subjects
        # numbered to be told apart cheaply; a facet's count repeats only where a
        # subject's rows have the same value: subject facet -> those rows
        shared = (
            subjects.with_row_index("_row")
            .filter(pl.col("subject_accession").is_duplicated())
            .with_columns(pl.col("subject_accession").rank("dense").alias("_subject"))
        )
        self._shared_rows, self._shared_subjects = shared["_row"], shared["_subject"]
        self._repeatable = {
            facet.key: shared.filter(pl.struct("_subject", facet.key).is_duplicated()).select(
                "_row", "_subject", _codes(pl.col(facet.key), facet.key, self._subject_columns)
            )
            for facet in SUBJECT_FACETS
        }
        # the counts of an unfiltered search, computed once
        self._unfiltered_studies = self._study_counts(dict.fromkeys(self._study_values))
        self._unfiltered_subjects = self._subject_counts(dict.fromkeys(self._subject_values))

    @classmethod
    def empty(cls) -> "SearchIndex":
        return cls(pl.DataFrame(schema=STUDY_SCHEMA), pl.DataFrame(schema=SUBJECT_SCHEMA))

    # --- persistence ---------------------------------------------------------------

    def write(self, path: str | Path) -> None:
        """The two frames as ``studies.parquet`` and ``subjects.parquet`` in ``path``."""
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        self.studies.write_parquet(folder / "studies.parquet")
        self.subjects.write_parquet(folder / "subjects.parquet")

    @classmethod
    def read(cls, path: str | Path) -> "SearchIndex":
        folder = Path(path)
        return cls(
            pl.read_parquet(folder / "studies.parquet"),
            pl.read_parquet(folder / "subjects.parquet"),
        )

    # --- searching -------------------------------------------------------------------

    def search(
        self,
        text: str = "",
        filters: Mapping[str, Collection[str]] | None = None,
        *,
        sort: str | None = None,
        page: int = 1,
        per_page: int = 25,
    ) -> SearchResult:
        """The studies matching ``text`` and every facet of ``filters``, one page of
        them, and the facet counts.

        ``filters``: facet key (see :data:`FACETS`) -> values, any of which matches;
        an empty collection is no filter. ``text``: every word (see :func:`words`)
        must occur, in any case, in the study's text (:func:`study_bodies`): through
        the database's full-text engine when the index has one (stemmed, the last
        word a prefix), else as parts of words in memory. ``sort``:
        ``study_accession``, ``brief_title``, ``subjects`` or ``relevance``; ``-``
        before it for descending order; by default ``relevance`` when there is text,
        else ``study_accession``.
        """
        started = time.perf_counter()
        chosen = _chosen(filters or {})
        if sort is None:
            sort = "relevance" if words(text) else "study_accession"
        if sort.lstrip("-") not in SORTS:
            raise ValueError(f"Unknown sort {sort!r}: one of {', '.join(SORTS)}.")
        page, per_page = max(1, page), max(1, per_page)

        text_mask, rank = self._text_match(text, ranked=sort.lstrip("-") == "relevance")
        study_masks = {
            key: self._ids.is_in(
                self._study_values[key].filter(pl.col("value").is_in(values))["_study"].implode()
            )
            for key, values in chosen.items()
            if FACET_BY_KEY[key].level == "study"
        }
        subject_masks = {
            key: self._subject_mask(key, values)
            for key, values in chosen.items()
            if FACET_BY_KEY[key].level == "subject"
        }
        # None stands for "every study" or "every subject": no work to narrow by it
        all_subjects = _and(subject_masks.values())
        having = (  # studies with a subject passing every subject facet
            None
            if all_subjects is None
            else self._ids.is_in(self._subject_study.filter(all_subjects).unique().implode())
        )

        def studies_except(skip: str | None) -> pl.Series | None:
            """Studies passing the text and every study facet but ``skip``."""
            return _and([text_mask, *(m for k, m in study_masks.items() if k != skip)])

        base = studies_except(None)
        matched = _and([base, having])
        in_base = (
            None if base is None else pl.Series(np.repeat(base.to_numpy(), self._rows_per_study))
        )
        in_matched = _and([in_base, all_subjects])  # the matching subjects

        study_rows = {
            facet.key: _and([studies_except(facet.key), having]) for facet in STUDY_FACETS
        }
        subject_rows = {
            facet.key: _and([in_base, *(m for k, m in subject_masks.items() if k != facet.key)])
            for facet in SUBJECT_FACETS
        }
        facets = {
            **(
                self._unfiltered_studies
                if all(rows is None for rows in study_rows.values())
                else self._study_counts(study_rows)
            ),
            **(
                self._unfiltered_subjects
                if all(rows is None for rows in subject_rows.values())
                else self._subject_counts(subject_rows)
            ),
        }

        return SearchResult(
            total_studies=self._ids.len() if matched is None else int(matched.sum()),
            total_subjects=self._distinct_subjects(in_matched),
            studies=self._page(matched, in_matched, rank, sort, page, per_page),
            facets=facets,
            page=page,
            per_page=per_page,
            elapsed_ms=(time.perf_counter() - started) * 1000,
        )

    def _distinct_subjects(self, rows: pl.Series | None) -> int:
        shared = self._shared_subjects
        if rows is not None:
            shared = shared.filter(rows.gather(self._shared_rows))
        repeats = shared.len() - shared.n_unique()
        return (self._subject_study.len() if rows is None else int(rows.sum())) - repeats

    def _study_counts(self, rows: Mapping[str, pl.Series | None]) -> dict[str, list[FacetValue]]:
        """Studies per value of each study facet, among the studies its mask in
        ``rows`` selects (None: all), every facet in one count."""
        codes = pl.concat(
            [
                values["_code"]
                if mask is None
                else values["_code"].filter(mask.gather(values["_study"]))
                for key, mask in rows.items()
                for values in [self._study_values[key]]
            ]
        )
        counted = dict(codes.value_counts().iter_rows())
        return _by_facet(
            STUDY_FACETS,
            self._study_columns,
            [counted.get(code, 0) for code in range(len(self._study_columns))],
        )

    def _subject_counts(self, rows: Mapping[str, pl.Series | None]) -> dict[str, list[FacetValue]]:
        """Distinct subjects per value of each subject facet, among the rows its mask in
        ``rows`` selects (None: all), every facet in one select and one count of
        repeats."""

        def under(key: str, value: str) -> pl.Expr:
            column, mask = pl.col(f"{key}:{value}"), rows[key]
            return column if mask is None else column & mask

        columns = self._subject_columns
        sums = self._subject_bits.select(under(key, value).sum() for key, value in columns)
        repeats = (
            pl.concat(
                [
                    frame if mask is None else frame.filter(mask.gather(frame["_row"]))
                    for key, mask in rows.items()
                    for frame in [self._repeatable[key]]
                ]
            )
            .group_by("_code")
            .agg(pl.len() - pl.col("_subject").n_unique())
        )
        repeated = dict(repeats.iter_rows())
        totals = sums.row(0) if columns else ()
        return _by_facet(
            SUBJECT_FACETS,
            columns,
            [total - repeated.get(code, 0) for code, total in enumerate(totals)],
        )

    def _text_match(self, text: str, *, ranked: bool) -> tuple[pl.Series | None, pl.Series | None]:
        """Studies whose text holds every word of ``text`` and, when ``ranked``, each
        matching study's rank, lower is more relevant (else None: ranking costs most of
        a text search); (None, None) when there are no words."""
        terms = words(text)
        if not terms:
            return None, None
        found = self.text_search(text, ranked) if self.text_search is not None else None
        if found is not None:  # accessions, best first when ranked
            ranks = pl.DataFrame({"study_accession": pl.Series(found, dtype=pl.String)}).select(
                "study_accession", pl.int_range(pl.len(), dtype=pl.Int64).alias("_rank")
            )
            rank = (
                self._meta.select("study_accession")
                .join(ranks, on="study_accession", how="left", maintain_order="left")
                .to_series(1)
            )
            return rank.is_not_null(), rank if ranked else None
        # in memory: parts of words; more occurrences rank first
        mask = _and([self._text.str.contains(term, literal=True) for term in terms])
        assert mask is not None
        if not ranked:
            return mask, None
        rows = mask.arg_true()
        matched = self._text.gather(rows)
        occurrences = pl.repeat(0, rows.len(), dtype=pl.Int64, eager=True)
        for term in terms:
            occurrences = occurrences + matched.str.count_matches(term, literal=True)
        rank = pl.repeat(None, mask.len(), dtype=pl.Int64, eager=True)
        return mask, rank.scatter(rows, -occurrences)

    def _subject_mask(self, key: str, values: Collection[str]) -> pl.Series:
        present = [f"{key}:{value}" for value in values if value in self._subject_values[key]]
        if not present:
            return pl.repeat(False, self._subject_study.len(), dtype=pl.Boolean, eager=True)
        return self._subject_bits.select(pl.any_horizontal(present)).to_series()

    def _page(
        self,
        matched: pl.Series | None,
        in_matched: pl.Series | None,
        rank: pl.Series | None,
        sort: str,
        page: int,
        per_page: int,
    ) -> list[StudyHit]:
        """One page of the matching studies, each with its matching subjects."""
        column = SORTS[sort.lstrip("-")]
        meta = self._meta
        if column == "_rank":  # without text, every study is as relevant
            column = "_order" if rank is None else column
            meta = meta if rank is None else meta.with_columns(rank.alias("_rank"))
        if column == "subjects":  # every study's count is needed to sort
            meta = meta.with_columns(self._subjects_per_study(in_matched))
        hits = meta.lazy() if matched is None else meta.lazy().filter(matched)
        hits = hits.sort([column, "_order"], descending=[sort.startswith("-"), False])
        frame = hits.slice((page - 1) * per_page, per_page).collect()
        if column != "subjects":  # only the page's counts are needed
            frame = frame.with_columns(self._subjects_per_study(in_matched, frame["_study"]))
        frame = frame.select("study_accession", "brief_title", "subjects")
        return [StudyHit(**row) for row in frame.iter_rows(named=True)]

    def _subjects_per_study(
        self, in_matched: pl.Series | None, studies: pl.Series | None = None
    ) -> pl.Series:
        """``subjects``: the rows among ``in_matched`` (None: all rows) of each of
        ``studies`` (ids; None: every study). A study's rows are contiguous: a few
        studies' are summed one by one, many from the running count of every row."""
        starts = self._subject_starts
        if in_matched is not None and studies is not None and studies.len() <= FEW_STUDIES:
            counts = pl.Series(
                [
                    int(in_matched.slice(starts[s], starts[s + 1] - starts[s]).sum())
                    for s in studies
                ],
                dtype=pl.Int64,
            )
            return counts.alias("subjects")
        if in_matched is not None:
            running = pl.concat(
                [pl.Series([0], dtype=pl.Int64), in_matched.cast(pl.Int64).cum_sum()]
            )
            starts = running.gather(starts)
        counts = starts.diff().slice(1)
        return (counts if studies is None else counts.gather(studies)).alias("subjects")


def _chosen(filters: Mapping[str, Collection[str]]) -> dict[str, list[str]]:
    unknown = sorted(set(filters) - set(FACET_BY_KEY))
    if unknown:
        raise ValueError(f"Unknown facet {', '.join(unknown)}: one of {', '.join(FACET_BY_KEY)}.")
    if any(isinstance(values, str) for values in filters.values()):
        raise TypeError("A facet's filter is a collection of values, not one string.")
    return {key: sorted(set(values)) for key, values in filters.items() if values}


def _and(masks: Iterable[pl.Series | None]) -> pl.Series | None:
    """The AND of the masks that are not None; None when there are none."""
    result = None
    for mask in masks:
        if mask is not None:
            result = mask if result is None else result & mask
    return result


def _codes(values: pl.Expr, key: str, columns: Sequence[tuple[str, str]]) -> pl.Expr:
    """``_code``: each value's position, as (``key``, value), in ``columns``."""
    codes = {value: code for code, (facet, value) in enumerate(columns) if facet == key}
    if not codes:  # no values (polars would leave the column a string column)
        return pl.lit(None, dtype=pl.UInt32).alias("_code")
    return values.replace_strict(codes, return_dtype=pl.UInt32).alias("_code")


def _by_facet(
    facets: Iterable[Facet], columns: Sequence[tuple[str, str]], totals: Sequence[int]
) -> dict[str, list[FacetValue]]:
    """Each facet's values with a total above 0, most first; ``totals`` are those of
    ``columns``, (facet, value) pairs."""
    found: dict[str, list[FacetValue]] = {facet.key: [] for facet in facets}
    for (key, value), total in zip(columns, totals, strict=True):
        if total > 0:
            found[key].append(FacetValue(value, total))
    for values in found.values():
        values.sort(key=lambda counted: (-counted.total, counted.value))
    return found


def _conform(frame: pl.DataFrame, schema: Mapping[str, Any]) -> pl.DataFrame:
    """``frame``'s columns of ``schema`` in its order and types; missing ones null."""
    return frame.select(
        (pl.col(c) if c in frame.columns else pl.lit(None)).cast(dtype).alias(c)
        for c, dtype in schema.items()
    )


# --- building it from studies' tables: a data release's, or live ones ---------------


@dataclass(frozen=True)
class StudyTables:
    """One study's tables as the index reads them: a release's public snapshot, or a
    workspace's live rows (the private search)."""

    study_accession: str
    title: str  # shown when the study row has no brief title
    read: Callable[[str], pl.DataFrame]  # a table's rows of the study (empty if none)
    count: Callable[[str], int]  # a table's number of rows of the study


def build_index(release: "DataRelease | None" = None) -> SearchIndex:
    """The index of ``release`` (the current one by default), from its public tables."""
    from immunoport.releases.public import public_table, released_studies

    return index_of(
        StudyTables(
            study.study_accession,
            study.title,
            functools.partial(public_table, study),
            Counter(study.counts).__getitem__,  # 0 for a table the study lacks
        )
        for study in released_studies(release)
    )


def index_of(sources: Iterable[StudyTables]) -> SearchIndex:
    """The index of the studies whose tables ``sources`` read."""
    from immunoport.studies.registry import result_models

    read_from = list(sources)
    results = [model._meta.db_table for model in result_models()]

    def gather(table: str, columns: Mapping[str, Any]) -> pl.DataFrame:
        return _gather(read_from, table, columns)

    study = gather(
        "study",
        {
            "brief_title": pl.String,
            "official_title": pl.String,
            "brief_description": pl.String,
            "description": pl.String,
            "clinical_trial": pl.String,
        },
    )
    figures = pl.DataFrame(
        [
            {
                "study_accession": s.study_accession,
                "title": s.title,
                "subject_count": s.count("subject"),
                "result_count": sum(s.count(table) for table in results),
                "has_lab_tests": bool(s.count("lab_test")),
                "has_assessments": bool(
                    s.count("assessment_panel") or s.count("assessment_component")
                ),
            }
            for s in read_from
        ],
        schema={
            "study_accession": pl.String,
            "title": pl.String,
            "subject_count": pl.Int64,
            "result_count": pl.Int64,
            "has_lab_tests": pl.Boolean,
            "has_assessments": pl.Boolean,
        },
    )
    categories = gather("study_categorization", {"research_focus": pl.String}).select(
        "study_accession", _clean("research_focus").alias("value")
    )
    condition_rows = gather(
        "study_2_condition_or_disease",
        {"condition_preferred": pl.String, "condition_reported": pl.String},
    )
    conditions = condition_rows.select(
        "study_accession",
        pl.coalesce(_clean("condition_preferred"), _clean("condition_reported")).alias("value"),
    )
    extra_text = (  # text searched but not shown: one value a line
        pl.concat(
            [
                gather("arm_or_cohort", {"name": pl.String, "description": pl.String}).select(
                    "study_accession",
                    pl.concat_str(
                        [_clean("name"), _clean("description")], separator=": ", ignore_nulls=True
                    ).alias("value"),
                ),
                gather("inclusion_exclusion", {"criterion": pl.String}).select(
                    "study_accession", _clean("criterion").alias("value")
                ),
                condition_rows.select(
                    "study_accession", _clean("condition_reported").alias("value")
                ),
            ]
        )
        .filter(pl.col("value") != "")  # not null either
        .group_by("study_accession", maintain_order=True)
        .agg(pl.col("value").str.join("\n").alias("extra_text"))
    )
    biosamples = gather("biosample", {"type": pl.String}).select(
        "study_accession", _clean("type").alias("value")
    )
    assays = gather("experiment", {"measurement_technique": pl.String}).select(
        "study_accession", _clean("measurement_technique").alias("value")
    )
    programs = (
        gather("contract_grant_2_study", {"contract_grant_id": pl.String})
        .join(
            gather("contract_grant", {"contract_grant_id": pl.String, "program_id": pl.String}),
            on=["study_accession", "contract_grant_id"],
        )
        .join(
            gather("program", {"program_id": pl.String, "name": pl.String}),
            on=["study_accession", "program_id"],
        )
        .select("study_accession", _clean("name").alias("value"))
    )
    studies = (
        figures.join(study, on="study_accession", how="left")
        .with_columns(
            pl.coalesce(_clean("brief_title"), pl.col("title")).alias("brief_title"),
            (pl.col("clinical_trial").str.strip_chars().str.to_uppercase() == "Y")
            .fill_null(False)
            .alias("is_clinical_trial"),
        )
        .join(_lists(categories, "research_focus"), on="study_accession", how="left")
        .join(_lists(conditions, "condition_or_disease"), on="study_accession", how="left")
        .join(_lists(biosamples, "biosample_type"), on="study_accession", how="left")
        .join(_lists(assays, "assay_method"), on="study_accession", how="left")
        .join(_lists(programs, "program_name"), on="study_accession", how="left")
        .join(extra_text, on="study_accession", how="left")
        .with_columns(
            pl.col(f.key).fill_null(pl.lit([], dtype=pl.List(pl.String)))
            for f in STUDY_FACETS
            if not f.boolean
        )
    )
    return SearchIndex(studies, _subjects(gather))


def _subjects(gather: Callable[[str, Mapping[str, Any]], pl.DataFrame]) -> pl.DataFrame:
    from immunoport.releases.privacy import YEARS_PER_UNIT

    unit = (
        pl.col("age_unit")
        .str.strip_chars()
        .str.to_lowercase()
        .replace_strict(YEARS_PER_UNIT, default=1.0, return_dtype=pl.Float64)
    )
    ages = (
        gather(
            "arm_2_subject",
            {
                "subject_accession": pl.String,
                "min_subject_age": pl.Float64,
                "max_subject_age": pl.Float64,
                "age_unit": pl.String,
            },
        )
        .with_columns((pl.coalesce("min_subject_age", "max_subject_age") * unit).alias("age"))
        .group_by("study_accession", "subject_accession")
        .agg(pl.col("age").min())
    )
    columns = dict.fromkeys(
        ("subject_accession", "ethnicity", "gender", "race", "species"), pl.String
    )
    return (
        gather("subject", columns)
        .join(ages, on=["study_accession", "subject_accession"], how="left")
        .with_columns(
            age_group(pl.col("age")).alias("age_group"),
            *(
                _clean(c).fill_null(pl.lit(NOT_SPECIFIED)).alias(c)
                for c in ("ethnicity", "gender", "race", "species")
            ),
        )
        .unique(["study_accession", "subject_accession"], maintain_order=True)
    )


def age_group(age: pl.Expr) -> pl.Expr:
    """The age group (:data:`AGE_GROUPS`) of an age in years; null is Unknown."""
    group: Any = pl.when(age.is_null()).then(pl.lit(UNKNOWN_AGE))
    for name, below in AGE_GROUPS:
        group = group.when(age < below).then(pl.lit(name))
    return group.otherwise(pl.lit(UNKNOWN_AGE))


def _gather(read_from: "list[StudyTables]", table: str, columns: Mapping[str, Any]) -> pl.DataFrame:
    """``table``'s rows of every study, with its study_accession, in the columns and
    types of ``columns`` (a column a study's table lacks is null)."""
    schema = {"study_accession": pl.String, **columns}
    frames = [
        _conform(study.read(table), columns).with_columns(
            pl.lit(study.study_accession, pl.String).alias("study_accession")
        )
        for study in read_from
    ]
    return (
        pl.concat([_conform(f, schema) for f in frames]) if frames else pl.DataFrame(schema=schema)
    )


def _clean(column: str) -> pl.Expr:
    """A text value, trimmed; blank is null."""
    value = pl.col(column).str.strip_chars()
    return pl.when(value != "").then(value)


def _lists(values: pl.DataFrame, name: str) -> pl.DataFrame:
    """study_accession -> the sorted distinct non-null values, as a list column."""
    return (
        values.drop_nulls("value")
        .unique()
        .sort("value")
        .group_by("study_accession", maintain_order=True)
        .agg(pl.col("value").alias(name))
    )


# --- stored with the release ----------------------------------------------------------


def index_folder(release: "DataRelease") -> str:
    """Where a release's index is stored: ``studies.parquet`` and ``subjects.parquet``."""
    return f"releases/{release.label}/search"


def stored_index(release: "DataRelease") -> SearchIndex:
    """The index of ``release`` as stored with it, its text searched through the
    database's full-text engine.

    The release's download job stores it (``releases.services.build_downloads``);
    a release stored without one (made before the index was stored, or whose job has
    not run yet) has it built and stored here, once. The full-text rows are written
    with the index, and again if the database lacks them.
    """
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from immunoport.portal import fulltext
    from immunoport.releases.services import current_release

    folder = index_folder(release)
    if default_storage.exists(f"{folder}/studies.parquet"):
        index = SearchIndex(
            _read_stored(f"{folder}/studies.parquet"), _read_stored(f"{folder}/subjects.parquet")
        )
        write_text = fulltext.available() and not fulltext.has_rows(release)
    else:
        index = build_index(release)
        # subjects first: a stored studies.parquet stands for a whole index
        for name, frame in (("subjects", index.subjects), ("studies", index.studies)):
            buffer = io.BytesIO()
            frame.write_parquet(buffer)
            if not default_storage.exists(f"{folder}/{name}.parquet"):  # a racing builder
                default_storage.save(f"{folder}/{name}.parquet", ContentFile(buffer.getvalue()))
        write_text = True
    if write_text:
        current = current_release()
        fulltext.store(
            release,
            study_bodies(index.studies).iter_rows(),
            keep=current.pk if current is not None else None,
        )

    def text_search(text: str, ranked: bool) -> pl.Series | None:
        return (fulltext.ranked if ranked else fulltext.unranked)(release.pk, text)

    index.text_search = text_search
    return index


def _read_stored(name: str) -> pl.DataFrame:
    from django.core.files.storage import default_storage

    with default_storage.open(name, "rb") as handle:
        return pl.read_parquet(io.BytesIO(handle.read()))


# --- the current release's index, once per process --------------------------------------

_lock = threading.Lock()
_current: tuple[tuple[Any, ...], SearchIndex] | None = None


def current_index() -> SearchIndex:
    """The stored index of the current data release (:func:`stored_index`), read
    again when the release (or the storage or database it is read from) changes."""
    global _current
    from immunoport.releases.services import current_release

    release = current_release()
    key = _index_key(release)
    with _lock:
        if _current is None or _current[0] != key:
            _current = (key, stored_index(release) if release else SearchIndex.empty())
        return _current[1]


def _index_key(release: "DataRelease | None") -> tuple[Any, ...]:
    from django.conf import settings
    from django.core.files.storage import default_storage
    from django.db import connection

    storage = (  # tests and operators switch storages: the same release id is not enough
        repr(settings.STORAGES.get("default")),
        str(getattr(default_storage, "location", "")),
        str(getattr(default_storage, "bucket_name", "")),
        connection.vendor,
        str(connection.settings_dict.get("NAME")),
    )
    if release is None:
        return (None, *storage)
    return (release.pk, release.label, release.created_at, *storage)
