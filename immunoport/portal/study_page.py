"""A study's page: its summary, design, assays, demographics, publications and files.

:func:`study_page` reads a study's tables through any reader, so the public page
(a released snapshot) and a workspace's private page (live rows) show the same
things; :func:`released_study_page` is the public one, computed once per released
study version. :func:`dataset_jsonld` describes a released study to dataset search
engines (schema.org ``Dataset``).
"""

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import polars as pl
from django.core.cache import cache
from django.urls import reverse

from immunoport.portal.search import (
    AGE_GROUPS,
    FACET_BY_KEY,
    UNKNOWN_AGE,
    _conform,
    _subjects,
)
from immunoport.portal.services import FacetBox, chart_bars
from immunoport.releases.models import ReleasedStudy
from immunoport.releases.public import public_table

Read = Callable[[str], pl.DataFrame]  # table name -> the study's rows of it

PRINCIPAL_INVESTIGATOR = "principal investigator"  # study_personnel.role_in_study, any case
DEMOGRAPHICS = ("gender", "race", "ethnicity", "age_group", "species")  # subject facets
AGE_ORDER = [name for name, _ in AGE_GROUPS] + [UNKNOWN_AGE]
CATALOG_NAME = "immunoport"
CACHE_VERSION = 1  # raise when the page's summary changes shape


@dataclass(frozen=True)
class Assay:
    """One measurement technique of a study's experiments, with what they hold."""

    technique: str
    experiments: int
    expsamples: int
    results: int


def study_page(read: Read, accession: str, result_tables: Iterable[str]) -> dict[str, Any]:
    """What a study's page shows, from ``read``; ``result_tables``: the result tables
    (elisa_result, ...) that may hold the study's rows."""

    def rows(table: str, order: str | None = None) -> list[dict[str, Any]]:
        frame = read(table)
        if order and order in frame.columns:
            frame = frame.sort(order, nulls_last=True)
        return frame.to_dicts()

    study = rows("study")
    personnel = rows("study_personnel", "person_accession")
    return {
        "study": study[0] if study else {},
        "investigators": [
            p
            for p in personnel
            if (p.get("role_in_study") or "").strip().lower() == PRINCIPAL_INVESTIGATOR
        ],
        "research_focus": sorted(
            {r["research_focus"] for r in rows("study_categorization") if r.get("research_focus")}
        ),
        "conditions": rows("study_2_condition_or_disease"),
        "arms": rows("arm_or_cohort", "arm_accession"),
        "planned_visits": rows("planned_visit", "order_number"),
        "criteria": rows("inclusion_exclusion", "criterion_category"),
        **_funding(read),
        "assays": _assays(read, result_tables),
        "demographics": _demographics(read, accession),
        "publications": rows("study_pubmed", "pubmed_id"),
        "links": rows("study_link", "name"),
        "files": rows("study_file", "file_name"),
        "protocols": rows("protocol", "protocol_accession"),
    }


def _funding(read: Read) -> dict[str, list[dict[str, Any]]]:
    """The study's contracts or grants and the programs they belong to."""
    funded = read("contract_grant_2_study")
    grants = read("contract_grant")
    if "contract_grant_id" in funded.columns and "contract_grant_id" in grants.columns:
        grants = grants.join(funded, on="contract_grant_id", how="semi")
    programs = read("program")
    if "program_id" in grants.columns and "program_id" in programs.columns:
        programs = programs.join(grants, on="program_id", how="semi")
    return {
        "contract_grants": grants.sort("name", nulls_last=True).to_dicts()
        if "name" in grants.columns
        else grants.to_dicts(),
        "programs": programs.sort("name", nulls_last=True).to_dicts()
        if "name" in programs.columns
        else programs.to_dicts(),
    }


def _assays(read: Read, result_tables: Iterable[str]) -> list[Assay]:
    """Experiments, expsamples and result rows per measurement technique."""
    experiments = _conform(
        read("experiment"), {"experiment_accession": pl.String, "measurement_technique": pl.String}
    ).with_columns(pl.col("measurement_technique").fill_null("Not Specified"))
    if experiments.is_empty():
        return []
    expsamples = _conform(read("expsample"), {"experiment_accession": pl.String})
    results = [
        frame.select(pl.col("experiment_accession").cast(pl.String))
        for frame in map(read, result_tables)
        if "experiment_accession" in frame.columns
    ]
    per_experiment = (
        experiments.join(
            expsamples.group_by("experiment_accession").len("expsamples"),
            on="experiment_accession",
            how="left",
        )
        .join(
            pl.concat(results).group_by("experiment_accession").len("results")
            if results
            else pl.DataFrame(schema={"experiment_accession": pl.String, "results": pl.UInt32}),
            on="experiment_accession",
            how="left",
        )
        .fill_null(0)
    )
    summary = (
        per_experiment.group_by("measurement_technique")
        .agg(pl.len().alias("experiments"), pl.sum("expsamples"), pl.sum("results"))
        .sort("measurement_technique")
    )
    return [Assay(*row) for row in summary.iter_rows()]


def _demographics(read: Read, accession: str) -> list[FacetBox]:
    """A chart per subject facet of the search page (gender, race, ethnicity, age
    group, species), counting the study's subjects as the search page does."""

    def gather(table: str, columns: Mapping[str, Any]) -> pl.DataFrame:
        return _conform(read(table), columns).with_columns(
            pl.lit(accession, pl.String).alias("study_accession")
        )

    subjects = _subjects(gather)
    boxes = []
    for key in DEMOGRAPHICS:
        counts = subjects[key].value_counts(name="count")
        if key == "age_group":
            counts = counts.sort(pl.col(key).replace_strict(AGE_ORDER, list(range(len(AGE_ORDER)))))
        else:
            counts = counts.sort(["count", key], descending=[True, False])
        counted = list(counts.iter_rows())
        boxes.append(FacetBox(key, FACET_BY_KEY[key].label, [], chart_bars(counted)))
    return boxes


def released_study_page(released: ReleasedStudy) -> dict[str, Any]:
    """:func:`study_page` of a released study, computed once: a released study
    version never changes."""
    key = f"portal:study-page:{CACHE_VERSION}:{released.pk}:{released.version}"
    page = cache.get_or_set(
        key,
        lambda: study_page(
            lambda table: public_table(released, table),
            released.study_accession,
            [t for t, n in released.counts.items() if t.endswith("_result") and n],
        ),
        timeout=None,
    )
    return cast(dict[str, Any], page)


def dataset_jsonld(
    released: ReleasedStudy,
    page: Mapping[str, Any],
    *,
    absolute: Callable[[str], str],
) -> dict[str, Any]:
    """A schema.org ``Dataset`` describing ``released`` for dataset search engines
    (Google Dataset Search reads it from the page); ``absolute`` makes a path a URL."""
    study = page["study"]
    accession, label = released.study_accession, released.release.label
    identifiers = [accession]
    if released.doi:
        identifiers.append(f"https://doi.org/{released.doi}")
    techniques = [assay.technique for assay in page["assays"]]
    conditions = [
        c.get("condition_preferred") or c.get("condition_reported") for c in page["conditions"]
    ]
    dataset: dict[str, Any] = {
        "@context": "https://schema.org/",
        "@type": "Dataset",
        "name": study.get("brief_title") or released.title,
        "description": study.get("description") or study.get("brief_description") or "",
        "identifier": identifiers,
        "url": absolute(reverse("portal:study", args=[accession])),
        "version": str(released.version),
        "datePublished": released.release.created_at.date().isoformat(),
        "creator": [
            {
                "@type": "Person",
                "name": " ".join(filter(None, (p.get("first_name"), p.get("last_name")))),
                **(
                    {"affiliation": {"@type": "Organization", "name": p["organization"]}}
                    if p.get("organization")
                    else {}
                ),
            }
            for p in page["investigators"]
        ],
        "keywords": sorted({k for k in [*conditions, *page["research_focus"], *techniques] if k}),
        "variableMeasured": [box.label for box in page["demographics"]] + techniques,
        "measurementTechnique": techniques,
        "license": absolute(reverse("accounts:agreement")),
        "isAccessibleForFree": True,
        "includedInDataCatalog": {
            "@type": "DataCatalog",
            "name": CATALOG_NAME,
            "url": absolute(reverse("portal:shared-data")),
        },
        "citation": released.citation(),
    }
    if released.download:
        dataset["distribution"] = [
            {
                "@type": "DataDownload",
                "contentUrl": absolute(reverse("portal:study-download", args=[accession, label])),
                "encodingFormat": "application/zip",
                "contentSize": f"{released.download_size} B",
            }
        ]
    return dataset


def script_json(data: Mapping[str, Any]) -> str:
    """``data`` as JSON safe inside a ``<script>`` element: ``<``, ``>`` and ``&``
    escaped, so no ``</script>`` in a value ends the element."""
    text = json.dumps(data, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
