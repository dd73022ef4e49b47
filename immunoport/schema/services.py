"""Loading ImmPort's lookup tables into the database."""

from dataclasses import dataclass

import polars as pl
from django.db import transaction

from immunoport.schema.models import Lookup, LookupTerm
from immunoport.schema.reference import LOOKUPS_DIR, lookup_index

_STANDARD = ("id", "link", "description")


@dataclass(frozen=True)
class LookupLoad:
    lookup: str
    terms: int
    removed: int


def read_lookup_file(file_name: str) -> pl.DataFrame:
    """One lookup TSV as strings; the first column is the term's name."""
    return pl.read_csv(
        LOOKUPS_DIR / file_name,
        separator="\t",
        quote_char=None,
        infer_schema=False,
    ).fill_null("")


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
        removed, _ = lookup.terms.exclude(name__in=[t.name for t in terms]).delete()
        loads.append(LookupLoad(lookup.name, len(terms), removed))
    return loads
