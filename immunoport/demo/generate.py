"""Synthetic ImmPort studies at any scale, for demos and load tests.

Studies are generated in chunks, each written in its own transaction. Every table
of a chunk is one polars frame built from vectorised numpy draws and written with
``insert_frame``; no Python code runs per row. Values come from the lookup tables,
accessions from the accession service (one call per table and chunk), and every
reference points at a row of the same chunk, so the data holds together like a real
study: a result's subject, arm, biosample, experiment sample and experiment all
belong to the result's study.

One study has 2-4 arms, 2-5 planned visits, 1-3 experiments (each with its
measurement technique and so its result table), a study protocol and one protocol
per experiment, and sometimes a lab test panel. Each subject is in one arm and
gives one biosample per visit and one experiment sample per visit and experiment,
as far as its ``results_per_subject`` results reach; several results of one
experiment sample measure different analytes, strains or cell populations.
"""

import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
import polars.selectors as cs
from django.db import models, transaction

from immunoport.core.accessions import issue_accessions
from immunoport.core.bulk import insert_frame
from immunoport.schema.models import LookupTerm
from immunoport.schema.services import load_lookups
from immunoport.studies.models import (
    Arm2Subject,
    ArmOrCohort,
    Biosample,
    ElisaResult,
    ElispotResult,
    Experiment,
    Experiment2Protocol,
    Expsample,
    Expsample2Biosample,
    FcsAnalyzedResult,
    HaiResult,
    LabTest,
    LabTestPanel,
    MbaaResult,
    NeutAbTiterResult,
    PcrResult,
    PlannedVisit,
    Protocol,
    Study,
    Study2ConditionOrDisease,
    Study2Protocol,
    StudyCategorization,
    Subject,
)
from immunoport.workspaces.models import Workspace

# Weights of the terms that dominate in ImmPort. Where a ``rest`` weight is given
# beside them (see _Chunk.draw) the other terms of the lookup share it.
_RESEARCH_FOCUS = {
    "Vaccine Response": 0.3,
    "Immune Response": 0.2,
    "Infection Response": 0.15,
    "Autoimmune": 0.1,
    "Atopy/Allergy": 0.05,
    "Transplantation": 0.05,
    "Oncology": 0.04,
}
_SPECIES = {"Homo sapiens": 0.82, "Mus musculus": 0.12, "Macaca mulatta": 0.03}
_GENDER = {"Female": 0.51, "Male": 0.46, "Not Specified": 0.02, "Unknown": 0.01}
_RACE = {
    "White": 0.58,
    "Black or African American": 0.13,
    "Asian": 0.1,
    "Multiracial": 0.03,
    "American Indian or Alaska Native": 0.01,
    "Native Hawaiian or Other Pacific Islander": 0.005,
    "Other": 0.03,
    "Unknown": 0.045,
    "Not Specified": 0.07,
}
_ETHNICITY = {
    "Not Hispanic or Latino": 0.78,
    "Hispanic or Latino": 0.15,
    "Not Specified": 0.06,
    "Other": 0.01,
}
_ARM_TYPE = {
    "Experimental Arm": 0.3,
    "Vaccination": 0.2,
    "Placebo Comparator Arm": 0.15,
    "Healthy Control": 0.15,
    "Observational": 0.1,
}
_SAMPLE_TYPE = {"PBMC": 0.3, "Serum": 0.25, "Whole blood": 0.15, "Plasma": 0.12}
_TIME_UNIT = {"Days": 0.85, "Weeks": 0.1, "Hours": 0.05}
_T0_EVENT = {
    "Time of initial vaccine administration": 0.4,
    "Time of enrollment": 0.4,
    "Time of infection": 0.1,
    "Time of initial treatment": 0.1,
}
_LAB_TEST_UNIT = {
    "mg/dl": 0.25,
    "cells/ul": 0.2,
    "g/dl": 0.15,
    "iu/l": 0.15,
    "percentage": 0.15,
    "umol/l": 0.1,
}
_MOUSE_STRAINS = pl.Series(["C57BL/6J", "BALB/c", "C57BL/6", "NOD/ShiLtJ", "129S1/SvImJ"])
_SPONSORS = pl.Series(["NIAID", "NIAID/DAIT", "NIH", "Bill & Melinda Gates Foundation"])

# Measurement technique -> (result table, weight among a study's experiments).
_TECHNIQUES = {
    "Flow Cytometry": ("fcs_analyzed_result", 0.2),
    "ELISA": ("elisa_result", 0.2),
    "Hemagglutination Inhibition": ("hai_result", 0.12),
    "Luminex xMAP": ("mbaa_result", 0.1),
    "ELISPOT": ("elispot_result", 0.08),
    "Q-PCR": ("pcr_result", 0.08),
    "Neutralizing Antibody Titer Assay": ("neut_ab_titer_result", 0.08),
    "Multiplex Bead Array Assay": ("mbaa_result", 0.06),
    "Microneutralization Assay": ("neut_ab_titer_result", 0.04),
    "CyTOF": ("fcs_analyzed_result", 0.04),
}
_RESULT_SCHEMA = {
    "elisa_result": "ELISA",
    "elispot_result": "ELISPOT",
    "fcs_analyzed_result": "FCS",
    "hai_result": "HAI",
    "mbaa_result": "MBAA",
    "neut_ab_titer_result": "NEUT_AB_TITER",
    "pcr_result": "PCR",
}
# Immunology symbols (regular expressions) of what each kind of assay measures.
_SOLUBLE_ANALYTES = r"IL\d+[A-Z]?|CCL\d+|CXCL\d+|IFN[ABGL]\d*|TNF[AB]|Ig[ADGM]\d?|TGFB\d"
_ELISPOT_ANALYTES = r"IFNG|IL2|IL4|IL5|IL10|IL13|IL17A|IL21|TNFA"

# Planned visits: study day, the window around it; study time in other units.
_VISIT_DAYS = np.array([0, 7, 28, 90, 180])
_VISIT_WINDOW = np.array([0, 1, 3, 7, 14])
_DAYS_TO_UNIT = {"Days": 1.0, "Hours": 24.0, "Weeks": 1 / 7}

# Age ranges of a study: years for human studies, weeks for animal ones.
_HUMAN_AGES = np.array([[18, 45], [18, 64], [50, 90], [0, 17], [18, 90], [6, 12]])
_ANIMAL_AGES = np.array([[6, 8], [6, 12], [8, 12], [8, 16]])

_CHUNK_ROWS = 300_000  # rows written per transaction, roughly; bounds memory


@dataclass(frozen=True)
class GenerationReport:
    rows: dict[str, int]  # rows written per table
    seconds: float

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def rows_per_second(self) -> float:
        return self.total_rows / self.seconds if self.seconds else 0.0


def generate(
    studies: int,
    subjects_per_study: int,
    results_per_subject: int,
    workspace: Workspace,
    *,
    seed: int = 0,
    chunk_rows: int = _CHUNK_ROWS,
) -> GenerationReport:
    """Write synthetic studies into ``workspace``; the same seed gives the same data."""
    if min(studies, subjects_per_study, results_per_subject) < 0:
        raise ValueError("studies, subjects and results must not be negative")
    start = time.perf_counter()
    if not LookupTerm.objects.exists():
        load_lookups()
    vocabulary = _Vocabulary()
    rng = np.random.default_rng(seed)
    per_chunk = max(1, chunk_rows // (subjects_per_study * (results_per_subject + 6) + 20))
    counts: Counter[str] = Counter()
    for first in range(0, studies, per_chunk):
        chunk = _Chunk(
            rng,
            vocabulary,
            workspace.pk,
            studies=min(per_chunk, studies - first),
            subjects_per_study=subjects_per_study,
            results_per_subject=results_per_subject,
        )
        with transaction.atomic():
            for model, frame in chunk.tables():
                counts[model._meta.db_table] += insert_frame(model, frame)
    return GenerationReport(dict(counts), time.perf_counter() - start)


class _Vocabulary:
    """The lookup terms the generator draws from, read from the database once per run."""

    def __init__(self):
        self._terms: dict[str, pl.DataFrame] = {}

    def terms(self, lookup: str) -> pl.DataFrame:
        """A lookup's terms: name, term_id, link, description and the parts of the name."""
        if lookup not in self._terms:
            self._terms[lookup] = self._read(lookup)
        return self._terms[lookup]

    @staticmethod
    def _read(lookup: str) -> pl.DataFrame:
        rows = list(
            LookupTerm.objects.filter(lookup_id=lookup)
            .order_by("name")
            .values_list("name", "term_id", "link", "description", "parts")
        )
        if not rows:
            raise LookupError(f"{lookup} has no terms; run `immunoport load-lookups`")
        columns = ("name", "term_id", "link", "description")
        frame = pl.DataFrame(
            dict(zip(columns, zip(*(row[:4] for row in rows), strict=True), strict=True)),
            schema=dict.fromkeys(columns, pl.String),
        )
        if rows[0][4]:
            frame = frame.hstack(pl.DataFrame([row[4] for row in rows]))
        return frame

    def names(self, lookup: str, only: Sequence[str] | None = None) -> pl.Series:
        """The lookup's term names, or just ``only`` after checking the lookup has them."""
        names = self.terms(lookup)["name"]
        if only is None:
            return names
        missing = set(only) - set(names)
        if missing:
            raise LookupError(f"{lookup} lacks {sorted(missing)}")
        return pl.Series(list(only), dtype=pl.String)

    def term(self, lookup: str, name: str) -> str:
        """``name``, after checking that ``lookup`` has it."""
        return self.names(lookup, [name])[0]

    def analytes(self, symbols: str) -> pl.DataFrame:
        """Human analytes with a gene id whose immunology symbol matches ``symbols``."""
        return self.terms("lk_analyte").filter(
            pl.col("short_label").str.starts_with("h"),
            pl.col("immunology_symbol").str.contains(f"^(?:{symbols})$"),
            pl.col("term_id").str.contains(r"^\d{1,10}$"),
        )

    def populations(self) -> pl.DataFrame:
        """Cell populations with their parent and, where ImmPort has one, their definition."""
        definitions = (
            self.terms("lk_cell_population_definition")
            .filter(pl.col("link") != "", pl.col("name").str.len_chars() <= 150)
            .unique("link", keep="first", maintain_order=True)
            .select("link", definition="name")
        )
        return (
            self.terms("lk_cell_population")
            .join(definitions, on="link", how="left")
            .select(
                name="population_name_preferred",
                definition="definition",
                parent=pl.when(pl.col("population_prefix_preferred").is_in(["T", "B", "NK"]))
                .then(pl.lit("lymphocyte"))
                .otherwise(pl.lit("leukocyte")),
            )
            .filter(~pl.col("name").is_in(["lymphocyte", "leukocyte"]))
        )


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Groups of the given sizes laid end to end: each member's group, each member's
    rank within its group, and each group's first position."""
    counts = np.asarray(counts, dtype=np.int64)
    starts = np.cumsum(counts) - counts
    owner = np.repeat(np.arange(counts.size), counts)
    return owner, np.arange(owner.size) - starts[owner], starts


def _pick(pool, keys: pl.Series | np.ndarray):
    """Rows of ``pool`` (a Series or DataFrame) chosen by integer keys, wrapping around."""
    return pool[np.asarray(keys) % len(pool)]


def _pair(stem: str, values) -> dict[str, object]:
    """ImmPort's reported/preferred column pair: the text a provider gave and the
    standard value (here the same; a number is reported as text)."""
    if isinstance(values, str):
        return {f"{stem}_reported": pl.lit(values), f"{stem}_preferred": pl.lit(values)}
    if isinstance(values, np.ndarray):
        return {
            f"{stem}_reported": pl.Series(values).cast(pl.String),
            f"{stem}_preferred": pl.Series(values, dtype=pl.Float64),
        }
    return {f"{stem}_reported": values, f"{stem}_preferred": values}


def _text(template: str, *values) -> pl.Series:
    """``template`` with each ``{}`` filled from the matching series, row by row."""
    return pl.select(pl.format(template, *(pl.lit(v) for v in values))).to_series()


def _accessions(model: type[models.Model], n: int) -> pl.Series:
    prefix: str = model.accession_prefix  # type: ignore[attr-defined]
    return pl.Series(issue_accessions(prefix, n), dtype=pl.String)


class _Chunk:
    """The tables of a chunk of studies, built one after another."""

    def __init__(
        self,
        rng: np.random.Generator,
        vocabulary: _Vocabulary,
        workspace_id: int,
        *,
        studies: int,
        subjects_per_study: int,
        results_per_subject: int,
    ):
        self.rng, self.vocabulary, self.workspace_id = rng, vocabulary, workspace_id
        self.studies, self.per_study = studies, subjects_per_study
        self.per_subject = results_per_subject

    def tables(self) -> Iterator[tuple[type[models.Model], pl.DataFrame]]:
        """Every table of the chunk, parents before children."""
        yield from self._studies()
        yield from self._design()
        yield from self._experiments()
        yield from self._subjects()
        if self.per_study and self.per_subject:
            yield from self._samples()
            yield from self._lab_tests()
            yield from self._results()

    def frame(self, **columns) -> pl.DataFrame:
        """A table's rows: series and arrays as given, expressions and scalars repeated."""
        arrays = {k: v for k, v in columns.items() if isinstance(v, pl.Series | np.ndarray)}
        constants = {
            k: v if isinstance(v, pl.Expr) else pl.lit(v)
            for k, v in columns.items()
            if k not in arrays
        }
        return pl.DataFrame(arrays).with_columns(
            workspace_id=pl.lit(self.workspace_id), **constants
        )

    def draw(
        self, lookup: str, n: int, weights: Mapping[str, float], rest: float = 0.0
    ) -> pl.Series:
        """``n`` terms of ``lookup`` drawn with ``weights``; the lookup's other terms
        share the ``rest`` weight."""
        names = self.vocabulary.names(lookup)
        self.vocabulary.names(lookup, list(weights))  # fails on a term the lookup lacks
        p = names.replace_strict(weights, default=0.0, return_dtype=pl.Float64).to_numpy(
            writable=True
        )
        others = p == 0
        if rest and others.any():
            p[others] = rest / others.sum()
        return names.gather(self.rng.choice(len(names), n, p=p / p.sum()))

    def top_k(self, groups: int, k: int, weights: np.ndarray) -> np.ndarray:
        """For each group, ``k`` distinct indices drawn with ``weights`` (Gumbel top-k)."""
        keys = np.log(weights) + self.rng.gumbel(size=(groups, weights.size))
        return np.argsort(-keys, axis=1)[:, :k]

    def _studies(self):
        rng, n = self.rng, self.studies
        self.n_arms = rng.integers(2, 5, n)
        self.n_visits = rng.integers(2, 6, n)
        self.n_experiments = rng.integers(1, 4, n)
        self.species = self.draw("lk_species", n, _SPECIES, rest=0.03)
        self.human = (self.species == "Homo sapiens").to_numpy()
        self.time_unit = self.draw("lk_time_unit", n, _TIME_UNIT)
        self.t0_event = self.draw("lk_t0_event", n, _T0_EVENT)
        self.sample_type = self.draw("lk_sample_type", n, _SAMPLE_TYPE, rest=0.18)
        focus = self.draw("lk_research_focus", n, _RESEARCH_FOCUS, rest=0.11)
        diseases = self.vocabulary.terms("lk_disease")["disease_preferred"]
        picked = self.top_k(n, 2, np.ones(len(diseases)))
        condition_study, condition_rank, _ = _expand(rng.integers(1, 3, n))
        conditions = diseases.gather(picked[condition_study, condition_rank])
        self.condition = diseases.gather(picked[:, 0])
        ages = np.where(
            self.human[:, None],
            _HUMAN_AGES[rng.integers(0, len(_HUMAN_AGES), n)],
            _ANIMAL_AGES[rng.integers(0, len(_ANIMAL_AGES), n)],
        )
        self.min_age, self.max_age = ages[:, 0], ages[:, 1]
        self.age_unit = pl.Series(np.where(self.human, "Years", "Weeks"))
        start = np.datetime64("2004-01-01") + rng.integers(0, 18 * 365, n).astype("m8[D]")
        completion = start + rng.integers(180, 5 * 365, n).astype("m8[D]")
        enrollment = np.full(n, self.per_study)
        focus_words = focus.str.to_lowercase()
        brief_description = _text(
            "Synthetic study of {} in {}: {} subjects in {} arms, followed over {} visits.",
            focus_words,
            self.condition,
            self.species,
            self.n_arms,
            self.n_visits,
        )

        titles = [
            _text("{} in {}", focus, self.condition),
            _text("{}: a {} study", self.condition, focus_words),
            _text("Profiling {} in {}", focus_words, self.condition),
        ]
        title = rng.integers(0, len(titles), n)

        self.study = _accessions(Study, n)
        yield (
            Study,
            self.frame(
                study_accession=self.study,
                brief_title=pl.select(
                    pl.concat_list([pl.lit(t) for t in titles]).list.get(pl.lit(title))
                ).to_series(),
                official_title=_text(
                    "{} in {} with {}: a {}-arm study over {} visits",
                    focus,
                    self.species,
                    self.condition,
                    self.n_arms,
                    self.n_visits,
                ),
                brief_description=brief_description,
                description=brief_description + " Generated by immunoport for demonstration.",
                objectives=_text("To characterise {} in {}.", focus_words, self.condition),
                condition_studied=conditions.to_frame("condition")
                .with_columns(study=condition_study)
                .group_by("study", maintain_order=True)
                .agg(pl.col("condition").str.join("; "))["condition"],
                actual_start_date=pl.Series(start),
                actual_completion_date=pl.Series(completion),
                minimum_age=pl.Series(self.min_age).cast(pl.String),
                maximum_age=pl.Series(self.max_age).cast(pl.String),
                age_unit=self.age_unit,
                target_enrollment=np.ceil(enrollment * rng.uniform(1, 1.3, n)).astype(np.int64),
                actual_enrollment=enrollment,
                clinical_trial=pl.Series(np.where(self.human & (rng.random(n) < 0.4), "Y", "N")),
                sponsoring_organization=_pick(_SPONSORS, rng.integers(0, len(_SPONSORS), n)),
                dcl_id=0,
            ),
        )
        yield StudyCategorization, self.frame(study_accession=self.study, research_focus=focus)
        yield (
            Study2ConditionOrDisease,
            self.frame(
                study_accession=self.study.gather(condition_study),
                **_pair("condition", conditions),
            ),
        )

    def _design(self):
        arm_study, arm_rank, self.arm_start = _expand(self.n_arms)
        arm_type = self.draw("lk_arm_type", arm_study.size, _ARM_TYPE, rest=0.1)
        self.arm = _accessions(ArmOrCohort, arm_study.size)
        yield (
            ArmOrCohort,
            self.frame(
                arm_accession=self.arm,
                study_accession=self.study.gather(arm_study),
                name=_text("Cohort {}", arm_rank + 1),
                description=_text(
                    "{}: subjects with {}", arm_type, self.condition.gather(arm_study)
                ),
                **_pair("type", arm_type),
            ),
        )
        visit_study, visit_rank, self.visit_start = _expand(self.n_visits)
        self.visit_day, self.visit_window = _VISIT_DAYS[visit_rank], _VISIT_WINDOW[visit_rank]
        self.visit_name = _text("Day {}", self.visit_day)
        self.visit = _accessions(PlannedVisit, visit_study.size)
        yield (
            PlannedVisit,
            self.frame(
                planned_visit_accession=self.visit,
                study_accession=self.study.gather(visit_study),
                name=self.visit_name,
                order_number=visit_rank + 1,
                min_start_day=(self.visit_day - self.visit_window).astype(np.float64),
                max_start_day=(self.visit_day + self.visit_window).astype(np.float64),
            ),
        )

    def _experiments(self):
        techniques = self.vocabulary.names("lk_exp_measurement_tech", list(_TECHNIQUES))
        weights = np.array([weight for _, weight in _TECHNIQUES.values()])
        chosen = self.top_k(self.studies, int(self.n_experiments.max()), weights)
        exp_study, exp_rank, self.experiment_start = _expand(self.n_experiments)
        technique = techniques.gather(chosen[exp_study, exp_rank])
        self.experiment_table = technique.replace_strict(
            {name: table for name, (table, _) in _TECHNIQUES.items()}
        )
        # Per experiment: where its panel of analytes (strains, populations) starts,
        # and which of the possible units it reports.
        self.experiment_panel = self.rng.integers(0, 1 << 30, exp_study.size)
        self.experiment_variant = self.rng.integers(0, 1 << 30, exp_study.size)
        self.experiment = _accessions(Experiment, exp_study.size)
        sample_type = self.sample_type.gather(exp_study)
        yield (
            Experiment,
            self.frame(
                experiment_accession=self.experiment,
                study_accession=self.study.gather(exp_study),
                measurement_technique=technique,
                name=_text("{} of {} samples", technique, sample_type),
                description=_text(
                    "{} of {} from subjects with {}",
                    technique,
                    sample_type,
                    self.condition.gather(exp_study),
                ),
            ),
        )
        # A study protocol for each study, then an assay protocol for each experiment.
        protocol = _accessions(Protocol, self.studies + exp_study.size)
        name = pl.concat(
            [
                _text("Study protocol of {}", self.study),
                _text("{} protocol of {}", technique, self.study.gather(exp_study)),
            ]
        )
        protocol_type = self.vocabulary.names("lk_protocol_type", ["Study Protocol", "Assay"])
        yield (
            Protocol,
            self.frame(
                protocol_accession=protocol,
                name=name,
                description=name,
                file_name=protocol + ".pdf",
                original_file_name=name.str.replace_all(" ", "_") + ".pdf",
                type=protocol_type.gather(np.repeat([0, 1], [self.studies, exp_study.size])),
            ),
        )
        yield (
            Study2Protocol,
            self.frame(
                study_accession=self.study.gather(
                    np.concatenate([np.arange(self.studies), exp_study])
                ),
                protocol_accession=protocol,
            ),
        )
        yield (
            Experiment2Protocol,
            self.frame(
                experiment_accession=self.experiment,
                protocol_accession=protocol[self.studies :],
            ),
        )

    def _subjects(self):
        rng, n = self.rng, self.studies * self.per_study
        study = self.subject_study = np.repeat(np.arange(self.studies), self.per_study)
        human = self.human[study]
        species = self.species.gather(study)
        self.subject_arm = self.arm_start[study] + (rng.random(n) * self.n_arms[study]).astype(
            np.int64
        )
        age = self.min_age[study] + (
            rng.random(n) * (self.max_age - self.min_age + 1)[study]
        ).astype(np.int64)
        strain = _pick(_MOUSE_STRAINS, rng.integers(0, len(_MOUSE_STRAINS), n))
        self.subject = _accessions(Subject, n)
        yield (
            Subject,
            self.frame(
                subject_accession=self.subject,
                species=species,
                gender=self.draw("lk_gender", n, _GENDER),
                race=_where(human, self.draw("lk_race", n, _RACE), "Not Specified"),
                ethnicity=_where(human, self.draw("lk_ethnicity", n, _ETHNICITY), "Not Specified"),
                strain=_where((species == "Mus musculus").to_numpy(), strain, None),
            ),
        )
        yield (
            Arm2Subject,
            self.frame(
                arm_accession=self.arm.gather(self.subject_arm),
                subject_accession=self.subject,
                age_event=self.vocabulary.term("lk_age_event", "Age at enrollment"),
                age_unit=self.age_unit.gather(study),
                min_subject_age=age.astype(np.float64),
                max_subject_age=age.astype(np.float64),
            ),
        )

    def _samples(self):
        study = self.subject_study
        visits = self.n_visits[study]
        bs_subject, bs_rank, self.biosample_start = _expand(np.minimum(self.per_subject, visits))
        bs_study = study[bs_subject]
        bs_visit = self.visit_start[bs_study] + bs_rank
        window = self.visit_window[bs_visit]
        day = self.visit_day[bs_visit] + self.rng.integers(-window, window + 1)
        unit = self.time_unit.gather(bs_study)
        self.biosample_time = np.round(day * unit.replace_strict(_DAYS_TO_UNIT).to_numpy(), 2)
        self.biosample_unit = unit
        self.biosample = _accessions(Biosample, bs_subject.size)
        sample_type = self.sample_type.gather(bs_study)
        yield (
            Biosample,
            self.frame(
                biosample_accession=self.biosample,
                subject_accession=self.subject.gather(bs_subject),
                study_accession=self.study.gather(bs_study),
                planned_visit_accession=self.visit.gather(bs_visit),
                name=_text("{}, {}", sample_type, self.visit_name.gather(bs_visit)),
                type=sample_type,
                study_time_collected=self.biosample_time,
                study_time_collected_unit=unit,
                study_time_t0_event=self.t0_event.gather(bs_study),
            ),
        )
        # Experiment samples of a subject: visit by visit for the first experiment,
        # then for the next; the n-th belongs to biosample n mod visits.
        pairs = visits * self.n_experiments[study]
        es_subject, es_rank, self.expsample_start = _expand(np.minimum(self.per_subject, pairs))
        es_visits = visits[es_subject]
        self.expsample_biosample = self.biosample_start[es_subject] + es_rank % es_visits
        self.expsample_experiment = self.experiment_start[study[es_subject]] + es_rank // es_visits
        self.expsample = _accessions(Expsample, es_subject.size)
        yield (
            Expsample,
            self.frame(
                expsample_accession=self.expsample,
                experiment_accession=self.experiment.gather(self.expsample_experiment),
                result_schema=self.experiment_table.gather(
                    self.expsample_experiment
                ).replace_strict(_RESULT_SCHEMA),
            ),
        )
        yield (
            Expsample2Biosample,
            self.frame(
                expsample_accession=self.expsample,
                biosample_accession=self.biosample.gather(self.expsample_biosample),
            ),
        )

    def _lab_tests(self):
        """A lab test panel for some studies, run on every subject's first biosample."""
        rng = self.rng
        panel_study = np.flatnonzero(rng.random(self.studies) < 0.3)
        panels = panel_study.size
        panel = _accessions(LabTestPanel, panels)
        yield (
            LabTestPanel,
            self.frame(
                lab_test_panel_accession=panel,
                study_accession=self.study.gather(panel_study),
                **_pair("name", self.draw("lk_lab_test_panel_name", panels, {}, rest=1)),
            ),
        )
        names = self.vocabulary.names("lk_lab_test_name")
        names = names.filter(names.str.len_chars() <= 40)  # lab_test.name_preferred's length
        n_tests = rng.integers(3, 7, panels)
        chosen = self.top_k(panels, 6, np.ones(len(names)))
        test_panel, test_rank, test_start = _expand(n_tests)
        test_name = names.gather(chosen[test_panel, test_rank])
        test_unit = self.draw("lk_unit_of_measure", test_panel.size, _LAB_TEST_UNIT)
        typical = rng.lognormal(2, 1.5, test_panel.size)
        row_panel, row_rank, _ = _expand(n_tests * self.per_study)
        test = test_start[row_panel] + row_rank % n_tests[row_panel]
        subject = panel_study[row_panel] * self.per_study + row_rank // n_tests[row_panel]
        yield (
            LabTest,
            self.frame(
                lab_test_accession=_accessions(LabTest, test.size),
                lab_test_panel_accession=panel.gather(row_panel),
                biosample_accession=self.biosample.gather(self.biosample_start[subject]),
                **_pair("name", test_name.gather(test)),
                **_pair("result_unit", test_unit.gather(test)),
                **_pair(
                    "result_value", np.round(typical[test] * rng.lognormal(0, 0.25, test.size), 2)
                ),
            ),
        )

    def _results(self):
        subjects = len(self.subject)
        subject = np.repeat(np.arange(subjects), self.per_subject)
        nth = np.tile(np.arange(self.per_subject), subjects)
        study = self.subject_study[subject]
        pairs = self.n_visits[study] * self.n_experiments[study]
        expsample = self.expsample_start[subject] + nth % pairs
        biosample = self.expsample_biosample[expsample]
        experiment = self.expsample_experiment[expsample]
        results = self.frame(
            study_accession=self.study.gather(study),
            subject_accession=self.subject.gather(subject),
            arm_accession=self.arm.gather(self.subject_arm[subject]),
            biosample_accession=self.biosample.gather(biosample),
            expsample_accession=self.expsample.gather(expsample),
            experiment_accession=self.experiment.gather(experiment),
            study_time_collected=self.biosample_time[biosample],
            study_time_collected_unit=self.biosample_unit.gather(biosample),
            _table=self.experiment_table.gather(experiment),
            # Successive results of one experiment sample take successive panel items.
            _panel=self.experiment_panel[experiment] + nth // pairs,
            _variant=self.experiment_variant[experiment],
        )
        by_table = results.partition_by("_table", as_dict=True)
        del results
        for table, (model, build) in _RESULT_TABLES.items():
            frame = by_table.pop((table,), None)
            if frame is not None:
                yield model, build(self, frame).drop(cs.starts_with("_"))

    def _analyte(self, frame: pl.DataFrame, symbols: str) -> dict[str, object]:
        analyte = _pick(self.vocabulary.analytes(symbols), frame["_panel"])
        return {
            **_pair("analyte", analyte["immunology_symbol"]),
            "analyte_accession": analyte["analyte_preferred"],
        }

    def _elisa(self, frame: pl.DataFrame) -> pl.DataFrame:
        units = self.vocabulary.names(
            "lk_concentration_unit", ["pg/ml", "ng/ml", "ug/ml", "AU/ml", "IU/ml"]
        )
        return frame.with_columns(
            **self._analyte(frame, _SOLUBLE_ANALYTES),
            **_pair("unit", _pick(units, frame["_variant"])),
            **_pair("value", np.round(self.rng.lognormal(3, 1.2, frame.height), 3)),
        )

    def _mbaa(self, frame: pl.DataFrame) -> pl.DataFrame:
        units = self.vocabulary.names("lk_concentration_unit", ["pg/ml", "ng/ml"])
        mfi = np.round(self.rng.lognormal(7, 1.2, frame.height), 1)
        return frame.with_columns(
            **self._analyte(frame, _SOLUBLE_ANALYTES),
            **_pair("concentration_unit", _pick(units, frame["_variant"])),
            **_pair("concentration_value", np.round(self.rng.lognormal(4, 1.5, frame.height), 3)),
            mfi=pl.Series(mfi).cast(pl.String),
            source_type=pl.lit(self.vocabulary.term("lk_source_type", "EXPSAMPLE")),
            source_accession="expsample_accession",
        ).drop("expsample_accession")

    def _elispot(self, frame: pl.DataFrame) -> pl.DataFrame:
        spots = self.rng.poisson(self.rng.lognormal(3.5, 1, frame.height))
        cells = _pick(np.array([100_000, 200_000, 250_000, 300_000]), frame["_variant"])
        return frame.with_columns(
            **self._analyte(frame, _ELISPOT_ANALYTES),
            **_pair("spot_number", spots),
            **_pair("cell_number", cells),
        )

    def _flow(self, frame: pl.DataFrame) -> pl.DataFrame:
        population = _pick(self.vocabulary.populations(), frame["_panel"])
        statistic = np.round(100 * self.rng.beta(2, 5, frame.height), 2)
        return frame.with_columns(
            **_pair("population_name", population["name"]),
            **_pair("parent_population", population["parent"]),
            **_pair("population_defnition", population["definition"]),
            **_pair("population_statistic", statistic),
            **_pair(
                "population_stat_unit",
                self.vocabulary.term("lk_cell_pop_statistic_unit", "percentage"),
            ),
        )

    def _titers(self, frame: pl.DataFrame, strains: pl.Series, lowest: int) -> pl.DataFrame:
        """Titers are two-fold dilutions from the assay's lowest one."""
        titer = lowest * 2 ** self.rng.binomial(9, 0.45, frame.height)
        return frame.with_columns(
            **_pair("virus_strain", _pick(strains, frame["_panel"])),
            **_pair("unit", self.vocabulary.term("lk_titer_unit", "titer")),
            **_pair("value", titer),
        )

    def _hai(self, frame: pl.DataFrame) -> pl.DataFrame:
        strains = self.vocabulary.names("lk_virus_strain")
        return self._titers(frame, strains.filter(strains.str.contains(r"^[AB]/")), lowest=5)

    def _neutralising(self, frame: pl.DataFrame) -> pl.DataFrame:
        return self._titers(frame, self.vocabulary.names("lk_virus_strain"), lowest=10)

    def _pcr(self, frame: pl.DataFrame) -> pl.DataFrame:
        gene = _pick(self.vocabulary.analytes(".+"), frame["_panel"])
        units = self.vocabulary.names("lk_pcr_expression_unit", ["Ct", "Cq", "Delta Ct"])
        cycles = np.round(np.clip(self.rng.normal(26, 4, frame.height), 8, 40), 2)
        return frame.with_columns(
            **_pair("gene_symbol", gene["immunology_symbol"]),
            analyte_accession=gene["analyte_preferred"],
            gene_id=gene["term_id"],
            gene_name=gene["description"],
            **_pair("unit", _pick(units, frame["_variant"])),
            **_pair("value", cycles),
        )


def _where(mask: np.ndarray, values: pl.Series, otherwise: str | None) -> pl.Series:
    """``values`` where ``mask`` holds, else ``otherwise``."""
    return pl.select(
        pl.when(pl.lit(pl.Series(mask, dtype=pl.Boolean)))
        .then(pl.lit(values))
        .otherwise(pl.lit(otherwise, dtype=pl.String))
    ).to_series()


_RESULT_TABLES = {
    "elisa_result": (ElisaResult, _Chunk._elisa),
    "elispot_result": (ElispotResult, _Chunk._elispot),
    "fcs_analyzed_result": (FcsAnalyzedResult, _Chunk._flow),
    "hai_result": (HaiResult, _Chunk._hai),
    "mbaa_result": (MbaaResult, _Chunk._mbaa),
    "neut_ab_titer_result": (NeutAbTiterResult, _Chunk._neutralising),
    "pcr_result": (PcrResult, _Chunk._pcr),
}
