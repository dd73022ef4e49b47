from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from immunoport.accounts import audit
from immunoport.studies import grants
from immunoport.studies.forms import ContractGrantForm, StudyLinkForm
from immunoport.studies.models import ContractGrant
from immunoport.workspaces.permissions import WRITERS, role_in, workspace_for


@login_required
def grant_list(request: HttpRequest, workspace_id: int) -> HttpResponse:
    workspace = workspace_for(request.user, workspace_id)
    audit.record(
        audit.Action.VIEWED,
        request=request,
        workspace=workspace,
        target=workspace.name,
        page="grants",
    )
    return render(
        request,
        "studies/grants.html",
        {
            "workspace": workspace,
            "grants": grants.grants_of(workspace),
            "can_write": role_in(request.user, workspace) in WRITERS,
        },
    )


@login_required
def grant_create(request: HttpRequest, workspace_id: int) -> HttpResponse:
    workspace = workspace_for(request.user, workspace_id, write=True)
    form = ContractGrantForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            grant = grants.create_grant(workspace, form.cleaned_data)
        except grants.GrantError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"Contract/grant “{grant.external_id}” created.")
            return redirect("studies:grants", workspace.pk)
    return render(request, "studies/grant_form.html", {"workspace": workspace, "form": form})


@require_POST
@login_required
def grant_studies(request: HttpRequest, workspace_id: int, grant_id: int) -> HttpResponse:
    """Link a study of the workspace to the grant, or unlink it."""
    workspace = workspace_for(request.user, workspace_id, write=True)
    grant = get_object_or_404(ContractGrant, pk=grant_id, workspace=workspace)
    form = StudyLinkForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the accession of one of this workspace's studies.")
        return redirect("studies:grants", workspace.pk)
    accession = form.cleaned_data["study_accession"]
    try:
        if form.cleaned_data["action"] == "unlink":
            study = grants.unlink_study(grant, accession)
            messages.success(request, f"{study.pk} is no longer linked to {grant.external_id}.")
        else:
            study = grants.link_study(grant, accession)
            messages.success(request, f"{study.pk} is linked to {grant.external_id}.")
    except grants.GrantError as error:
        messages.error(request, str(error))
    return redirect("studies:grants", workspace.pk)
