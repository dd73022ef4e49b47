"""The curation queue: reported values without a preferred value, and their mapping.

Every template column with a preferred vocabulary keeps the provider's reported value
and fills a preferred value from ImmPort's lookup at load time (ingest.load_values).
What matched nothing waits here, grouped case-insensitively across all workspaces, for
a curator to map it to a term (``map_values``) or to add the missing term
(``add_term``). Each mapping is kept as a ``ValueMapping`` row; the latest one for a
value also gives packages loaded later their preferred value (``mapped_preferred``).

Counting and updating are done by the database, one query per table column.
"""

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from django.contrib.auth.models import User
from django.db import models, transaction
from django.db.models import Count, F, Q
from django.db.models.functions import Lower, Trim
from django.http import HttpRequest
from rapidfuzz import fuzz, process, utils

from immunoport.accounts import audit
from immunoport.curation.models import LookupTermAddition, ValueMapping
from immunoport.schema.models import Lookup, LookupTerm
from immunoport.schema.templates import templates
from immunoport.studies.registry import models_by_table
from immunoport.validation.vocabulary import synonyms


class CurationError(ValueError):
    """A mapping or a new term the services refuse; the message says why."""


@dataclass(frozen=True)
class ReportedColumn:
    """A table column of reported values and the columns its preferred value fills."""

    table: str
    reported: str
    preferred: str  # the ``*_preferred`` column: empty means "not mapped yet"
    lookup: str
    mapping_table: str | None  # ImmPort's synonyms (lk_*_pref_map), if any
    targets: tuple[str, ...]  # every column filled: the preferred one and name parts

    @property
    def model(self) -> type[models.Model]:
        return models_by_table()[self.table]


@dataclass(frozen=True)
class QueueItem:
    """One reported value (all spellings differing only in case and spaces) to map."""

    lookup: str
    key: str  # lower-cased, trimmed
    reported: str  # the most used spelling
    spellings: tuple[str, ...]
    rows: int
    studies: int
    tables: tuple[str, ...]


@dataclass(frozen=True)
class Suggestion:
    term: str
    score: float  # 0-100
    reason: str  # "synonym", "mapped before", "similar spelling"
    term_id: str = ""
    link: str = ""


@dataclass(frozen=True)
class MappingResult:
    mappings: list[ValueMapping]
    rows_changed: int
    per_table: dict[str, int] = field(default_factory=dict)


def _key(column: str) -> Trim:
    return Trim(Lower(column))


def _normal(value: str) -> str:
    return value.strip().lower()


@cache
def reported_columns() -> tuple[ReportedColumn, ...]:
    """Every (table, reported column) the registry gives a preferred vocabulary, whose
    reported and preferred columns both exist in the models."""
    found: dict[tuple[str, str], ReportedColumn] = {}
    by_table = models_by_table()
    for template in templates().values():
        for column in template.all_columns:
            model = by_table.get(column.db_table or "")
            if model is None or not column.db_column:
                continue
            if not column.preferred_vocabulary or not column.preferred_value_column:
                continue
            fields = {f.column for f in model._meta.concrete_fields}
            # "disease_preferred and disease_ontology_id": the ones the model has
            named = [n.strip() for n in column.preferred_value_column.split(" and ")]
            targets = [n for n in named if n in fields]
            preferred = [t for t in targets if t.endswith("_preferred")]
            if column.db_column not in fields or not preferred:
                continue
            found[(model._meta.db_table, column.db_column)] = ReportedColumn(
                table=model._meta.db_table,
                reported=column.db_column,
                preferred=preferred[-1],
                lookup=column.preferred_vocabulary,
                mapping_table=column.preferred_mapping_table,
                targets=tuple(targets),
            )
    return tuple(found[k] for k in sorted(found))


def _columns(lookup: str | None) -> list[ReportedColumn]:
    return [c for c in reported_columns() if lookup is None or c.lookup == lookup]


@cache
def _study_path(model: type[models.Model]) -> str | None:
    """How a row of ``model`` names its study ("study", "panel__study"), if it does:
    directly, or through a required reference that does. Shared tables (reagent) none."""
    names = {f.name for f in model._meta.concrete_fields}
    if "study" in names:
        return "study"
    for f in model._meta.concrete_fields:
        if f.is_relation and not f.null and f.name != "workspace" and f.related_model:
            related = {g.name for g in f.related_model._meta.concrete_fields}
            if "study" in related:
                return f"{f.name}__study"
    return None


def _unmapped(column: ReportedColumn) -> models.QuerySet:
    preferred = column.preferred
    return (
        column.model._default_manager.alias(_key=_key(column.reported))
        .exclude(**{f"{column.reported}__isnull": True})
        .exclude(_key="")
        .filter(Q(**{f"{preferred}__isnull": True}) | Q(**{preferred: ""}))
    )


def queue(lookup: str | None = None) -> list[QueueItem]:
    """Reported values with no preferred value yet, grouped case-insensitively across
    all workspaces, with the rows and studies using them; most used first."""
    rows: dict[tuple[str, str], int] = defaultdict(int)
    spellings: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    studies: dict[tuple[str, str], set[str]] = defaultdict(set)
    tables: dict[tuple[str, str], set[str]] = defaultdict(set)
    for column in _columns(lookup):
        path = _study_path(column.model)
        groups = (
            _unmapped(column)
            .values(
                key=_key(column.reported), spelling=F(column.reported), study_of_row=F(path or "pk")
            )
            .annotate(n=Count("pk"))
            .order_by()
        )
        # one row per (value, spelling, study), counted by the database
        for group in groups:
            item = (column.lookup, group["key"])
            rows[item] += group["n"]
            spellings[item][group["spelling"]] += group["n"]
            tables[item].add(column.table)
            if path and group["study_of_row"]:
                studies[item].add(group["study_of_row"])
    items = [
        QueueItem(
            lookup=item[0],
            key=item[1],
            reported=max(sorted(spellings[item]), key=spellings[item].__getitem__),
            spellings=tuple(sorted(spellings[item])),
            rows=count,
            studies=len(studies[item]),
            tables=tuple(sorted(tables[item])),
        )
        for item, count in rows.items()
    ]
    return sorted(items, key=lambda i: (-i.rows, i.lookup, i.key))


@dataclass(frozen=True)
class LookupQueue:
    """How much of one lookup's queue waits: distinct reported values and their rows."""

    lookup: str
    values: int
    rows: int


def queue_by_lookup() -> list[LookupQueue]:
    """Every lookup some table column fills a preferred value from, with its waiting
    reported values and rows; the lookups with most rows waiting first."""
    values: dict[str, int] = dict.fromkeys((c.lookup for c in reported_columns()), 0)
    rows = dict(values)
    for item in queue():
        values[item.lookup] += 1
        rows[item.lookup] += item.rows
    return sorted(
        (LookupQueue(lookup, values[lookup], rows[lookup]) for lookup in values),
        key=lambda q: (-q.rows, q.lookup),
    )


def lookups() -> set[str]:
    """The lookups whose reported values the queue holds."""
    return {c.lookup for c in reported_columns()}


def mapped_preferred(lookup: str) -> dict[str, str]:
    """Curators' mappings of a lookup: lower-cased reported value -> preferred term.

    The latest mapping of a value wins. The loader applies these to new rows.
    """
    latest: dict[str, str] = {}
    for reported, preferred in (
        ValueMapping.objects.filter(lookup_id=lookup)
        .order_by("pk")
        .values_list("reported_value", "preferred")
    ):
        latest[reported] = preferred
    return latest


def _synonyms_of(lookup: str) -> dict[str, str]:
    """ImmPort's reported synonyms of the lookup's terms, lower-cased."""
    out: dict[str, str] = {}
    for table in sorted({c.mapping_table for c in _columns(lookup) if c.mapping_table}):
        frame = synonyms(table)
        out.update(zip(frame["key"].to_list(), frame["preferred"].to_list(), strict=True))
    return out


def suggestions(lookup: str, value: str, n: int = 5) -> list[Suggestion]:
    """Terms of ``lookup`` a reported value may mean, best first: a term ImmPort's
    synonym tables (or a curator's earlier mapping) give for it, then terms of similar
    spelling (rapidfuzz's weighted ratio, case and punctuation ignored)."""
    return suggestions_for(lookup, [value], n)[value]


def suggestions_for(lookup: str, values: list[str], n: int = 5) -> dict[str, list[Suggestion]]:
    """``suggestions`` for many reported values of one lookup (a page of the queue),
    reading the lookup's terms, synonyms and mappings once."""
    terms = {
        name: (term_id, link)
        for name, term_id, link in LookupTerm.objects.filter(lookup_id=lookup).values_list(
            "name", "term_id", "link"
        )
    }
    if not terms:
        return {value: [] for value in values}
    by_lower = {name.lower(): name for name in terms}
    # a composite term ("influenza ; DOID:8469") is also named by its preferred part
    for name in terms:
        by_lower.setdefault(name.split(" ; ", 1)[0].lower(), name)
    known = (("synonym", _synonyms_of(lookup)), ("mapped before", mapped_preferred(lookup)))
    found: dict[str, list[Suggestion]] = {}
    for value in values:
        key = _normal(value)
        out: list[Suggestion] = []
        for reason, given in known:
            preferred = given.get(key)
            named = by_lower.get(preferred.lower()) if preferred else None
            if named and all(s.term != named for s in out):
                out.append(Suggestion(named, 100.0, reason, *terms[named]))
        for name, score, _ in process.extract(
            value, list(terms), scorer=fuzz.WRatio, processor=utils.default_process, limit=n
        ):
            if all(s.term != name for s in out):
                out.append(Suggestion(name, round(score, 1), "similar spelling", *terms[name]))
        found[value] = out[:n]
    return found


def _term(lookup: str, preferred: str, part: str) -> LookupTerm:
    """The term named ``preferred`` (any case); a composite term ("influenza ;
    DOID:8469") also by its ``part`` (disease_preferred)."""
    terms = LookupTerm.objects.filter(lookup_id=lookup).order_by("pk")
    name = preferred.strip()
    term = terms.filter(name__iexact=name).first()
    if term is None:
        term = terms.filter(**{f"parts__{part}__iexact": name}).first()
    if term is None:
        raise CurationError(f"{preferred!r} is not a term of {lookup}; add the term first.")
    return term


def map_values(
    lookup: str,
    reported_values: list[str],
    preferred: str,
    curator: User,
    *,
    note: str = "",
    request: HttpRequest | None = None,
) -> MappingResult:
    """Give every row (all workspaces, all studies) whose reported value is one of
    ``reported_values`` (any case, surrounding spaces ignored) the preferred term, in
    every table column using ``lookup``; one ``ValueMapping`` per reported value."""
    columns = _columns(lookup)
    if not columns:
        raise CurationError(f"No template column has {lookup} as its preferred vocabulary.")
    term = _term(lookup, preferred, columns[0].preferred)
    keys = sorted({_normal(v) for v in reported_values} - {""})
    if not keys:
        raise CurationError("No reported value to map.")
    changed: dict[str, int] = defaultdict(int)
    per_table: dict[str, int] = {}
    with transaction.atomic():
        for column in columns:
            # a name part where the lookup labels one (lk_disease's disease_ontology_id),
            # the term's name otherwise, as the loader fills them
            values = {t: term.parts.get(t, term.name) for t in column.targets}
            rows = (
                column.model._default_manager.alias(_key=_key(column.reported))
                .filter(_key__in=keys)
                .exclude(**values)
            )
            counts = rows.values(key=_key(column.reported)).annotate(n=Count("pk")).order_by()
            for group in counts:
                changed[group["key"]] += group["n"]
            per_table[f"{column.table}.{column.reported}"] = rows.update(**values)
        mappings = ValueMapping.objects.bulk_create(
            ValueMapping(
                lookup_id=lookup,
                reported_value=key,
                preferred=term.name,
                curator=curator,
                note=note,
                rows_changed=changed[key],
            )
            for key in keys
        )
        for mapping in mappings:
            audit.record(
                audit.Action.VALUE_MAPPED,
                request=request,
                actor=curator,
                target=lookup,
                reported=mapping.reported_value,
                preferred=mapping.preferred,
                rows=mapping.rows_changed,
            )
    return MappingResult(mappings, sum(changed.values()), per_table)


def map_chosen(
    lookup: str,
    chosen: dict[str, str],
    curator: User,
    *,
    note: str = "",
    request: HttpRequest | None = None,
) -> MappingResult:
    """Map many reported values at once (reported value -> preferred term): one
    ``map_values`` per distinct term, all or nothing, so a term that is not in the
    lookup leaves every row as it was."""
    if not chosen:
        raise CurationError("No reported value to map.")
    by_term: dict[str, list[str]] = defaultdict(list)
    for reported, preferred in chosen.items():
        if not preferred.strip():
            raise CurationError(f"Choose or type a term for {reported!r}.")
        by_term[preferred.strip()].append(reported)
    mappings: list[ValueMapping] = []
    per_table: dict[str, int] = defaultdict(int)
    with transaction.atomic():
        for preferred, reported_values in by_term.items():
            result = map_values(
                lookup, reported_values, preferred, curator, note=note, request=request
            )
            mappings.extend(result.mappings)
            for column, count in result.per_table.items():
                per_table[column] += count
    return MappingResult(mappings, sum(m.rows_changed for m in mappings), dict(per_table))


@dataclass(frozen=True)
class HistoryEntry:
    """A mapping or an added term, as the history page lists them."""

    at: datetime
    lookup: str
    curator: str  # the username, "" if the account is gone
    mapping: ValueMapping | None = None
    addition: LookupTermAddition | None = None


def history(lookup: str | None = None, *, start: int = 0, count: int = 100) -> list[HistoryEntry]:
    """Curators' mappings and added terms, newest first: entries ``start`` to
    ``start + count`` of both lists merged (two queries, the curators joined)."""
    mappings = ValueMapping.objects.select_related("curator").order_by("-mapped_at", "-pk")
    additions = LookupTermAddition.objects.select_related("curator").order_by("-added_at", "-pk")
    if lookup:
        mappings = mappings.filter(lookup_id=lookup)
        additions = additions.filter(lookup_id=lookup)
    end = start + count
    entries = [
        HistoryEntry(m.mapped_at, m.lookup_id, _username(m.curator), mapping=m)
        for m in mappings[:end]
    ] + [
        HistoryEntry(a.added_at, a.lookup_id, _username(a.curator), addition=a)
        for a in additions[:end]
    ]
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[start:end]


def history_size(lookup: str | None = None) -> int:
    mappings = ValueMapping.objects.all()
    additions = LookupTermAddition.objects.all()
    if lookup:
        mappings = mappings.filter(lookup_id=lookup)
        additions = additions.filter(lookup_id=lookup)
    return mappings.count() + additions.count()


def _username(user: User | None) -> str:
    return user.get_username() if user else ""


_CURIE = re.compile(r"^([A-Za-z][A-Za-z0-9]*)[:_]([A-Za-z0-9]+)$")


def add_term(
    lookup: str,
    name: str,
    *,
    ontology_id: str = "",
    link: str = "",
    description: str = "",
    curator: User,
    request: HttpRequest | None = None,
) -> LookupTerm:
    """A new term of ``lookup`` (the ontology identifier, "DOID:8469", in ``term_id``;
    its OBO PURL as link unless given), recorded as a ``LookupTermAddition``."""
    name = name.strip()
    ontology_id = ontology_id.strip()
    target = Lookup.objects.filter(name=lookup).first()
    if target is None:
        raise CurationError(f"There is no lookup {lookup}.")
    if not name:
        raise CurationError("A term needs a name.")
    parts: dict[str, str] = {}
    if target.name_components:
        pieces = [p.strip() for p in name.split(";")]
        if len(pieces) != len(target.name_components) or not all(pieces):
            layout = " ; ".join(target.name_components)
            raise CurationError(f"A term of {lookup} is named as {layout!r}.")
        parts = dict(zip(target.name_components, pieces, strict=True))
    existing = LookupTerm.objects.filter(lookup=target, name__iexact=name).first()
    if existing is not None:
        raise CurationError(f"{lookup} already has the term {existing.name!r}.")
    curie = _CURIE.match(ontology_id)
    if ontology_id and curie is None:
        raise CurationError(f"{ontology_id!r} is not an ontology identifier like DOID:8469.")
    if not link and curie:
        link = f"http://purl.obolibrary.org/obo/{curie[1]}_{curie[2]}"
    with transaction.atomic():
        term = LookupTerm.objects.create(
            lookup=target,
            name=name,
            term_id=ontology_id,
            link=link,
            description=description,
            parts=parts,
            curated=True,
        )
        LookupTermAddition.objects.create(
            lookup=target,
            term=term,
            name=name,
            ontology_id=ontology_id,
            link=link,
            curator=curator,
        )
        audit.record(
            audit.Action.TERM_ADDED,
            request=request,
            actor=curator,
            target=lookup,
            term=name,
            ontology_id=ontology_id,
        )
    return term
