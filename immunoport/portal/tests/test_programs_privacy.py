"""A program shows its released studies only: a private study adds nothing to it,
and a program whose studies are all private is not found."""

import re

import pytest
from django.urls import reverse

from immunoport.portal.tests.conftest import build_study
from immunoport.releases import services
from immunoport.studies.models import ContractGrant, ContractGrant2Study, Program

pytestmark = pytest.mark.django_db

RELEASED_TITLE = "Flu vaccine"
PRIVATE_TITLE = "Private lupus cohort"


def fund(study, name: str) -> Program:
    """Attach ``study`` to a new program through a grant of its own."""
    program = Program.objects.create(workspace=study.workspace, category="NIH", name=name)
    grant = ContractGrant.objects.create(
        workspace=study.workspace, category="NIH", external_id=f"{name}-1", program=program
    )
    ContractGrant2Study.objects.create(workspace=study.workspace, contract_grant=grant, study=study)
    return program


@pytest.fixture
def programs(workspace, own_storage) -> dict[str, Program]:
    """ "Mixed": one released study (3 subjects) and one private (7); "Hidden": one private."""
    released = build_study(
        workspace, title=RELEASED_TITLE, subjects=3, condition="Influenza",
        results_per_subject=2, shared=True,
    )  # fmt: skip
    private = build_study(
        workspace, title=PRIVATE_TITLE, subjects=7, condition="Lupus",
        results_per_subject=5, shared=False,
    )  # fmt: skip
    mixed = fund(released, "Mixed")
    grant = ContractGrant.objects.get(program=mixed)
    ContractGrant2Study.objects.create(workspace=workspace, contract_grant=grant, study=private)
    hidden = fund(private, "Hidden")
    services.build_release()
    return {"mixed": mixed, "hidden": hidden, "released": released, "private": private}


def test_a_program_of_private_studies_only_is_neither_listed_nor_found(client, programs):
    hidden = programs["hidden"].program_id
    listing = client.get(reverse("portal:programs")).content.decode()
    assert "Hidden" not in listing
    assert f"/shared/program/{hidden}/" not in listing
    assert client.get(reverse("portal:program", args=[hidden])).status_code == 404
    export = reverse("portal:program-studies-export", args=[hidden, "csv"])
    assert client.get(export).status_code == 404


def test_a_program_shows_and_counts_its_released_study_only(client, programs):
    mixed = programs["mixed"].program_id
    released, private = programs["released"].pk, programs["private"].pk
    listing = client.get(reverse("portal:programs")).content.decode()
    row = re.search(rf'<a href="/shared/program/{mixed}/">Mixed</a>.*?</tr>', listing, re.S)
    assert re.findall(r"<td>(\d+)</td>", row.group(0)) == ["1", "3", "3"]

    html = client.get(reverse("portal:program", args=[mixed])).content.decode()
    assert released in html
    assert private not in html
    assert PRIVATE_TITLE not in html
    assert dict(re.findall(r"<dt>(\w[\w ]*)</dt><dd>(\d+)</dd>", html)) == {
        "Studies": "1",
        "Participants": "3",
        "Experimental samples": "3",
    }
    # ELISA: one study, one experiment, three samples, two results per subject
    assert re.search(
        r"<td>ELISA</td><td>1</td><td>1</td><td>3</td><td>6</td>", html.replace("\n", "")
    )
    export = client.get(reverse("portal:program-studies-export", args=[mixed, "tsv"]))
    assert export.content.decode().splitlines()[1].split("\t")[:2] == [released, RELEASED_TITLE]
