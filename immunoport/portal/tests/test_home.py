import pytest

from immunoport.portal.services import compute_banner_figures
from immunoport.portal.tests.conftest import build_study
from immunoport.releases import services
from immunoport.studies.models import Arm2Subject, ArmOrCohort

EXPECTED = {
    "Studies": 2,
    "Subjects": 5,
    "Diseases": 2,  # "Influenza" and "influenza" are reported spellings until curated
    "Experiments": 2,
    "Total Results": 3 * 2 + 2 * 1,
    "Lab Tests": 5,
}


@pytest.mark.django_db
def test_banner_counts_shared_studies_only(shared_and_private_studies):
    figures = {figure.label: figure.value for figure in compute_banner_figures()}
    assert figures == EXPECTED


@pytest.mark.django_db
def test_home_page_shows_the_figures_and_navigation(client, shared_and_private_studies):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    for label in ("Upload", "Shared Data", "Analysis", "Resources"):
        assert f">{label}</a>" in html
    figures = response.context["figures"]
    assert {figure.label: figure.value for figure in figures} == EXPECTED


@pytest.mark.django_db
def test_shared_data_lists_released_studies_and_hides_private_ones(
    client, shared_and_private_studies
):
    html = client.get("/shared/").content.decode()
    assert "Flu vaccine" in html
    assert "Flu again" in html
    assert "Private lupus cohort" not in html


@pytest.mark.django_db
def test_an_empty_repository_shows_zeros(client):
    figures = client.get("/").context["figures"]
    assert [figure.value for figure in figures] == [0, 0, 0, 0, 0, 0]


@pytest.mark.django_db
def test_a_subject_in_two_released_studies_is_counted_once(workspace, own_storage):
    first = build_study(
        workspace, title="Flu 1", subjects=2, condition="Influenza", results_per_subject=0,
        shared=True,
    )  # fmt: skip
    second = build_study(
        workspace, title="Flu 2", subjects=1, condition="Influenza", results_per_subject=0,
        shared=True,
    )  # fmt: skip
    returning = Arm2Subject.objects.filter(arm__study=first).first().subject
    Arm2Subject.objects.create(
        workspace=workspace, arm=ArmOrCohort.objects.get(study=second), subject=returning
    )
    services.build_release()
    figures = {figure.label: figure.value for figure in compute_banner_figures()}
    assert figures["Subjects"] == 3
