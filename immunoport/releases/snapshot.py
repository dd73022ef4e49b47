"""Which rows of ImmPort's tables make up one study, read as frames.

Derived from the models' references, not listed per table:

- a table *belongs to studies* when it names the study, or names a table that does
  (arm_or_cohort names study; arm_2_subject names arm_or_cohort; expsample names
  experiment ...). Its rows are the study's when every such reference they fill points
  at the study's rows: an arm_2_subject row of this study's arm, never one of the
  same subject in another study;
- the other tables (subject, protocol, reagent, treatment, file_info, contract_grant,
  program, personnel) are shared between studies: their rows are the study's when a
  row of the study names them;
- a few link tables between shared tables belong to the row they describe (a
  contract's personnel, a reagent set's members): ``_LINK_OWNER``.

Rows are selected by nested subqueries, so a study with a million results is read
table by table in chunks, never as lists of keys in Python.
"""

from functools import cache
from graphlib import TopologicalSorter

import polars as pl
from django.db.models import Model, Q, QuerySet

from immunoport.core.bulk import read_frame
from immunoport.studies.models import Study
from immunoport.studies.registry import models_by_table

# link tables between shared tables: the reference naming the row they belong to
_LINK_OWNER = {
    "contract_grant_2_personnel": "contract_grant",
    "program_2_personnel": "program",
    "reagent_set_2_reagent": "reagent_set",
}


def _references(model: type[Model]) -> list[tuple[str, str]]:
    """(field name, target table) of each reference of ``model`` but its workspace."""
    return [
        (f.name, f.related_model._meta.db_table)
        for f in model._meta.fields
        if f.is_relation and f.name != "workspace" and f.related_model is not None
    ]


@cache
def _plan() -> tuple[list[str], list[str]]:
    """(tables belonging to studies, parents first; other shared tables, those that
    name another first: contract_grant before program). Link tables are left out."""
    references = {table: _references(model) for table, model in models_by_table().items()}
    belongs = {"study"}
    while more := {
        table
        for table, refs in references.items()
        if table not in belongs and any(target in belongs for _, target in refs)
    }:
        belongs |= more
    # parents first: each table after those it names (a cycle raises graphlib.CycleError)
    owned = list(
        TopologicalSorter(
            {
                table: {t for _, t in references[table] if t in belongs and t != table}
                for table in sorted(belongs)
            }
        ).static_order()
    )
    shared = sorted(set(references) - belongs - set(_LINK_OWNER))
    # a shared table after every shared table that names it (contract_grant before program)
    ordered = list(
        TopologicalSorter(
            {
                table: {
                    other
                    for other in shared
                    if other != table and any(t == table for _, t in references[other])
                }
                for table in shared
            }
        ).static_order()
    )
    return owned, ordered


def study_querysets(study: Study) -> dict[str, QuerySet]:
    """Every ImmPort table's rows of ``study``, as querysets (nothing is read yet)."""
    models = models_by_table()
    owned, shared = _plan()
    selected: dict[str, QuerySet] = {"study": Study.objects.filter(pk=study.pk)}
    for table in (t for t in owned if t != "study"):
        model = models[table]
        refs = [(name, target) for name, target in _references(model) if target in owned]
        each = Q()
        some = Q(pk__in=[])
        for name, target in refs:
            rows = Q(**{f"{name}__in": _keys(selected, target)})
            each &= Q(**{f"{name}__isnull": True}) | rows
            some |= rows
        selected[table] = model._default_manager.filter(
            each & some, workspace_id=study.workspace_id
        )
    for table in shared:
        selected[table] = models[table]._default_manager.filter(_named(selected, table))
    # a shared row's links (a contract's personnel, a reagent set's members), then the
    # shared rows only those links name
    for link in _LINK_OWNER:
        either = Q(pk__in=[])
        for name, target in _references(models[link]):
            either |= Q(**{f"{name}__in": _keys(selected, target)})
        selected[link] = models[link]._default_manager.filter(either)
    for table in {target for link in _LINK_OWNER for _, target in _references(models[link])}:
        selected[table] = models[table]._default_manager.filter(
            Q(pk__in=_keys(selected, table)) | _named(selected, table, links=True)
        )
    return selected


def _named(selected: dict[str, QuerySet], table: str, *, links: bool = False) -> Q:
    """Rows of ``table`` that rows selected so far name (through links only, with
    ``links``)."""
    named = Q(pk__in=[])
    for other, queryset in list(selected.items()):
        if (other in _LINK_OWNER) != links:
            continue
        for name, target in _references(models_by_table()[other]):
            if target == table and name != _LINK_OWNER.get(other):
                named |= Q(pk__in=queryset.values(name))
    return named


def _keys(selected: dict[str, QuerySet], table: str) -> QuerySet:
    return selected[table].values("pk")


def study_frames(study: Study) -> dict[str, pl.DataFrame]:
    """Every ImmPort table's rows of ``study`` as frames, named by table columns."""
    return {
        table: read_frame(queryset.order_by("pk"))
        for table, queryset in sorted(study_querysets(study).items())
    }
