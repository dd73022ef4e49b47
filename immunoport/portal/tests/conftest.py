import datetime

import pytest

from immunoport.ingest.tests.packages import own_storage_fixture  # noqa: F401 - fixture
from immunoport.releases import services
from immunoport.studies.models import (
    Arm2Subject,
    ArmOrCohort,
    Biosample,
    ElisaResult,
    Experiment,
    Expsample,
    LabTest,
    LabTestPanel,
    Study,
    Study2ConditionOrDisease,
    Subject,
)


def build_study(workspace, *, title, subjects, condition, results_per_subject, shared):
    """A study with arms, subjects, samples, ELISA results and lab tests."""
    study = Study.objects.create(workspace=workspace, brief_title=title)
    Study2ConditionOrDisease.objects.create(
        workspace=workspace, study=study, condition_reported=condition
    )
    arm = ArmOrCohort.objects.create(workspace=workspace, study=study, name="Vaccinees")
    experiment = Experiment.objects.create(
        workspace=workspace, study=study, measurement_technique="ELISA"
    )
    panel = LabTestPanel.objects.create(workspace=workspace, study=study, name_reported="CBC")
    for _ in range(subjects):
        subject = Subject.objects.create(workspace=workspace, species="Homo sapiens")
        Arm2Subject.objects.create(workspace=workspace, arm=arm, subject=subject)
        biosample = Biosample.objects.create(
            workspace=workspace, study=study, subject=subject, type="Serum"
        )
        expsample = Expsample.objects.create(workspace=workspace, experiment=experiment)
        LabTest.objects.create(
            workspace=workspace, lab_test_panel=panel, biosample=biosample, name_reported="WBC"
        )
        for _ in range(results_per_subject):
            ElisaResult.objects.create(
                workspace=workspace,
                study=study,
                arm=arm,
                subject=subject,
                biosample=biosample,
                experiment=experiment,
                expsample=expsample,
                value_reported="12.5",
            )
    if shared:
        sharing = services.request_sharing(study, None, datetime.date(2026, 1, 1))
        checked = [key for key, _ in services.REVIEW_CHECKLIST]
        services.review(sharing, None, checked=checked, approve=True)
    return study


@pytest.fixture
def shared_and_private_studies(workspace, other_workspace, own_storage):
    """Two released studies in one workspace and a larger private one in another."""
    build_study(
        workspace, title="Flu vaccine", subjects=3, condition="Influenza",
        results_per_subject=2, shared=True,
    )  # fmt: skip
    build_study(
        workspace, title="Flu again", subjects=2, condition="influenza",
        results_per_subject=1, shared=True,
    )  # fmt: skip
    build_study(
        other_workspace, title="Private lupus cohort", subjects=7, condition="Lupus",
        results_per_subject=5, shared=False,
    )  # fmt: skip
    services.build_release()
