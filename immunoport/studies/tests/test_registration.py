"""Registering a study through the wizard's services, against the real loader."""

import pytest

from immunoport.ingest.tests.packages import own_storage_fixture  # noqa: F401 - fixture
from immunoport.studies import registration
from immunoport.studies.models import ArmOrCohort, PlannedVisit, Protocol, StudyFile
from immunoport.studies.tests.registrations import STEPS, fill_draft

pytestmark = pytest.mark.usefixtures("own_storage")


def test_a_finished_draft_registers_the_study_with_its_accession(workspace):
    draft = registration.start_draft(workspace, None)
    fill_draft(draft)
    study = registration.finish(draft, None)
    assert study.pk.startswith("SDY")
    assert study.brief_title == STEPS["basic-info"]["study"][0]["Brief Title"]
    assert sorted(ArmOrCohort.objects.filter(study=study).values_list("name", flat=True)) == [
        "Older adults",
        "Young adults",
    ]
    assert PlannedVisit.objects.filter(study=study).count() == 2
    protocol = Protocol.objects.get(workspace=workspace, user_defined_id="prot_main")
    assert protocol.type == "Study Protocol"
    assert StudyFile.objects.get(study=study).file_name == "consent.txt"
    draft.refresh_from_db()
    assert draft.status == "registered"
    assert draft.study_id == study.pk
    assert not draft.files.exists()  # the documents now live with the study
