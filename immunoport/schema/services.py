"""ImmPort's lookup tables in the database: loading them, and reading them for pages."""

from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl
from django.db import transaction
from django.db.models import Count, F, QuerySet, Window
from django.db.models.functions import RowNumber

from immunoport.schema.models import Lookup, LookupTerm
from immunoport.schema.reference import lookup_index, read_lookup_file

_STANDARD = ("id", "link", "description")


@dataclass(frozen=True)
class LookupLoad:
    lookup: str
    terms: int
    removed: int


def _terms(lookup: Lookup, frame: pl.DataFrame) -> list[LookupTerm]:
    name_column, *others = frame.columns
    part_columns = [c for c in others if c not in _STANDARD]
    terms = []
    for row in frame.iter_rows(named=True):
        terms.append(
            LookupTerm(
                lookup=lookup,
                name=row[name_column],
                term_id=row.get("id", ""),
                link=row.get("link", ""),
                description=row.get("description", ""),
                parts={c.split(":", 1)[-1]: row[c] for c in part_columns},
            )
        )
    return terms


@transaction.atomic
def load_lookups() -> list[LookupLoad]:
    """Create or update all lookup tables; running it again changes nothing."""
    loads = []
    for entry in lookup_index():
        lookup, _ = Lookup.objects.update_or_create(
            name=entry["table"],
            defaults={"kind": entry["kind"], "name_components": entry["name_components"] or []},
        )
        frame = read_lookup_file(entry["file"])
        terms = _terms(lookup, frame)
        LookupTerm.objects.bulk_create(
            terms,
            batch_size=2000,
            update_conflicts=True,
            unique_fields=["lookup", "name"],
            update_fields=["term_id", "link", "description", "parts"],
        )
        removed, _ = (
            lookup.terms.exclude(name__in=[t.name for t in terms]).exclude(curated=True).delete()
        )
        loads.append(LookupLoad(lookup.name, len(terms), removed))
    return loads


@dataclass(frozen=True)
class LookupSample:
    """How many terms a lookup has, and its first terms by name."""

    name: str
    count: int
    terms: list[str]


def lookup_samples(names: Iterable[str], first: int) -> dict[str, LookupSample]:
    """Samples of several lookups in one query; a lookup not loaded has no terms."""
    wanted = set(names)
    ranked = (
        LookupTerm.objects.filter(lookup__in=wanted)
        .annotate(
            rank=Window(RowNumber(), partition_by=F("lookup"), order_by=F("name").asc()),
            total=Window(Count("pk"), partition_by=F("lookup")),
        )
        .filter(rank__lte=first)
        .order_by("lookup", "rank")
        .values_list("lookup", "name", "total")
    )
    counts: dict[str, int] = {}
    terms: dict[str, list[str]] = {name: [] for name in wanted}
    for lookup, term, total in ranked:
        counts[lookup] = total
        terms[lookup].append(term)
    return {name: LookupSample(name, counts.get(name, 0), terms[name]) for name in wanted}


def lookups_with_counts() -> QuerySet[Lookup]:
    return Lookup.objects.annotate(term_count=Count("terms")).order_by("name")
