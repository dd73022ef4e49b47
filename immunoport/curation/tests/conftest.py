"""Reported values as two labs loaded them, for the curation tests."""

import pytest

from immunoport.schema.services import load_lookups
from immunoport.studies.models import ArmOrCohort, Study, Study2ConditionOrDisease


@pytest.fixture
def lookups(db) -> None:
    load_lookups()


@pytest.fixture
def conditions(lookups, workspace, other_workspace) -> list[Study]:
    """Conditions as two labs reported them, none with a preferred value yet."""
    studies = [
        Study.objects.create(study_accession="SDY900001", workspace=workspace),
        Study.objects.create(study_accession="SDY900002", workspace=workspace),
        Study.objects.create(study_accession="SDY900003", workspace=other_workspace),
    ]
    for study, values in zip(
        studies,
        [["Influenza", "Type 1 diabetes"], ["influenza ", "flu"], ["INFLUENZA", "flu"]],
        strict=True,
    ):
        for value in values:
            Study2ConditionOrDisease.objects.create(
                workspace=study.workspace, study=study, condition_reported=value
            )
    ArmOrCohort.objects.create(
        arm_accession="ARM900001", workspace=workspace, study=studies[0], type_reported="Arm"
    )
    return studies
