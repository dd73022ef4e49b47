"""Contracts and grants of a workspace, and their links to the workspace's studies.

Plain functions: views (and later the API and the CLI) call them. Who may call them is
decided before, by ``workspaces.permissions.workspace_for``.
"""

from django.db import transaction
from django.db.models import Prefetch, QuerySet

from immunoport.studies.models import ContractGrant, ContractGrant2Study, Program, Study
from immunoport.workspaces.models import Workspace


class GrantError(Exception):
    """A change to a grant that cannot be made; the message is for the user."""


def programs() -> QuerySet[Program]:
    """Programs are repository-wide: every workspace's grants may name any of them."""
    return Program.objects.order_by("name")


def categories(defaults: tuple[str, ...]) -> list[str]:
    """Kinds of funding entity to offer: ``defaults``, then those grants and programs
    already name."""
    used = {
        *ContractGrant.objects.values_list("category", flat=True).distinct(),
        *Program.objects.values_list("category", flat=True).distinct(),
    }
    return [*defaults, *sorted(used - set(defaults) - {""})]


def grants_of(workspace: Workspace) -> QuerySet[ContractGrant]:
    """The workspace's grants with their program and study links (``study_links``), in
    a fixed number of queries."""
    links = ContractGrant2Study.objects.order_by("study_id")
    return (
        ContractGrant.objects.filter(workspace=workspace)
        .select_related("program")
        .prefetch_related(Prefetch("contractgrant2study_set", links, to_attr="study_links"))
        .order_by("name", "contract_grant_id")
    )


def create_grant(workspace: Workspace, fields: dict) -> ContractGrant:
    """A new contract or grant of ``workspace``; ``fields`` are the form's cleaned data."""
    start, end = fields.get("start_date"), fields.get("end_date")
    if start and end and end < start:
        raise GrantError("The end date is before the start date.")
    return ContractGrant.objects.create(workspace=workspace, **fields)


def studies_of(grant: ContractGrant) -> QuerySet[Study]:
    return Study.objects.filter(
        pk__in=ContractGrant2Study.objects.filter(contract_grant=grant).values("study")
    ).order_by("study_accession")


def _study_of(grant: ContractGrant, study_accession: str) -> Study:
    study = Study.objects.filter(
        pk=study_accession.strip().upper(), workspace_id=grant.workspace_id
    ).first()
    if study is None:
        raise GrantError(f"This workspace has no study {study_accession}.")
    return study


@transaction.atomic
def link_study(grant: ContractGrant, study_accession: str) -> Study:
    """Record that ``grant`` funded a study of the same workspace (idempotent)."""
    study = _study_of(grant, study_accession)
    ContractGrant2Study.objects.get_or_create(
        contract_grant=grant, study=study, defaults={"workspace_id": grant.workspace_id}
    )
    return study


def unlink_study(grant: ContractGrant, study_accession: str) -> Study:
    study = _study_of(grant, study_accession)
    ContractGrant2Study.objects.filter(contract_grant=grant, study=study).delete()
    return study
