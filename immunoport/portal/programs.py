"""Programs (HIPC and the like) as the current data release shows them.

ImmPort groups studies by program: contract_grant_2_study -> contract_grant -> program.
A program is public when a released study names it, and only through its released
studies: everything here comes from the release's snapshots (``releases.public``) and
the search index built from them, never from live rows. A program has no accession in
ImmPort's model; its ``program_id`` (ImmPort's own, kept by the importer) names it.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any, cast

import polars as pl
from django.core.cache import cache

from immunoport.portal import services
from immunoport.portal.search import (
    AGE_GROUPS,
    FACET_BY_KEY,
    NOT_SPECIFIED,
    UNKNOWN_AGE,
    current_index,
)
from immunoport.releases.models import DataRelease, ReleasedStudy
from immunoport.releases.public import released_studies, released_table
from immunoport.releases.services import current_release
from immunoport.studies.registry import result_models

CACHE_KEY = "portal:programs:{pk}"
AGE_ORDER = {name: i for i, name in enumerate([*(name for name, _ in AGE_GROUPS), UNKNOWN_AGE])}
# what a program's study list export holds, as the search page names its columns
STUDY_LIST_COLUMNS = (
    "study_accession",
    "brief_title",
    "subjects",
    "condition_or_disease",
    "assay_method",
    "research_focus",
)


@dataclass(frozen=True)
class Measurement:
    """One type of measurement (an experiment's measurement_technique) in a program."""

    assay_method: str
    studies: int
    experiments: int
    expsamples: int
    results: int


@dataclass(frozen=True)
class Program:
    program_id: int
    name: str
    short_name: str | None
    category: str | None
    description: str | None
    link: str | None
    start_date: date | None
    end_date: date | None
    contracts: list[dict[str, Any]]  # contract_grant rows naming a released study
    studies: list[str]  # released study accessions
    subjects: int  # distinct across its studies
    expsamples: int
    measurements: list[Measurement]
    # (value, distinct subjects), most first
    genders: list[tuple[str, int]]
    species: list[tuple[str, int]]
    age_groups: list[tuple[str, int]]  # youngest first

    @property
    def breakdowns(self) -> list[tuple[str, list[tuple[str, int]]]]:
        """The participants' breakdowns under their headings, as the search names them."""
        counted = {"gender": self.genders, "species": self.species, "age_group": self.age_groups}
        return [(FACET_BY_KEY[key].label, values) for key, values in counted.items()]


def programs() -> list[Program]:
    """Every program with a study in the current release, by name."""
    return sorted(_current().values(), key=lambda p: (p.name.lower(), p.program_id))


def program(program_id: int) -> Program | None:
    """A program of the current release; None when no released study names it."""
    return _current().get(program_id)


def program_studies(found: Program) -> list[ReleasedStudy]:
    """A program's studies as the current release holds them (titles, downloads)."""
    return list(released_studies().filter(study_accession__in=found.studies))


def study_list(found: Program) -> pl.DataFrame:
    """A program's studies as the search page's export writes them."""
    return services.cart_rows(found.studies, STUDY_LIST_COLUMNS)


def _current() -> dict[int, Program]:
    """The current release's programs, computed once per release (it never changes)."""
    release = current_release()
    if release is None:
        return {}
    found = cache.get_or_set(CACHE_KEY.format(pk=release.pk), lambda: _compute(release), None)
    return cast(dict[int, Program], found)


def _compute(release: DataRelease) -> dict[int, Program]:
    """The programs of ``release``, the current one (its subjects come from the current
    search index), from its snapshots: every table they need is read, results included."""
    released = {s.study_accession: s for s in released_studies(release)}
    links = released_table("contract_grant_2_study", release=release)
    if links.is_empty():
        return {}
    accessions = links["study_accession"].unique().to_list()
    grants = released_table("contract_grant", accessions, release).unique("contract_grant_id")
    rows = released_table("program", accessions, release).unique("program_id")
    study_programs = (
        links.join(grants.select("contract_grant_id", "program_id"), on="contract_grant_id")
        .select("study_accession", "program_id")
        .unique()
        .sort("study_accession")
    )
    measurements = _measurements(study_programs, accessions, release)
    subjects = study_programs.join(
        current_index().subjects.filter(pl.col("study_accession").is_in(accessions)),
        on="study_accession",
    )
    found: dict[int, Program] = {}
    for row in rows.iter_rows(named=True):
        program_id = row["program_id"]
        studies = study_programs.filter(pl.col("program_id") == program_id)[
            "study_accession"
        ].to_list()
        if not studies:  # named only by a grant no released study names
            continue
        people = subjects.filter(pl.col("program_id") == program_id).unique("subject_accession")
        contracts = grants.filter(
            pl.col("program_id") == program_id,
            pl.col("contract_grant_id").is_in(
                links.filter(pl.col("study_accession").is_in(studies))[
                    "contract_grant_id"
                ].to_list()
            ),
        ).sort("contract_grant_id")
        found[program_id] = Program(
            program_id=program_id,
            name=row["name"],
            short_name=row.get("short_name"),
            category=row.get("category"),
            description=row.get("description"),
            link=row.get("link"),
            start_date=row.get("start_date"),
            end_date=row.get("end_date"),
            contracts=contracts.to_dicts(),
            studies=studies,
            subjects=people.height,
            expsamples=sum(released[s].counts.get("expsample", 0) for s in studies),
            measurements=measurements.get(program_id, []),
            genders=_breakdown(people, "gender"),
            species=_breakdown(people, "species"),
            age_groups=sorted(
                _breakdown(people, "age_group"), key=lambda counted: AGE_ORDER[counted[0]]
            ),
        )
    return found


def _measurements(
    study_programs: pl.DataFrame, accessions: list[str], release: DataRelease
) -> dict[int, list[Measurement]]:
    """program_id -> its types of measurements, most studies first."""
    experiments = released_table("experiment", accessions, release)
    if experiments.is_empty():
        return {}
    results = [  # the result tables that name an experiment
        m._meta.db_table
        for m in result_models()
        if any(f.column == "experiment_accession" for f in m._meta.fields)
    ]
    figures = (
        experiments.select(
            "study_accession",
            "experiment_accession",
            pl.col("measurement_technique")
            .str.strip_chars()
            .replace("", None)
            .fill_null(NOT_SPECIFIED)
            .alias("assay_method"),
        )
        .join(
            _rows_per_experiment(["expsample"], accessions, release),
            on="experiment_accession",
            how="left",
        )
        .rename({"rows": "expsamples"})
        .join(
            _rows_per_experiment(results, accessions, release),
            on="experiment_accession",
            how="left",
        )
        .rename({"rows": "results"})
        .join(study_programs, on="study_accession")
        .group_by("program_id", "assay_method")
        .agg(
            pl.col("study_accession").n_unique().alias("studies"),
            pl.len().alias("experiments"),
            pl.col("expsamples").fill_null(0).sum(),
            pl.col("results").fill_null(0).sum(),
        )
        .sort("studies", "assay_method", descending=[True, False])
    )
    found: dict[int, list[Measurement]] = {}
    for row in figures.iter_rows(named=True):
        found.setdefault(row.pop("program_id"), []).append(Measurement(**row))
    return found


def _rows_per_experiment(
    tables: list[str], accessions: list[str], release: DataRelease
) -> pl.DataFrame:
    """experiment_accession -> rows of ``tables`` naming it."""
    frames = (released_table(table, accessions, release) for table in tables)
    named = [f.select(pl.col("experiment_accession").cast(pl.String)) for f in frames if f.height]
    if not named:
        return pl.DataFrame(schema={"experiment_accession": pl.String, "rows": pl.UInt32})
    return pl.concat(named).group_by("experiment_accession").len("rows")


def _breakdown(subjects: pl.DataFrame, column: str) -> list[tuple[str, int]]:
    counted = subjects[column].value_counts(sort=True, name="n")
    return [(value, n) for value, n in counted.sort("n", column, descending=[True, False]).rows()]
