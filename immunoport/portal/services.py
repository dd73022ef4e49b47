"""Figures and listings for the public portal, computed from shared studies only."""

from dataclasses import dataclass
from typing import cast

from django.core.cache import cache
from django.db.models import Count
from django.db.models.functions import Coalesce

from immunoport.releases.services import shared_studies
from immunoport.studies.models import Arm2Subject, Experiment, LabTest, Study2ConditionOrDisease
from immunoport.studies.registry import result_models

BANNER_CACHE_KEY = "portal:banner-figures"
BANNER_CACHE_SECONDS = 300


@dataclass(frozen=True)
class Figure:
    label: str
    value: int


def compute_banner_figures() -> list[Figure]:
    """ImmPort's home-page banner: what the shared data holds, counted live."""
    studies = shared_studies()
    subjects = (
        Arm2Subject.objects.filter(arm__study__in=studies).values("subject").distinct().count()
    )
    diseases = (
        Study2ConditionOrDisease.objects.filter(study__in=studies)
        .annotate(condition=Coalesce("condition_preferred", "condition_reported"))
        .values("condition")
        .distinct()
        .count()
    )
    results = sum(
        model._default_manager.filter(study__in=studies).count() for model in result_models()
    )
    return [
        Figure("Studies", studies.count()),
        Figure("Subjects", subjects),
        Figure("Diseases", diseases),
        Figure("Experiments", Experiment.objects.filter(study__in=studies).count()),
        Figure("Total Results", results),
        Figure("Lab Tests", LabTest.objects.filter(lab_test_panel__study__in=studies).count()),
    ]


def banner_figures() -> list[Figure]:
    """The banner figures, recomputed at most every few minutes."""
    figures = cache.get_or_set(BANNER_CACHE_KEY, compute_banner_figures, BANNER_CACHE_SECONDS)
    return cast(list[Figure], figures)


def shared_study_list():
    """Shared studies with their subject counts."""
    return (
        shared_studies()
        .annotate(subject_count=Count("armorcohort__arm2subject__subject", distinct=True))
        .order_by("study_accession")
        .values("study_accession", "brief_title", "subject_count")
    )
