"""Values a template row does not spell out: lookup terms and preferred values.

- A column with a controlled vocabulary (Gender, Type, ...) is stored in the lookup's
  own spelling when the value is a term of it in another case ("female" -> "Female").
- A column with a preferred vocabulary keeps the reported value as given and fills
  the ``*_preferred`` columns its registry entry names (``preferred_value_column``):
  first through ImmPort's mapping table of reported synonyms (lk_*_pref_map) when
  the project holds it, then through curators' mappings of reported values to terms
  (immunoport.curation.services.map_values), then by the reported value being itself
  a term of the lookup (case-insensitive). Composite lookups (lk_disease: "name ;
  DOID:635") also fill the columns their name parts are labelled with
  (disease_ontology_id). A value matching nothing stays without a preferred value,
  for a curator to map.

Everything is a join of the whole column with the lookup; no value is looked at alone.
"""

from functools import cache

import polars as pl

from immunoport.curation.services import mapped_preferred
from immunoport.schema.reference import lookup_index, read_lookup_file
from immunoport.schema.templates import Column
from immunoport.validation.vocabulary import synonyms, vocabulary

_KEY = "_lookup_key"
_TERM = "_lookup_term"
_ADDED = "_curated_term"


@cache
def _lookup_files() -> dict[str, str]:
    return {entry["table"]: entry["file"] for entry in lookup_index()}


@cache
def _terms(name: str) -> pl.DataFrame:
    """``_KEY`` (lower-cased spelling), ``_TERM`` and one column per labelled name part."""
    frame = read_lookup_file(_lookup_files()[name])
    parts = {c: c.split(":", 1)[1] for c in frame.columns if c.startswith("name_part_")}
    spellings = [frame.columns[0], *parts]
    values = [
        pl.col(frame.columns[0]).alias(_TERM),
        *(
            pl.when(pl.col(c).str.strip_chars() != "")
            .then(pl.col(c).str.strip_chars())
            .alias(label)
            for c, label in parts.items()
        ),
    ]
    return (
        pl.concat(
            frame.select(pl.col(s).str.to_lowercase().str.strip_chars().alias(_KEY), *values)
            for s in spellings
        )
        .filter(pl.col(_KEY) != "")
        .unique(_KEY, keep="first", maintain_order=True)
    )


def _curated(lookup: str) -> pl.DataFrame:
    """Curators' mappings of ``lookup``: reported key -> the term lower-cased
    (``_mapped``) and as named (``_ADDED``, for terms only a curator added)."""
    latest = mapped_preferred(lookup)
    return pl.DataFrame(
        {
            _KEY: list(latest),
            "_mapped": [t.lower() for t in latest.values()],
            _ADDED: list(latest.values()),
        },
        schema={_KEY: pl.String, "_mapped": pl.String, _ADDED: pl.String},
    )


def canonical(frame: pl.DataFrame, name: str, lookup: str) -> pl.DataFrame:
    """``frame[name]`` in the lookup's spelling where it is a term of it in another case."""
    if lookup not in _lookup_files() or frame.is_empty():
        return frame
    terms = vocabulary(lookup).terms.select(pl.col("key").alias(_KEY), pl.col("term").alias(_TERM))
    joined = frame.with_columns(pl.col(name).str.to_lowercase().alias(_KEY)).join(
        terms, on=_KEY, how="left"
    )
    return joined.with_columns(pl.coalesce(_TERM, name).alias(name)).drop(_KEY, _TERM)


def preferred_targets(column: Column, table_columns: set[str]) -> list[str]:
    """The columns of the record that ``column``'s preferred value fills."""
    if not column.preferred_value_column or not column.preferred_vocabulary:
        return []
    named = [n.strip() for n in column.preferred_value_column.split(" and ")]
    return [n for n in named if n in table_columns]


def fill_preferred(
    frame: pl.DataFrame, reported: str, column: Column, targets: list[str]
) -> pl.DataFrame:
    """Fill ``targets`` where empty from the reported values in ``frame[reported]``."""
    lookup = column.preferred_vocabulary
    if not targets or lookup not in _lookup_files() or frame.is_empty():
        return frame
    terms = _terms(lookup)
    key = pl.col(reported).str.to_lowercase().str.strip_chars()
    out = frame.with_columns(key.alias(_KEY))
    # a reported synonym names the preferred term; look that term up in turn. ImmPort's
    # synonyms come first, then curators' mappings (immunoport.curation.services)
    mapped = _curated(lookup)
    mapping = column.preferred_mapping_table
    if mapping and mapping in _lookup_files():
        immport = synonyms(mapping).select(
            pl.col("key").alias(_KEY),
            pl.col("preferred").str.to_lowercase().alias("_mapped"),
            pl.lit(None, pl.String).alias(_ADDED),
        )
        mapped = pl.concat([immport, mapped]).unique(_KEY, keep="first", maintain_order=True)
    out = out.join(mapped, on=_KEY, how="left").with_columns(
        pl.coalesce("_mapped", _KEY).alias(_KEY)
    )
    out = out.drop("_mapped")
    labels = [c for c in terms.columns if c not in {_KEY, _TERM}]
    found = terms.select(
        _KEY,
        *(
            (pl.col(t) if t in labels else pl.col(_TERM)).alias(f"_found_{t}")
            for t in targets
            if t in labels or t.endswith("_preferred")
        ),
    )
    out = out.join(found, on=_KEY, how="left")
    # a term a curator added is not in ImmPort's file: its name, and its name parts
    # in the lookup's order, as they are
    added = pl.col(_ADDED).str.split(" ; ")
    out = out.with_columns(
        pl.coalesce(
            f"_found_{t}",
            added.list.get(labels.index(t), null_on_oob=True) if t in labels else _ADDED,
        ).alias(f"_found_{t}")
        for t in targets
        if f"_found_{t}" in out.columns
    ).drop(_ADDED)
    filled = [t for t in targets if f"_found_{t}" in out.columns]
    return out.with_columns(
        pl.coalesce(
            pl.col(t) if t in out.columns else pl.lit(None, pl.String), f"_found_{t}"
        ).alias(t)
        for t in filled
    ).drop(_KEY, *(f"_found_{t}" for t in filled))
