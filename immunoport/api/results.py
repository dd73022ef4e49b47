"""ImmPort's result endpoints (``/result/elisa``, ``/result/hai``, …) over the current release.

Each answers one of ImmPort's ``v_*_result`` views: a public result table of the
release joined with its experiment sample, biosample, subject, arm, experiment, study
and treatments, named and ordered as the reference lists the fields (those with no
source here are null). The shared filters are declared from the reference too.

Filters match text case-insensitively; a repeated parameter and a comma-separated
value both give several accepted values. Only the snapshots of studies holding the
endpoint's table (of those named by ``studyAccession``, when given) are read, and an
answer that would read more than ``MAX_ROWS`` result rows is refused with a request
to narrow it by study.
"""

from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

import polars as pl
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from pydantic import create_model

from immunoport.api import reference
from immunoport.api.auth import SIGNED_IN
from immunoport.api.tables import camel, table_response
from immunoport.releases import public

router = Router(tags=["results"])

# The most result rows one answer reads; ImmPort answers whole results, we ask for a study.
MAX_ROWS = 1_000_000


@dataclass(frozen=True)
class Result:
    """Where an endpoint's rows come from: a public table, plus columns derived from it."""

    table: str
    derived: dict[str, pl.Expr] = field(default_factory=dict)


RESULTS: dict[str, Result] = {
    "/result/elisa": Result("elisa_result"),
    "/result/elispot": Result("elispot_result"),
    "/result/hai": Result("hai_result"),
    "/result/neutAbTiter": Result("neut_ab_titer_result"),
    "/result/mbaa": Result("mbaa_result"),
    "/result/pcr": Result("pcr_result"),
    "/result/fcsAnalyzed": Result("fcs_analyzed_result"),
    "/result/hlaTyping": Result("hla_typing_result"),
    "/result/kirTyping": Result("kir_typing_result"),
    "/result/massSpectrometryResult": Result(
        "mass_spectrometry_result",
        {"mzratio": pl.col("m_z_ratio"), "zcharge": pl.col("z_charge")},
    ),
    "/result/filePath": Result(
        "expsample_2_file_info",
        {"source_type": pl.lit("EXPSAMPLE"), "source_accession": pl.col("expsample_accession")},
    ),
}


@dataclass(frozen=True)
class Lookup:
    """A public table joined to the rows on whichever of ``keys`` they have, adding the
    ``provides`` columns they lack (renamed from the table's own names)."""

    table: str
    keys: tuple[str, ...]
    provides: dict[str, str]

    def frame(self, accessions: list[str]) -> pl.DataFrame:
        return public.released_table(self.table, accessions)


@dataclass(frozen=True)
class ArmLookup(Lookup):
    """A subject's arm: arm_2_subject (ages, phenotype) with the arm's name and study."""

    def frame(self, accessions: list[str]) -> pl.DataFrame:
        members = public.released_table("arm_2_subject", accessions)
        arms = public.released_table("arm_or_cohort", accessions)
        if members.is_empty() or arms.is_empty():
            return pl.DataFrame()
        arms = arms.select("arm_accession", "study_accession", arm_name="name")
        return members.join(arms, on="arm_accession", how="left")


@dataclass(frozen=True)
class TreatmentLookup(Lookup):
    """An experiment sample's treatments, as a list of accessions."""

    def frame(self, accessions: list[str]) -> pl.DataFrame:
        treated = public.released_table("expsample_2_treatment", accessions)
        if treated.is_empty():
            return pl.DataFrame()
        return treated.group_by("expsample_accession", maintain_order=True).agg(
            pl.col("treatment_accession").unique(maintain_order=True)
        )


def _same(*names: str) -> dict[str, str]:
    return {name: name for name in names}


# In join order: a lookup may use columns an earlier one added (an expsample's biosample).
LOOKUPS: tuple[Lookup, ...] = (
    Lookup("expsample", ("expsample_accession",), _same("experiment_accession")),
    Lookup("expsample_2_biosample", ("expsample_accession",), _same("biosample_accession")),
    Lookup(
        "biosample",
        ("biosample_accession",),
        {
            "biosample_type": "type",
            "biosample_subtype": "subtype",
            **_same(
                "planned_visit_accession",
                "study_accession",
                "study_time_collected",
                "study_time_collected_unit",
                "study_time_t0_event",
                "study_time_t0_event_specify",
                "subject_accession",
            ),
        },
    ),
    Lookup(
        "experiment",
        ("experiment_accession",),
        _same("measurement_technique", "study_accession"),
    ),
    Lookup(
        "study", ("study_accession",), {"study_title": "brief_title", "clinical": "clinical_trial"}
    ),
    Lookup(
        "subject",
        ("subject_accession",),
        _same(
            "ancestral_population",
            "ethnicity",
            "gender",
            "race",
            "race_specify",
            "species",
            "strain",
        ),
    ),
    ArmLookup(
        "arm_2_subject",
        ("subject_accession", "arm_accession", "study_accession"),
        _same(
            "arm_accession",
            "arm_name",
            "age_event",
            "age_event_specify",
            "age_unit",
            "max_subject_age",
            "min_subject_age",
            "subject_phenotype",
        ),
    ),
    TreatmentLookup(
        "expsample_2_treatment", ("expsample_accession",), _same("treatment_accession")
    ),
    Lookup(
        "file_info",
        ("file_info_id",),
        {
            "file_detail": "detail",
            "file_name": "name",
            **_same("filesize_bytes", "original_file_name"),
        },
    ),
)

# Filters whose field goes by another name in the answer.
FILTERED_FIELD = {"sex": "gender"}
BOUNDS = {"Gte": "__ge__", "Lte": "__le__", "Gt": "__gt__", "Lt": "__lt__"}


@cache
def query_model(path: str) -> type[Schema]:
    """The endpoint's query parameters, as the reference declares them."""
    fields: dict[str, Any] = {}
    for param in reference.endpoint(path)["params"]:
        if param["name"] == "format":
            fields["format"] = (Literal["json", "tsv"], "json")
        elif param["type"] == "array<str>":
            fields[param["name"]] = (list[str] | None, None)
        else:
            fields[param["name"]] = (reference.TYPES[param["type"]] | None, None)
    name = reference.endpoint(path)["response"]["item_model"] + "Query"
    return create_model(name, __base__=Schema, **fields)


def _values(given: list[str]) -> list[str]:
    """Repeated and comma-separated values, lowered for a case-insensitive match."""
    return [v.strip().lower() for value in given for v in value.split(",") if v.strip()]


def _field(name: str) -> str:
    """The answer field a filter compares: ``minSubjectAgeGte`` → ``minSubjectAge``."""
    for suffix in BOUNDS:
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return FILTERED_FIELD.get(name, name)


def _condition(name: str, value: Any, schema: pl.Schema) -> pl.Expr:
    """The rows a filter keeps, on the answer's (camelCase) columns."""
    column = pl.col(_field(name))
    for suffix, compare in BOUNDS.items():
        if name.endswith(suffix):
            return getattr(column.cast(pl.Float64), compare)(value)
    if isinstance(value, float):
        return column.cast(pl.Float64) == value
    values = _values(value) if isinstance(value, list) else [value.lower()]
    if isinstance(schema[_field(name)], pl.List):  # a sample's treatments: any may match
        return column.list.eval(pl.element().str.to_lowercase().is_in(values)).list.any()
    return column.cast(pl.String).str.to_lowercase().is_in(values)


def _studies(table: str, accessions: list[str]) -> list[str]:
    """The released studies holding ``table``, of ``accessions`` when given."""
    studies = public.released_studies()
    if accessions:
        studies = studies.filter(study_accession__in=[a.upper() for a in accessions])
    held = [(study.study_accession, study.counts.get(table, 0)) for study in studies]
    held = [(accession, rows) for accession, rows in held if rows]
    total = sum(rows for _, rows in held)
    if total > MAX_ROWS:
        raise HttpError(
            400,
            f"This answer would read {total:,} result rows from {len(held)} studies; "
            f"at most {MAX_ROWS:,} are answered at once. Filter by studyAccession.",
        )
    return [accession for accession, _ in held]


def _joined(rows: pl.DataFrame, accessions: list[str]) -> pl.LazyFrame:
    """The result rows with every lookup's columns they lack."""
    joined = rows.lazy()
    for lookup in LOOKUPS:
        present = joined.collect_schema().names()
        keys = [key for key in lookup.keys if key in present]
        adds = {name: source for name, source in lookup.provides.items() if name not in present}
        if not keys or not adds:
            continue
        table = lookup.frame(accessions)
        if not set(keys) <= set(table.columns):
            continue
        picked = table.select(*keys, **{name: pl.col(source) for name, source in adds.items()})
        joined = joined.join(
            picked.unique(keys, keep="first", maintain_order=True).lazy(),
            on=keys,
            how="left",
        )
    return joined


def result_rows(path: str, filters: dict[str, Any]) -> pl.DataFrame:
    """The answer of a result endpoint: its fields, in order, for the rows ``filters`` keep.

    ``filters`` holds the query's parameters by their API names; None means not given.
    """
    source = RESULTS[path]
    fields = reference.field_names(path)
    accessions = _studies(source.table, _values(filters.get("studyAccession") or []))
    rows = public.released_table(source.table, accessions) if accessions else pl.DataFrame()
    if rows.is_empty():
        return pl.DataFrame(schema=dict.fromkeys(fields, pl.String))
    joined = _joined(rows.with_columns(**source.derived), accessions)
    answer = joined.rename(camel)
    given = {name: value for name, value in filters.items() if value is not None}
    wanted = [*fields, *(_field(name) for name in given)]
    present = answer.collect_schema().names()
    answer = answer.with_columns(
        pl.lit(None).alias(n) for n in dict.fromkeys(wanted) if n not in present
    )
    schema = answer.collect_schema()
    for name, value in given.items():
        answer = answer.filter(_condition(name, value, schema))
    listed = [name for name, dtype in schema.items() if isinstance(dtype, pl.List)]
    return (
        answer.with_columns(pl.col(listed).list.join(", "))
        .select(fields)
        .sort("resultId" if "resultId" in fields else fields[0])
        .collect()
    )


def _register(path: str) -> None:
    filters_model = query_model(path)

    def answer(request: HttpRequest, filters: Query[filters_model]) -> HttpResponse:  # type: ignore[valid-type]  # built from the reference
        given = filters.model_dump(exclude={"format"})  # type: ignore[attr-defined]
        name = path.rsplit("/", 1)[1]
        return table_response(result_rows(path, given), filters.format, name)  # type: ignore[attr-defined]

    described = reference.endpoint(path)
    router.add_api_operation(
        path.removeprefix("/result/"),
        ["GET"],
        answer,
        auth=SIGNED_IN,
        response=list[reference.answer_model(path)],  # type: ignore[misc]
        summary=described["summary"],
        operation_id=f"result_{path.rsplit('/', 1)[1]}",
    )


for _path in RESULTS:
    _register(_path)
