"""Figures and listings for the public portal: the current data release only.

Everything here reads ``releases.public``: released snapshots, never live rows.
"""

import io
import re
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Collection, Hashable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

import polars as pl
from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

from immunoport.portal.models import CartItem
from immunoport.portal.search import (
    FACET_BY_KEY,
    FACETS,
    SORTS,
    YES,
    SearchIndex,
    SearchResult,
    StudyHit,
    current_index,
)
from immunoport.releases.public import released_studies
from immunoport.studies.registry import result_models

if TYPE_CHECKING:
    from django.http import QueryDict

T = TypeVar("T")

BANNER_CACHE_KEY = "portal:banner-figures"
BANNER_CACHE_SECONDS = 300


@dataclass(frozen=True)
class Figure:
    label: str
    value: int


def compute_banner_figures() -> list[Figure]:
    """ImmPort's home-page banner: what the current release holds."""
    studies = list(released_studies())
    results = {model._meta.db_table for model in result_models()}

    def total(*tables: str) -> int:
        return sum(study.counts.get(table, 0) for study in studies for table in tables)

    # distinct across studies (they share subjects and diseases): the search index,
    # built once per release, already holds both
    index = current_index()
    conditions = index.studies["condition_or_disease"].explode().drop_nulls().n_unique()
    subjects = index.subjects["subject_accession"].n_unique()
    return [
        Figure("Studies", len(studies)),
        Figure("Subjects", subjects),
        Figure("Diseases", conditions),
        Figure("Experiments", total("experiment")),
        Figure("Total Results", total(*results)),
        Figure("Lab Tests", total("lab_test")),
    ]


def banner_figures() -> list[Figure]:
    """The banner figures, recomputed at most every few minutes."""
    figures = cache.get_or_set(BANNER_CACHE_KEY, compute_banner_figures, BANNER_CACHE_SECONDS)
    return cast(list[Figure], figures)


def shared_study_list() -> list[dict]:
    """The current release's studies with their subject counts."""
    return [
        {
            "study_accession": study.study_accession,
            "brief_title": study.title,
            "subject_count": study.counts.get("subject", 0),
            "version": study.version,
            "release": study.release.label,
        }
        for study in released_studies()
    ]


# --- the shared data search page, its exports and the cart -------------------------------
# The page's query string carries the whole search (a search is a link); these turn it
# into a call of the index (portal/search.py) and the index's rows into table rows.

SEARCH_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Study", ("research_focus", "condition_or_disease", "biosample_type", "assay_method",
               "program_name")),
    ("Subject demographics", ("age_group", "ethnicity", "gender", "race", "species")),
    ("Miscellaneous", ("is_clinical_trial", "has_lab_tests", "has_assessments")),
)  # fmt: skip
ACCESSION_FILTER = "study_accession"  # the Study facet typed as a list of accessions
# column -> its heading; "subjects" is the count of matching subjects
SEARCH_COLUMNS: dict[str, str] = {
    "study_accession": "Accession",
    "brief_title": "Title",
    "brief_description": "Brief Description",
    "subjects": "Subjects",
    "result_count": "Results",
    "condition_or_disease": "Condition or Disease",
    "assay_method": "Assay Methods",
    "research_focus": "Research Focus",
    "biosample_type": "Biosample Type",
    "program_name": "Program Name",
    "is_clinical_trial": "Clinical Trial",
}
DEFAULT_COLUMNS = ("study_accession", "brief_title", "subjects", "condition_or_disease")
SORTABLE_COLUMNS = frozenset(SORTS)
PER_PAGE_CHOICES = (25, 50, 100)
EXPORT_FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# saved searches shown above the box: label -> query string parameters
QUICK_LINKS: tuple[tuple[str, dict[str, list[str]]], ...] = (
    ("COVID-19", {"q": ["covid"]}),
    ("Influenza", {"condition_or_disease": ["Influenza"]}),
    ("Vaccine response", {"research_focus": ["Vaccine Response"]}),
    ("Healthy adults", {"q": ["healthy"], "age_group": ["18-29", "30-49", "50-64"]}),
    ("Clinical trials", {"is_clinical_trial": [YES]}),
)
CHART_TOP = 5  # bars per facet chart
CHART_ROW, CHART_LABEL_WIDTH, CHART_BAR_WIDTH = 20, 130, 110  # pixels
CART_SESSION_KEY = "portal:cart"


@dataclass(frozen=True)
class SearchQuery:
    """One search as the page's query string states it, cleaned of unknown values."""

    text: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)
    accessions: list[str] = field(default_factory=list)
    sort: str | None = None  # by relevance when there is text, else by accession
    page: int = 1
    per_page: int = PER_PAGE_CHOICES[0]
    columns: list[str] = field(default_factory=lambda: list(DEFAULT_COLUMNS))

    @classmethod
    def from_params(cls, params: "QueryDict") -> "SearchQuery":
        sort = params.get("sort", "")
        # the accession is always shown: the rows' links and cart buttons need it
        columns = ["study_accession"] + [
            c for c in params.getlist("columns") if c in SEARCH_COLUMNS
        ]
        per_page = _positive(params.get("per_page"), 0)
        return cls(
            text=params.get("q", "").strip(),
            filters={
                f.key: sorted(set(params.getlist(f.key))) for f in FACETS if params.getlist(f.key)
            },
            accessions=parse_accessions(params.get(ACCESSION_FILTER, "")),
            sort=sort if sort.lstrip("-") in SORTABLE_COLUMNS else None,
            page=_positive(params.get("page"), 1),
            per_page=per_page if per_page in PER_PAGE_CHOICES else PER_PAGE_CHOICES[0],
            columns=sorted(set(columns), key=list(SEARCH_COLUMNS).index)
            if len(columns) > 1
            else list(DEFAULT_COLUMNS),
        )

    @property
    def matches_key(self) -> tuple[Hashable, ...]:
        """What chooses the matching studies (and so the facets' counts), hashable."""
        return (
            self.text,
            tuple((k, tuple(v)) for k, v in sorted(self.filters.items())),
            tuple(self.accessions),
        )

    @property
    def key(self) -> tuple[Hashable, ...]:
        """The whole query as a hashable value: equal queries, equal keys."""
        return (*self.matches_key, self.sort, self.page, self.per_page, tuple(self.columns))


class IndexCache:
    """Answers computed from a search index, kept with the index they came from.

    A data release never changes and its index is read once per process (a new
    release is a new :class:`SearchIndex` object), so an answer is a function of the
    index object and the question: each index has its own bounded table, least
    recently used first out, which goes when the index does.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._tables: weakref.WeakKeyDictionary[SearchIndex, OrderedDict[Hashable, Any]] = (
            weakref.WeakKeyDictionary()
        )

    def get(self, index: SearchIndex, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            table = self._tables.setdefault(index, OrderedDict())
            if key in table:
                table.move_to_end(key)
                return cast(T, table[key])
        value = compute()  # outside the lock: two threads may both compute a new key
        with self._lock:
            table[key] = value
            while len(table) > self.size:
                table.popitem(last=False)
        return value


SEARCH_CACHE = IndexCache(size=2_000)  # answers of the current release's public search


@dataclass(frozen=True)
class SearchPage:
    """What the search page shows of one search, but the user's own cart: the
    result, its table rows, and the facet lists and charts rendered (the bulk of the
    page: hundreds of values at ImmPort's size)."""

    result: SearchResult
    rows: list[dict[str, Any]]
    groups: list[tuple[str, list["FacetBox"]]]
    facets: SafeString  # groups, rendered
    charts: SafeString


def search_page(query: SearchQuery, index: SearchIndex | None = None) -> SearchPage:
    """The page of ``query`` in ``index``; the current release's public index by
    default, whose answers are cached (:data:`SEARCH_CACHE`): the page, and the facets
    and charts every page and order of the same search share. A page given ``index``
    (a member's private one) is computed anew every time."""
    cached = index is None
    searched = current_index() if index is None else index

    def remember(key: Hashable, compute: Callable[[], T]) -> T:
        return SEARCH_CACHE.get(searched, key, compute) if cached else compute()

    def found() -> tuple[SearchResult, list[dict[str, Any]]]:
        result = run_search(query, index=searched)
        return result, table_cells(hit_rows(result.studies, query.columns, searched))

    result, rows = remember(("page", query.key), found)
    facets = remember(("facets", query.matches_key), lambda: _facets(result, query))
    return SearchPage(result, rows, *facets)


def _facets(
    result: SearchResult, query: SearchQuery
) -> tuple[list[tuple[str, list["FacetBox"]]], SafeString, SafeString]:
    """The facets of ``result`` in their groups, their lists and charts rendered."""
    groups = facet_boxes(result, query)
    context = {"groups": groups, "query": query}
    return (
        groups,
        render_to_string("portal/search_facets.html", context),
        render_to_string("portal/search_charts.html", context),
    )


def parse_accessions(text: str) -> list[str]:
    """Study accessions typed into the filter, separated by commas or spaces."""
    return sorted({word.upper() for word in re.split(r"[\s,;]+", text) if word})


def _positive(value: str | None, default: int) -> int:
    try:
        number = int(value or "")
    except ValueError:
        return default
    return number if number >= 1 else default


def _index_for(accessions: Collection[str], index: SearchIndex | None) -> SearchIndex:
    """``index`` (the current release's by default), narrowed to ``accessions`` when
    there are any."""
    index = current_index() if index is None else index
    if not accessions:
        return index
    wanted = pl.col("study_accession").is_in(list(accessions))
    return SearchIndex(
        index.studies.filter(wanted), index.subjects.filter(wanted), text_search=index.text_search
    )


def run_search(
    query: SearchQuery, *, everything: bool = False, index: SearchIndex | None = None
) -> SearchResult:
    """The search ``query`` states, in ``index`` (the current release's by default);
    ``everything``: every match on one page."""
    index = _index_for(query.accessions, index)
    page, per_page = (
        (1, max(1, index.studies.height)) if everything else (query.page, query.per_page)
    )
    result = index.search(query.text, query.filters, sort=query.sort, page=page, per_page=per_page)
    if result.page > result.pages and not everything:  # a page past the end: the last
        result = index.search(
            query.text, query.filters, sort=query.sort, page=result.pages, per_page=per_page
        )
    return result


def hit_rows(
    hits: list[StudyHit], columns: Collection[str], index: SearchIndex | None = None
) -> pl.DataFrame:
    """The table rows of ``hits``, in their order: ``columns`` of the studies of
    ``index`` (the current release's by default; lists stay lists), with the matching
    subjects as ``subjects``."""
    frame = pl.DataFrame(
        [(h.study_accession, h.brief_title, h.subjects) for h in hits],
        schema={"study_accession": pl.String, "brief_title": pl.String, "subjects": pl.Int64},
        orient="row",
    )
    extra = [c for c in columns if c not in frame.columns]
    if extra:
        details = (current_index() if index is None else index).studies.select(
            "study_accession", *extra
        )
        frame = frame.join(details, on="study_accession", how="left", maintain_order="left")
    return frame.select(c for c in SEARCH_COLUMNS if c in columns)


def export_bytes(frame: pl.DataFrame, fmt: str) -> bytes:
    """``frame`` as a file: CSV, TSV, JSON (lists as arrays) or xlsx (headings as on
    the page; in CSV, TSV and xlsx a list is its values joined by "; ")."""
    if fmt == "json":
        return frame.write_json().encode()
    flat = frame.with_columns(
        pl.col(c).list.join("; ") for c, dtype in frame.schema.items() if dtype == pl.List
    ).rename({c: SEARCH_COLUMNS.get(c, c) for c in frame.columns})
    if fmt in ("csv", "tsv"):
        return flat.write_csv(separator="," if fmt == "csv" else "\t").encode()
    if fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("Studies")
        sheet.append(flat.columns)
        for row in flat.iter_rows():
            sheet.append(row)
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()
    raise ValueError(f"Unknown export format {fmt!r}: one of {', '.join(EXPORT_FORMATS)}.")


@dataclass(frozen=True)
class FacetChoice:
    value: str
    total: int
    selected: bool


@dataclass(frozen=True)
class Bar:
    """One bar of a facet's chart, laid out for an inline SVG (no script, no style)."""

    value: str
    total: int
    y: int
    width: int

    @property
    def text_y(self) -> int:
        return self.y + CHART_ROW - 6

    @property
    def count_x(self) -> int:
        return CHART_LABEL_WIDTH + self.width + 4


@dataclass(frozen=True)
class FacetBox:
    key: str
    label: str
    choices: list[FacetChoice]
    chart: list[Bar]  # the facet's top values

    @property
    def chart_height(self) -> int:
        return max(1, len(self.chart)) * CHART_ROW

    @property
    def checkboxes(self) -> SafeString:
        """A checkbox for each choice with its count. Written here, not in a template:
        a facet has hundreds of values at ImmPort's size, and a template's loop over
        them was most of a new search's time."""
        return format_html_join(
            "\n",
            '<label><input type="checkbox" name="{}" value="{}"{}> {} '
            '<span class="count">({})</span></label>',
            (
                (self.key, c.value, " checked" if c.selected else "", c.value, f"{c.total:,}")
                for c in self.choices
            ),
        )


def facet_boxes(result: SearchResult, query: SearchQuery) -> list[tuple[str, list[FacetBox]]]:
    """The facets in their groups: every value with its count, selected values first
    kept even at 0, and each facet's top values for its chart."""
    groups = []
    for heading, keys in SEARCH_GROUPS:
        boxes = []
        for key in keys:
            chosen = set(query.filters.get(key, ()))
            counted = result.facets.get(key, [])
            seen = {value for value, _ in counted}
            choices = [FacetChoice(v, t, v in chosen) for v, t in counted] + [
                FacetChoice(v, 0, True) for v in sorted(chosen - seen)
            ]
            chart = chart_bars(counted[:CHART_TOP])
            boxes.append(FacetBox(key, FACET_BY_KEY[key].label, choices, chart))
        groups.append((heading, boxes))
    return groups


def chart_bars(counted: Iterable[tuple[str, int]]) -> list[Bar]:
    """The bars of a chart of ``counted`` (value, total), in its order."""
    counted = list(counted)
    most = max((t for _, t in counted), default=0) or 1
    return [
        Bar(v, t, i * CHART_ROW, max(1, round(CHART_BAR_WIDTH * t / most)))
        for i, (v, t) in enumerate(counted)
    ]


# --- the cart: a signed-in user's in CartItem rows, a visitor's in the session -----------


def released_accessions() -> frozenset[str]:
    """The current release's study accessions, from its search index."""
    return frozenset(current_index().studies["study_accession"].to_list())


def cart_accessions(user: Any, session: Any) -> list[str]:
    """The cart's accessions in the order they were added (released or not)."""
    if user.is_authenticated:
        return list(CartItem.objects.filter(user=user).values_list("study_accession", flat=True))
    return list(session.get(CART_SESSION_KEY, []))


def add_to_cart(user: Any, session: Any, accessions: Iterable[str]) -> int:
    """Put the released studies among ``accessions`` in the cart; any other accession
    is ignored. Returns how many were new."""
    released = released_accessions()
    wanted = [a for a in dict.fromkeys(a.upper() for a in accessions) if a in released]
    if user.is_authenticated:
        made = CartItem.objects.bulk_create(
            [CartItem(user=user, study_accession=a) for a in wanted], ignore_conflicts=True
        )
        return len(made)  # with ignore_conflicts, every row tried: an upper bound
    cart = list(session.get(CART_SESSION_KEY, []))
    new = [a for a in wanted if a not in cart]
    session[CART_SESSION_KEY] = cart + new
    return len(new)


def remove_from_cart(user: Any, session: Any, accessions: Iterable[str]) -> None:
    gone = {a.upper() for a in accessions}
    if user.is_authenticated:
        CartItem.objects.filter(user=user, study_accession__in=gone).delete()
    else:
        cart = session.get(CART_SESSION_KEY, [])
        session[CART_SESSION_KEY] = [a for a in cart if a not in gone]


def merge_session_cart(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """At sign-in (``user_logged_in``), the visitor's session cart joins the user's."""
    session = getattr(request, "session", None)
    if session is None:
        return
    carried = session.pop(CART_SESSION_KEY, [])
    if carried:
        CartItem.objects.bulk_create(
            [CartItem(user=user, study_accession=a) for a in carried], ignore_conflicts=True
        )


def cart_rows(accessions: list[str], columns: Collection[str]) -> pl.DataFrame:
    """The cart's studies still in the current release, in cart order, as table rows
    (``subjects``: every subject of the study)."""
    studies = current_index().studies
    kept = pl.DataFrame({"study_accession": accessions}, schema={"study_accession": pl.String})
    details = [c for c in SEARCH_COLUMNS if c in studies.columns and c != "brief_title"]
    frame = kept.join(
        studies.select(
            *details,
            pl.col("brief_title").fill_null(pl.col("study_accession")),
            pl.col("subject_count").alias("subjects"),
        ),
        on="study_accession",
        how="inner",
        maintain_order="left",
    )
    return frame.select(c for c in SEARCH_COLUMNS if c in columns)


def table_cells(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows for a results table: the accession and each column's text, in order."""
    rows = []
    for row in frame.iter_rows(named=True):
        cells = []
        for column, value in row.items():
            if isinstance(value, list):
                value = "; ".join(value)
            elif isinstance(value, bool):
                value = YES if value else "No"
            cells.append((column, "" if value is None else value))
        rows.append({"study_accession": row.get("study_accession"), "cells": cells})
    return rows
