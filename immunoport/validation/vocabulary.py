"""ImmPort's lookups as the validator sees them: lower-cased terms and synonyms.

Read from the packaged lookup files with polars, once per process; no database.
"""

import difflib
from dataclasses import dataclass
from functools import cache, cached_property

import polars as pl

from immunoport.schema.reference import LOOKUPS_DIR, lookup_index


@dataclass(frozen=True)
class Vocabulary:
    name: str
    terms: pl.DataFrame  # "term" (ImmPort's spelling) and "key" (lower-cased)

    def suggestions(self, value: str, count: int = 3) -> list[str]:
        """The closest terms to a value that matched none ("did you mean ...")."""
        close = difflib.get_close_matches(value.lower(), self._keys, n=count, cutoff=0.6)
        return [self._spelled[key] for key in close]

    @cached_property
    def _keys(self) -> list[str]:
        return self.terms["key"].to_list()

    @cached_property
    def _spelled(self) -> dict[str, str]:
        return dict(zip(self._keys, self.terms["term"].to_list(), strict=True))


def _read(name: str) -> pl.DataFrame:
    entry = next(entry for entry in lookup_index() if entry["table"] == name)
    return pl.read_csv(
        LOOKUPS_DIR / entry["file"], separator="\t", quote_char=None, infer_schema=False
    ).fill_null("")


@cache
def vocabulary(name: str) -> Vocabulary:
    frame = _read(name)
    term = pl.col(frame.columns[0]).alias("term")
    # composite terms ("IL6 ; Interleukin-6 ; ANA123") also match by any of their parts
    spellings = [frame.columns[0], *(c for c in frame.columns if c.startswith("name_part_"))]
    terms = pl.concat(
        frame.select(term, pl.col(spelling).str.to_lowercase().alias("key"))
        for spelling in spellings
    ).filter(pl.col("key") != "")
    return Vocabulary(name, terms.unique("key", keep="first", maintain_order=True))


@cache
def synonyms(mapping_table: str) -> pl.DataFrame:
    """A synonym table (lk_*_pref_map): lower-cased reported spelling -> preferred term."""
    frame = _read(mapping_table)
    reported, preferred = frame.columns[:2]
    return frame.select(
        pl.col(reported).str.to_lowercase().alias("key"), pl.col(preferred).alias("preferred")
    ).unique("key", keep="first", maintain_order=True)
