"""The private search: a workspace member's own studies, searched as the shared data is.

Each workspace's search index (``portal.search``) is built from its studies' live rows
(``releases.snapshot``), as its members see them, before the release's privacy layer.
It is kept in this process's memory only: never in the storage, the cache, the public
index or the database's full-text tables. Its text is matched in memory, which is
quick for one member's studies.

Which workspaces a user may search comes from ``workspaces.permissions``.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import polars as pl
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Max, Model, OuterRef, QuerySet, Subquery

from immunoport.core.bulk import read_frame
from immunoport.curation.models import ValueMapping
from immunoport.ingest.models import Package
from immunoport.portal.search import SearchIndex, StudyTables, index_of
from immunoport.releases.snapshot import study_querysets
from immunoport.studies.drafts import StudyDraft
from immunoport.studies.history import RecordHistory
from immunoport.studies.models import Study
from immunoport.workspaces.models import Workspace
from immunoport.workspaces.permissions import workspaces_of

LIFETIME = 300  # seconds a workspace's index is kept at most, whatever its stamp says
KEPT = 64  # workspaces' indexes kept at most; the least recently built go first


def live_reader(study: Study) -> Callable[[str], pl.DataFrame]:
    """A reader of ``study``'s live rows, table by table (``releases.snapshot``): each
    table read once, when first asked for; an empty frame for a table it lacks."""
    selected = study_querysets(study)

    @cache
    def read(table: str) -> pl.DataFrame:
        queryset = selected.get(table)
        return pl.DataFrame() if queryset is None else read_frame(queryset.order_by("pk"))

    return read


def live_tables(study: Study) -> StudyTables:
    """``study``'s live tables as the search index reads them."""
    selected = study_querysets(study)

    def count(table: str) -> int:
        queryset = selected.get(table)
        return 0 if queryset is None else queryset.count()

    return StudyTables(study.pk, study.brief_title or study.pk, live_reader(study), count)


@dataclass(frozen=True)
class MemberIndex:
    """The index of every study of a user's workspaces, and each study's workspace."""

    index: SearchIndex
    workspaces: dict[str, Workspace]  # study accession -> its workspace


def member_index(user: AbstractBaseUser | AnonymousUser) -> MemberIndex:
    """The studies of every workspace ``user`` is a member of (none when signed out)."""
    indexes, workspaces = [], {}
    for workspace, stamp in _stamped(workspaces_of(user)):
        index = workspace_index(workspace, stamp)
        indexes.append(index)
        workspaces.update(dict.fromkeys(index.studies["study_accession"].to_list(), workspace))
    if not indexes:
        return MemberIndex(SearchIndex.empty(), {})
    if len(indexes) == 1:
        return MemberIndex(indexes[0], workspaces)
    return MemberIndex(
        SearchIndex(
            pl.concat([index.studies for index in indexes]),
            pl.concat([index.subjects for index in indexes]),
        ),
        workspaces,
    )


_lock = threading.Lock()
_kept: dict[tuple[Any, ...], tuple[float, SearchIndex]] = {}


def workspace_index(workspace: Workspace, stamp: tuple[Any, ...]) -> SearchIndex:
    """The index of every study of ``workspace``, from their live rows, kept per
    workspace and ``stamp`` (see :func:`_stamped`).

    The stamp changes, and the index is built again, when a study is added to or
    removed from the workspace, a package is loaded into it, a load or the
    registration wizard changes its records, or a curator maps a reported value to a
    lookup term. What leaves no such trace (a grant linked to a study, an edit in the
    admin) shows after :data:`LIFETIME` seconds at most.
    """
    key = (workspace.pk, *stamp)
    now = time.monotonic()
    with _lock:
        kept = _kept.get(key)
        if kept is not None and now - kept[0] < LIFETIME:
            return kept[1]
    studies = Study.objects.filter(workspace=workspace).order_by("pk")
    index = index_of(live_tables(study) for study in studies)
    with _lock:
        for stale in [k for k in _kept if k[0] == workspace.pk]:
            del _kept[stale]
        while len(_kept) >= KEPT:
            del _kept[min(_kept, key=lambda k: _kept[k][0])]
        _kept[key] = (now, index)
    return index


def _stamped(workspaces: QuerySet[Workspace]) -> list[tuple[Workspace, tuple[Any, ...]]]:
    """``workspaces`` by name, each with its stamp: what changes when its studies'
    rows do (see :func:`workspace_index`), all read in one query."""

    def newest(model: type[Model], field: str, **conditions: Any) -> Subquery:
        rows = model._default_manager.filter(workspace=OuterRef("pk"), **conditions)
        return Subquery(
            rows.order_by().values("workspace").annotate(newest=Max(field)).values("newest")
        )

    studies = Study.objects.filter(workspace=OuterRef("pk")).order_by().values("workspace")
    stamps = {
        "studies": Subquery(studies.annotate(n=Count("pk")).values("n")),
        "loaded": newest(Package, "finished_at", state=Package.State.LOADED),
        "changed": newest(RecordHistory, "changed_at"),
        "registered": newest(StudyDraft, "registered_at"),
        "mapped": Subquery(ValueMapping.objects.order_by("-mapped_at").values("mapped_at")[:1]),
    }
    return [
        (workspace, (workspace.created_at, *(getattr(workspace, name) for name in stamps)))
        for workspace in workspaces.annotate(**stamps).order_by("name")
    ]
