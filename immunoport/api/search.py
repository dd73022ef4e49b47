"""ImmPort's study and subject search (``/api/search/study``, ``/api/search/subject``).

The portal's search index (portal/search.py, the engine of the /shared/search/ page)
finds the studies matching the term and the facets; here they become ImmPort's
Elasticsearch-shaped answer, ``{"hits": {"total": {"value": N}, "hits": [{"_source":
{...}}]}}``, with ImmPort's snake_case source fields. What the index has no facet for
(accessions, ages, ``searchFields``) narrows its matches with plain column filters on
its public frames; sorting by any source field and ``fromRecord`` paging are done on the
matches, so pages are consecutive slices of one ordered list.

A subject-level filter (sex, race, ethnicity, species, ages, subject accessions) keeps
the studies with at least one subject passing all of them, as on the search page; the
subject search answers one hit per such subject and study.
"""

import re
from typing import Any, Literal

import polars as pl
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from immunoport.api.tables import table_response
from immunoport.portal.search import (
    FACETS,
    NO,
    YES,
    SearchIndex,
    current_index,
    words,
)
from immunoport.portal.services import IndexCache
from immunoport.releases.models import ReleasedStudy
from immunoport.releases.public import released_studies, released_table

router = Router(tags=["search"])

Kind = Literal["study", "subject"]
DEFAULT_PAGE_SIZE, MOST_PER_PAGE = 20, 10_000
LIST_SEPARATOR = "; "  # a list field's values in one TSV cell

# ImmPort's filter parameter -> the index's facet (portal/search.py FACETS)
FACET_PARAMETERS = {
    "programName": "program_name",
    "conditionOrDisease": "condition_or_disease",
    "researchFocus": "research_focus",
    "assayMethod": "assay_method",
    "biosampleType": "biosample_type",
    "clinicalTrial": "is_clinical_trial",
    "hasAssessment": "has_assessments",
    "hasLabTest": "has_lab_tests",
    "sex": "gender",
    "race": "race",
    "ethnicity": "ethnicity",
    "species": "species",
}
YES_NO = {"y": YES, "yes": YES, "n": NO, "no": NO}
BOOLEAN_FACETS = {f.key for f in FACETS if f.boolean}
SUBJECT_FACETS = {f.key for f in FACETS if f.level == "subject"}
PRINCIPAL_INVESTIGATOR = "Principal Investigator"

# The source fields of a hit, in order. Text fields are highlighted with preTag/postTag.
STUDY_TEXT = (
    "brief_title",
    "official_title",
    "brief_description",
    "description",
    "condition_or_disease",
    "research_focus",
    "biosample_type",
    "assay_method",
    "program_name",
)
# Read from the release for the answered page only (as study_pi): not sortable.
RELEASE_FIELDS = (
    "doi",
    "sex_included",
    "age_range",
    "pubmed_id",
    "contract_grant_name",
    "contract_grant_external_id",
    "initial_data_release_date",
    "initial_data_release_version_number",
    "latest_data_release_date",
    "latest_data_release_version_number",
    "assessment_panel_count",
    "lab_test_panel_count",
    "planned_visit_total_count",
    "shared_subject_count",
)
STUDY_FIELDS = (
    "study_accession",
    *STUDY_TEXT,
    "clinical_trial",
    "has_assessment",
    "has_lab_test",
    "actual_enrollment",
    "min_age",
    "max_age",
    "sex",
    "race",
    "ethnicity",
    "species",
    "study_pi",
    "assay_method_count",
    *RELEASE_FIELDS,
)
SUBJECT_FIELDS = (
    "subject_accession",
    "study_accession",
    "sex",
    "race",
    "ethnicity",
    "species",
    "min_age",
    "age_group",
    "brief_title",
    "condition_or_disease",
    "research_focus",
    "biosample_type",
    "assay_method",
    "program_name",
    "clinical_trial",
    "has_assessment",
    "has_lab_test",
)
FIELDS: dict[str, tuple[str, ...]] = {"study": STUDY_FIELDS, "subject": SUBJECT_FIELDS}
LIST_FIELDS = {
    "condition_or_disease",
    "research_focus",
    "biosample_type",
    "assay_method",
    "program_name",
    "sex",
    "race",
    "ethnicity",
    "species",
}
UNSORTABLE = {"study_pi", *RELEASE_FIELDS}  # read for the answered page only
# a study's row counts in the release, as ImmPort's count fields
COUNT_FIELDS = {
    "assessment_panel_count": "assessment_panel",
    "lab_test_panel_count": "lab_test_panel",
    "planned_visit_total_count": "planned_visit",
    "shared_subject_count": "subject",
}
# what chooses and shows a page of the matches, not the matches
PAGE_PARAMETERS = {"fromRecord", "pageSize", "preTag", "postTag", "format", "sourceFields"}
# the matches and pages of searches of the current release (it never changes)
CACHED = IndexCache(size=2_000)


class SearchParams(Schema):
    """ImmPort's search parameters; several values of a filter are comma separated."""

    term: str = Field("", description="Words that must all occur in the study's text.")
    fromRecord: int = Field(
        0, ge=0, le=2**31 - 1, description="Zero-based offset of the first hit."
    )
    pageSize: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MOST_PER_PAGE, description="Hits a page.")
    preTag: str = Field("", description="Written before each matched word in text fields.")
    postTag: str = Field("", description="Written after each matched word in text fields.")
    format: Literal["json", "tsv"] = "json"
    sourceFields: str = Field("", description="The source fields to answer, comma separated.")
    sortField: str = Field("", description="A source field; by default relevance or accession.")
    sortFieldDirection: str = Field("asc", description="asc or desc.")
    searchFields: str = Field("", description="The text fields the term must occur in.")
    studyAccession: str = ""
    subjectAccession: str = ""
    programName: str = ""
    conditionOrDisease: str = ""
    researchFocus: str = ""
    clinicalTrial: str = Field("", description="Y or N.")
    sex: str = ""
    race: str = ""
    ethnicity: str = ""
    species: str = ""
    minAge: float | None = Field(None, description="Subjects at least this old (years).")
    ageRange: str = Field("", description="Subjects' ages in whole years: 18-29, 90+, 65-.")
    assayMethod: str = ""
    biosampleType: str = ""
    hasAssessment: str = Field("", description="Y or N.")
    hasLabTest: str = Field("", description="Y or N.")


class Total(Schema):
    value: int


class Hit(Schema):
    source: dict[str, Any] = Field(alias="_source")


class Hits(Schema):
    total: Total
    hits: list[Hit]


class SearchAnswer(Schema):
    hits: Hits


# --- the search ------------------------------------------------------------------------


def _split(text: str, known: list[str]) -> list[str]:
    """The values of a comma-separated filter, spelled as ``known`` spells them (in any
    case); a known value holding a comma (some program names do) is kept whole."""
    whole = [value for value in known if "," in value and value.lower() in text.lower()]
    for value in whole:
        text = re.sub(re.escape(value), ",", text, flags=re.IGNORECASE)
    spelled = {value.lower(): value for value in known}
    parts = [part.strip() for part in text.split(",") if part.strip()]
    return whole + [spelled.get(part.lower(), part) for part in parts]


def _known(index: SearchIndex, facet: str) -> list[str]:
    frame = index.subjects if facet in SUBJECT_FACETS else index.studies
    column = frame[facet]
    if column.dtype == pl.List(pl.String):
        column = column.explode()
    return column.drop_nulls().unique().to_list()


def _facet_filters(index: SearchIndex, params: SearchParams) -> dict[str, list[str]]:
    filters = {}
    for parameter, facet in FACET_PARAMETERS.items():
        text = getattr(params, parameter)
        if not text.strip():
            continue
        if facet in BOOLEAN_FACETS:
            values = [part.strip().lower() for part in text.split(",") if part.strip()]
            if any(value not in YES_NO for value in values):
                raise HttpError(400, f"{parameter} takes Y or N, not {text!r}.")
            filters[facet] = [YES_NO[value] for value in values]
        else:
            filters[facet] = _split(text, _known(index, facet))
    return filters


def _age_range(text: str) -> tuple[float, float]:
    """``18-29`` (ages 18 to 29 in whole years, as the age facet's groups), ``90+`` or
    ``65-`` (65 and older), ``-17``."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)?\s*(?:-|\+)\s*(\d+(?:\.\d+)?)?\s*", text)
    if found is None or found[1] is None and found[2] is None:
        raise HttpError(400, f"ageRange is two ages in years, as 18-29 or 90+, not {text!r}.")
    low = float(found[1] or 0)
    high = float(found[2]) + 1 if found[2] is not None else float("inf")
    return low, high


def _yes_no(column: str) -> pl.Expr:
    return pl.when(pl.col(column)).then(pl.lit("Y")).otherwise(pl.lit("N"))


def study_sources(index: SearchIndex) -> pl.DataFrame:
    """Every study of the index with its source fields but study_pi; computed once
    per index (a group-by over every subject)."""
    return CACHED.get(index, "study sources", lambda: _study_sources(index))


def _study_sources(index: SearchIndex) -> pl.DataFrame:
    subjects = index.subjects.group_by("study_accession").agg(
        pl.col("age").min().alias("min_age"),
        pl.col("age").max().alias("max_age"),
        *(
            pl.col(column).drop_nulls().unique().sort().alias(field)
            for column, field in (
                ("gender", "sex"),
                ("race", "race"),
                ("ethnicity", "ethnicity"),
                ("species", "species"),
            )
        ),
    )
    return index.studies.select(
        "study_accession",
        *STUDY_TEXT,
        _yes_no("is_clinical_trial").alias("clinical_trial"),
        _yes_no("has_assessments").alias("has_assessment"),
        _yes_no("has_lab_tests").alias("has_lab_test"),
        pl.col("subject_count").alias("actual_enrollment"),
        pl.col("assay_method").list.len().alias("assay_method_count"),
    ).join(subjects, on="study_accession", how="left", maintain_order="left")


def _subjects(index: SearchIndex, filters: dict[str, list[str]], params: SearchParams):
    """The index's subjects passing every subject-level filter, and whether any was given."""
    conditions = [
        pl.col(facet).is_in(values) for facet, values in filters.items() if facet in SUBJECT_FACETS
    ]
    if params.subjectAccession.strip():
        wanted = [a.strip().upper() for a in params.subjectAccession.split(",") if a.strip()]
        conditions.append(pl.col("subject_accession").is_in(wanted))
    if params.minAge is not None:
        conditions.append(pl.col("age") >= params.minAge)
    if params.ageRange.strip():
        low, high = _age_range(params.ageRange)
        conditions.append((pl.col("age") >= low) & (pl.col("age") < high))
    subjects = index.subjects.filter(*conditions) if conditions else index.subjects
    return subjects, bool(conditions)


def _text_in(fields: list[str], terms: list[str]) -> pl.Expr:
    """Every word of ``terms`` occurs (in any case, as part of a word) in one of ``fields``."""
    text = pl.concat_str(
        [
            pl.col(f).list.join("\n") if f in LIST_FIELDS else pl.col(f).cast(pl.String)
            for f in fields
        ],
        separator="\n",
        ignore_nulls=True,
    ).str.to_lowercase()
    return pl.all_horizontal(text.str.contains(term, literal=True) for term in terms)


def _names(text: str, kind: Kind, parameter: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in FIELDS[kind]]
    if unknown:
        raise HttpError(
            400,
            f"Unknown {parameter} {', '.join(unknown)}: one of {', '.join(FIELDS[kind])}.",
        )
    return names


def search_records(kind: Kind, params: SearchParams) -> pl.DataFrame:
    """Every study (or subject) matching ``params``, in the answer's order, with the
    source fields (study_pi is added by :func:`with_study_pi` for a page); cached per
    current index, so the pages and the download of one search share it."""
    if params.sortFieldDirection.lower() not in ("asc", "desc"):
        raise HttpError(
            400, f"sortFieldDirection is asc or desc, not {params.sortFieldDirection!r}."
        )
    sort = params.sortField.strip()
    if sort and (sort not in FIELDS[kind] or sort in UNSORTABLE):
        sortable = [f for f in FIELDS[kind] if f not in UNSORTABLE]
        raise HttpError(400, f"Unknown sortField {sort!r}: one of {', '.join(sortable)}.")
    search_fields = _names(params.searchFields, kind, "searchFields")
    index = current_index()
    key = ("records", kind, _key(params, exclude=PAGE_PARAMETERS))
    return CACHED.get(index, key, lambda: _records(index, kind, params, search_fields, sort))


def _records(
    index: SearchIndex, kind: Kind, params: SearchParams, search_fields: list[str], sort: str
) -> pl.DataFrame:
    """:func:`search_records`, once its parameters are checked."""
    filters = _facet_filters(index, params)
    found = index.search(params.term, filters, page=1, per_page=max(1, index.studies.height))
    order = pl.DataFrame(
        {"study_accession": [hit.study_accession for hit in found.studies]},
        schema={"study_accession": pl.String},
    )
    studies = order.join(
        study_sources(index), on="study_accession", how="left", maintain_order="left"
    )
    if params.studyAccession.strip():
        wanted = [a.strip().upper() for a in params.studyAccession.split(",") if a.strip()]
        studies = studies.filter(pl.col("study_accession").is_in(wanted))
    terms = words(params.term)
    if search_fields and terms:
        studies = studies.filter(
            _text_in([f for f in search_fields if f in studies.columns], terms)
        )
    subjects, narrowed = _subjects(index, filters, params)
    if narrowed:
        studies = studies.filter(pl.col("study_accession").is_in(subjects["study_accession"]))

    if kind == "study":
        records = studies.with_columns(
            pl.lit(None, pl.String).alias(field) for field in ("study_pi", *RELEASE_FIELDS)
        )
    else:
        records = (
            studies.drop("sex", "race", "ethnicity", "species", "min_age")
            .with_row_index("_study")
            .join(
                subjects.rename({"gender": "sex", "age": "min_age"}),
                on="study_accession",
                how="inner",
            )
            .sort("_study", "subject_accession")
        )
    records = records.select(FIELDS[kind])
    if sort:
        key = pl.col(sort).list.join(LIST_SEPARATOR) if sort in LIST_FIELDS else pl.col(sort)
        records = records.sort(
            key,
            descending=params.sortFieldDirection.lower() == "desc",
            nulls_last=True,
            maintain_order=True,
        )
    return records


def with_study_pi(records: pl.DataFrame) -> pl.DataFrame:
    """``records`` with each study's principal investigators' names (read for these
    studies only, from the release's study_personnel)."""
    if "study_pi" not in records.columns or records.is_empty():
        return records
    people = released_table("study_personnel", records["study_accession"].unique().to_list())
    if people.is_empty() or "role_in_study" not in people.columns:
        return records
    names = (
        people.filter(pl.col("role_in_study") == PRINCIPAL_INVESTIGATOR)
        .group_by("study_accession", maintain_order=True)
        .agg(
            pl.concat_str(["first_name", "last_name"], separator=" ", ignore_nulls=True)
            .str.join(LIST_SEPARATOR)
            .alias("_pi")
        )
    )
    return (
        records.join(names, on="study_accession", how="left", maintain_order="left")
        .with_columns(pl.col("_pi").alias("study_pi"))
        .drop("_pi")
    )


def with_page_fields(records: pl.DataFrame, fields: list[str]) -> pl.DataFrame:
    """``records`` with those of ``fields`` that are read from the release for these
    studies only (study_pi and :data:`RELEASE_FIELDS`)."""
    if "study_pi" in fields:
        records = with_study_pi(records)
    return with_release_fields(records, [f for f in RELEASE_FIELDS if f in fields])


def with_release_fields(records: pl.DataFrame, wanted: list[str]) -> pl.DataFrame:
    """``records`` with the ``wanted`` release fields of their studies: the study row's
    DOI, sexes and ages included, publications, grants, counts, and the data releases
    that first held the study and published its current version."""
    if not wanted or records.is_empty():
        return records
    accessions = records["study_accession"].unique().to_list()
    versions = ReleasedStudy.objects.filter(study_accession__in=accessions).select_related(
        "release"
    )
    current = {
        s.study_accession: s for s in released_studies().filter(study_accession__in=accessions)
    }
    history: dict[str, list[ReleasedStudy]] = {}
    for each in sorted(versions, key=lambda s: (s.release.major, s.release.minor)):
        history.setdefault(each.study_accession, []).append(each)

    def published(accession: str, first_version: bool) -> ReleasedStudy | None:
        held = history.get(accession, [])
        version = current[accession].version if accession in current else None
        return next((s for s in held if first_version or s.version == version), None)

    def release_row(accession: str) -> dict[str, Any]:
        released, first, latest = (
            current.get(accession),
            published(accession, True),
            published(accession, False),
        )
        return {
            "study_accession": accession,
            "_doi": released.doi if released else None,
            "initial_data_release_date": _date(first),
            "initial_data_release_version_number": first.release.label if first else None,
            "latest_data_release_date": _date(latest),
            "latest_data_release_version_number": latest.release.label if latest else None,
            **{
                field: released.counts.get(table, 0) if released else None
                for field, table in COUNT_FIELDS.items()
            },
        }

    releases = pl.DataFrame([release_row(a) for a in accessions], infer_schema_length=None)
    found = pl.DataFrame({"study_accession": accessions})
    for part in (releases, *_study_parts(accessions)):
        found = found.join(part, on="study_accession", how="left")
    if "doi" not in found.columns:
        found = found.with_columns(pl.lit(None, pl.String).alias("doi"))
    found = found.with_columns(pl.coalesce(pl.col("_doi").replace("", None), "doi").alias("doi"))
    found = found.select("study_accession", *(pl.col(f) for f in wanted if f in found.columns))
    kept = records.drop(found.columns[1:], strict=False)
    return kept.join(found, on="study_accession", how="left", maintain_order="left").select(
        records.columns
    )


def _study_parts(accessions: list[str]) -> list[pl.DataFrame]:
    """The study row's fields, publications and grants of ``accessions``, one row each."""
    parts = []
    study = released_table("study", accessions)
    if not study.is_empty():
        parts.append(
            study.select(
                "study_accession",
                pl.col("doi").cast(pl.String),
                pl.col("gender_included").alias("sex_included"),
                pl.concat_str(
                    pl.col("minimum_age").cast(pl.String).fill_null(""),
                    pl.lit("-"),
                    pl.col("maximum_age").cast(pl.String).fill_null(""),
                    pl.lit(" "),
                    pl.col("age_unit").fill_null(""),
                )
                .str.strip_chars()
                .replace("-", None)
                .alias("age_range"),
            ).unique("study_accession")
        )
    pubmed = released_table("study_pubmed", accessions)
    if not pubmed.is_empty():
        parts.append(_listed(pubmed, {"pubmed_id": "pubmed_id"}))
    grants = released_table("contract_grant_2_study", accessions)
    if not grants.is_empty():
        named = released_table("contract_grant", accessions).select(
            "contract_grant_id", "name", "external_id"
        )
        grants = grants.select("study_accession", "contract_grant_id").join(
            named.unique("contract_grant_id"), on="contract_grant_id", how="left"
        )
        parts.append(
            _listed(
                grants,
                {"name": "contract_grant_name", "external_id": "contract_grant_external_id"},
            )
        )
    return parts


def _listed(frame: pl.DataFrame, columns: dict[str, str]) -> pl.DataFrame:
    """Per study, each column's distinct values joined by ``; `` under its new name."""
    return frame.group_by("study_accession").agg(
        pl.col(column)
        .drop_nulls()
        .cast(pl.String)
        .unique()
        .sort()
        .str.join(LIST_SEPARATOR)
        .replace("", None)
        .alias(name)
        for column, name in columns.items()
    )


def _date(released: ReleasedStudy | None) -> str | None:
    return released.release.created_at.date().isoformat() if released else None


def highlight(rows: list[dict[str, Any]], term: str, pre: str, post: str) -> list[dict[str, Any]]:
    """``rows`` with every word of ``term`` in their text fields between ``pre`` and
    ``post`` (found in any case, also inside longer words, as the search matches)."""
    terms = words(term)
    if not terms or not (pre or post):
        return rows
    found = re.compile(
        "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)), re.IGNORECASE
    )

    def mark(value: Any) -> Any:
        if isinstance(value, str):
            return found.sub(lambda match: f"{pre}{match[0]}{post}", value)
        if isinstance(value, list):
            return [mark(item) for item in value]
        return value

    return [{k: mark(v) if k in STUDY_TEXT else v for k, v in row.items()} for row in rows]


def _flat(records: pl.DataFrame) -> pl.DataFrame:
    """``records`` with list fields joined by ``; ``, as a TSV holds them."""
    return records.with_columns(
        pl.col(c).list.join(LIST_SEPARATOR)
        for c, dtype in records.schema.items()
        if isinstance(dtype, pl.List)
    )


def search_answer(kind: Kind, params: SearchParams) -> HttpResponse:
    key = ("page", kind, _key(params, exclude={"format"}))
    total, page, rows = CACHED.get(current_index(), key, lambda: _page(kind, params))
    if params.format == "tsv":
        frame = pl.DataFrame(rows, schema=page.schema) if rows else page
        return table_response(_flat(frame), "tsv", f"{kind}-search")
    answer = {"hits": {"total": {"value": total}, "hits": [{"_source": row} for row in rows]}}
    return JsonResponse(answer)


def _page(kind: Kind, params: SearchParams) -> tuple[int, pl.DataFrame, list[dict]]:
    """How many match ``params``, its page (with the page fields) and that page's rows."""
    records = search_records(kind, params)
    chosen = _names(params.sourceFields, kind, "sourceFields") or records.columns
    page = with_page_fields(records.slice(params.fromRecord, params.pageSize), chosen)
    page = page.select(chosen)
    return (
        records.height,
        page,
        highlight(page.to_dicts(), params.term, params.preTag, params.postTag),
    )


def _key(params: SearchParams, exclude: set[str]) -> tuple[tuple[str, Any], ...]:
    """``params`` but ``exclude`` as a hashable value, for :data:`CACHED`."""
    return tuple(sorted(params.model_dump(exclude=exclude).items()))


def download_answer(kind: Kind, params: SearchParams) -> HttpResponse:
    """Every hit (no paging) as TSV."""
    records = search_records(kind, params)
    chosen = _names(params.sourceFields, kind, "sourceFields") or records.columns
    records = with_page_fields(records, chosen).select(chosen)
    return table_response(_flat(records), "tsv", f"{kind}-search")


# --- the endpoints ---------------------------------------------------------------------

ANSWERS = {200: SearchAnswer, 400: dict[str, str]}


@router.get("study", response=ANSWERS, by_alias=True, summary="Search studies")
def search_study(request: HttpRequest, params: Query[SearchParams]) -> HttpResponse:
    return search_answer("study", params)


@router.get("subject", response=ANSWERS, by_alias=True, summary="Search subjects")
def search_subject(request: HttpRequest, params: Query[SearchParams]) -> HttpResponse:
    return search_answer("subject", params)


@router.get("study/download", summary="Download a study search's hits as TSV")
def download_study(request: HttpRequest, params: Query[SearchParams]) -> HttpResponse:
    return download_answer("study", params)


@router.get("subject/download", summary="Download a subject search's hits as TSV")
def download_subject(request: HttpRequest, params: Query[SearchParams]) -> HttpResponse:
    return download_answer("subject", params)
