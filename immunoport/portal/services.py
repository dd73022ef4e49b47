"""Figures and listings for the public portal: the current data release only.

Everything here reads ``releases.public``: released snapshots, never live rows.
"""

from dataclasses import dataclass
from typing import cast

import polars as pl
from django.core.cache import cache

from immunoport.releases.public import public_table, released_studies
from immunoport.studies.registry import result_models

BANNER_CACHE_KEY = "portal:banner-figures"
BANNER_CACHE_SECONDS = 300


@dataclass(frozen=True)
class Figure:
    label: str
    value: int


def compute_banner_figures() -> list[Figure]:
    """ImmPort's home-page banner: what the current release holds."""
    studies = list(released_studies())
    results = {model._meta.db_table for model in result_models()}

    def total(*tables: str) -> int:
        return sum(study.counts.get(table, 0) for study in studies for table in tables)

    conditions, subjects = set(), set()  # distinct: studies share subjects and diseases
    for study in studies:
        frame = public_table(study, "study_2_condition_or_disease")
        if frame.height:
            preferred = frame["condition_preferred"].fill_null(frame["condition_reported"])
            conditions.update(preferred.to_list())
        subjects.update(
            public_table(study, "subject")
            .get_column("subject_accession", default=pl.Series())
            .to_list()
        )
    return [
        Figure("Studies", len(studies)),
        Figure("Subjects", len(subjects)),
        Figure("Diseases", len(conditions)),
        Figure("Experiments", total("experiment")),
        Figure("Total Results", total(*results)),
        Figure("Lab Tests", total("lab_test")),
    ]


def banner_figures() -> list[Figure]:
    """The banner figures, recomputed at most every few minutes."""
    figures = cache.get_or_set(BANNER_CACHE_KEY, compute_banner_figures, BANNER_CACHE_SECONDS)
    return cast(list[Figure], figures)


def shared_study_list() -> list[dict]:
    """The current release's studies with their subject counts."""
    return [
        {
            "study_accession": study.study_accession,
            "brief_title": study.title,
            "subject_count": study.counts.get("subject", 0),
            "version": study.version,
            "release": study.release.label,
        }
        for study in released_studies()
    ]
