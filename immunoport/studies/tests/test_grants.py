"""Contracts/grants of a workspace: the "Create Contract Grant" form and study links."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conftest import approved_user
from immunoport.studies import grants
from immunoport.studies.models import ContractGrant, ContractGrant2Study, Program, Study
from immunoport.workspaces.models import Membership


@pytest.fixture
def program(workspace) -> Program:
    return Program.objects.create(
        workspace=workspace, name="Human Immunology Project Consortium", category="NIAID"
    )


@pytest.fixture
def uploader(workspace):
    user = approved_user("uploader")
    Membership.objects.create(workspace=workspace, user=user, role="uploader")
    return user


@pytest.fixture
def study(workspace) -> Study:
    return Study.objects.create(study_accession="SDY100001", workspace=workspace)


def form_data(program: Program, **changes) -> dict:
    return {
        "name": "Systems biology of vaccination",
        "external_id": "U19AI090023",
        "description": "Funds the flu vaccine cohorts.",
        "category": "NIH",
        "link": "https://reporter.nih.gov/project-details/U19AI090023",
        "program": program.pk,
        "start_date": "2020-01-01",
        "end_date": "2024-12-31",
    } | changes


def test_an_uploader_creates_a_grant_with_a_program(client, sign_in, workspace, uploader, program):
    sign_in(client, uploader)
    url = reverse("studies:grant-create", args=[workspace.pk])
    page = client.get(url)
    assert "Create Contract Grant" in page.content.decode()
    assert "Human Immunology Project Consortium" in page.content.decode()

    response = client.post(url, form_data(program))

    assert response.status_code == 302
    grant = ContractGrant.objects.get()
    assert (grant.workspace, grant.program, grant.external_id) == (
        workspace,
        program,
        "U19AI090023",
    )
    listing = client.get(reverse("studies:grants", args=[workspace.pk])).content.decode()
    assert "Systems biology of vaccination" in listing
    assert "U19AI090023" in listing


def test_the_category_offers_nih_and_the_kinds_already_used(
    client, sign_in, workspace, uploader, program
):
    sign_in(client, uploader)
    page = client.get(reverse("studies:grant-create", args=[workspace.pk])).content.decode()
    offered = page[page.index('<datalist id="grant-categories">') :]
    assert offered.index('value="NIH"') < offered.index('value="NIAID"')  # program's kind


def test_an_end_date_before_the_start_date_is_refused_and_nothing_saved(
    client, sign_in, workspace, uploader, program
):
    sign_in(client, uploader)
    response = client.post(
        reverse("studies:grant-create", args=[workspace.pk]),
        form_data(program, start_date="2024-01-01", end_date="2023-06-30"),
    )

    assert response.status_code == 200
    assert "The end date must not be before the start date." in response.content.decode()
    assert not ContractGrant.objects.exists()


def test_the_external_id_is_required(client, sign_in, workspace, uploader, program):
    sign_in(client, uploader)
    response = client.post(
        reverse("studies:grant-create", args=[workspace.pk]), form_data(program, external_id="")
    )
    assert response.status_code == 200
    assert not ContractGrant.objects.exists()


def test_the_link_must_be_a_web_address(client, sign_in, workspace, uploader, program):
    sign_in(client, uploader)
    response = client.post(
        reverse("studies:grant-create", args=[workspace.pk]),
        form_data(program, link="javascript:alert(1)"),
    )
    assert response.status_code == 200
    assert not ContractGrant.objects.exists()


def test_the_service_refuses_a_bad_date_range_too(workspace, program):
    from datetime import date

    with pytest.raises(grants.GrantError):
        grants.create_grant(
            workspace,
            {
                "program": program,
                "category": "NIH",
                "external_id": "R01",
                "start_date": date(2024, 1, 1),
                "end_date": date(2023, 1, 1),
            },
        )
    assert not ContractGrant.objects.exists()


def make_grant(workspace, program, external_id="U19AI090023") -> ContractGrant:
    return ContractGrant.objects.create(
        workspace=workspace, program=program, category="NIH", external_id=external_id
    )


def test_a_writer_links_and_unlinks_a_study(client, sign_in, workspace, uploader, program, study):
    grant = make_grant(workspace, program)
    sign_in(client, uploader)
    url = reverse("studies:grant-studies", args=[workspace.pk, grant.pk])

    client.post(url, {"study_accession": "sdy100001", "action": "link"})
    client.post(url, {"study_accession": "SDY100001", "action": "link"})  # twice: one link
    link = ContractGrant2Study.objects.get()
    assert (link.study, link.workspace) == (study, workspace)
    listing = client.get(reverse("studies:grants", args=[workspace.pk])).content.decode()
    assert "SDY100001" in listing

    client.post(url, {"study_accession": "SDY100001", "action": "unlink"})
    assert not ContractGrant2Study.objects.exists()


def test_a_study_of_another_workspace_cannot_be_linked(
    client, sign_in, workspace, other_workspace, uploader, program
):
    Study.objects.create(study_accession="SDY200001", workspace=other_workspace)
    grant = make_grant(workspace, program)
    sign_in(client, uploader)

    response = client.post(
        reverse("studies:grant-studies", args=[workspace.pk, grant.pk]),
        {"study_accession": "SDY200001", "action": "link"},
        follow=True,
    )

    assert "This workspace has no study SDY200001." in response.content.decode()
    assert not ContractGrant2Study.objects.exists()


def test_another_workspaces_member_gets_404(client, sign_in, workspace, other_workspace, program):
    grant = make_grant(workspace, program)
    stranger = approved_user("stranger")
    Membership.objects.create(workspace=other_workspace, user=stranger, role="owner")
    sign_in(client, stranger)

    assert client.get(reverse("studies:grants", args=[workspace.pk])).status_code == 404
    assert client.get(reverse("studies:grant-create", args=[workspace.pk])).status_code == 404
    response = client.post(
        reverse("studies:grant-studies", args=[workspace.pk, grant.pk]),
        {"study_accession": "SDY100001", "action": "link"},
    )
    assert response.status_code == 404
    # nor through their own workspace's address
    response = client.post(
        reverse("studies:grant-studies", args=[other_workspace.pk, grant.pk]),
        {"study_accession": "SDY100001", "action": "link"},
    )
    assert response.status_code == 404


def test_a_viewer_sees_grants_but_cannot_create_or_link(client, sign_in, workspace, program, study):
    grant = make_grant(workspace, program)
    viewer = approved_user("viewer")
    Membership.objects.create(workspace=workspace, user=viewer, role="viewer")
    sign_in(client, viewer)

    listing = client.get(reverse("studies:grants", args=[workspace.pk]))
    assert listing.status_code == 200
    assert "U19AI090023" in listing.content.decode()
    assert "Create Contract Grant" not in listing.content.decode()
    create_url = reverse("studies:grant-create", args=[workspace.pk])
    assert client.get(create_url).status_code == 404
    assert client.post(create_url, form_data(program)).status_code == 404
    response = client.post(
        reverse("studies:grant-studies", args=[workspace.pk, grant.pk]),
        {"study_accession": "SDY100001", "action": "link"},
    )
    assert response.status_code == 404
    assert ContractGrant.objects.count() == 1
    assert not ContractGrant2Study.objects.exists()


def test_the_grant_list_takes_the_same_queries_for_one_grant_or_many(
    client, sign_in, workspace, uploader, program, study
):
    sign_in(client, uploader)
    url = reverse("studies:grants", args=[workspace.pk])
    grants.link_study(make_grant(workspace, program), "SDY100001")
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for n in range(3):
        grants.link_study(make_grant(workspace, program, f"R01AI00000{n}"), "SDY100001")
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(one)


def test_staff_manage_programs_in_the_admin(client, sign_in, workspace, program):
    from django.contrib.auth.models import Group

    staff = approved_user("staffer", is_staff=True)
    staff.groups.add(Group.objects.get(name="Staff"))
    sign_in(client, staff)

    assert "Human Immunology" in client.get("/admin/studies/program/?q=Immunology").content.decode()
    response = client.post(
        "/admin/studies/program/add/",
        {"name": "Vaccine Research", "category": "NIAID", "workspace": workspace.pk},
    )
    assert response.status_code == 302
    assert Program.objects.filter(name="Vaccine Research").exists()
