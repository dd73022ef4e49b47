"""A workspace owner's side of sharing: asking the curators to share a study."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from immunoport.accounts import audit
from immunoport.releases import services
from immunoport.releases.forms import SharingRequestForm
from immunoport.releases.models import SharingRequest
from immunoport.studies.models import Study
from immunoport.workspaces.permissions import workspace_for


@login_required
def share(request: HttpRequest, workspace_id: int, accession: str) -> HttpResponse:
    """Ask to share a registered study; owners only."""
    workspace = workspace_for(request.user, workspace_id, owner=True)
    study = get_object_or_404(Study, pk=accession.upper(), workspace=workspace)
    form = SharingRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.request_sharing(
                study,
                request.user,
                form.cleaned_data["share_after"],
                form.cleaned_data["message"],
            )
        except services.SharingError as error:
            form.add_error(None, str(error))
        else:
            audit.record(
                audit.Action.SHARING_REQUESTED,
                request=request,
                workspace=workspace,
                target=study.pk,
            )
            messages.success(
                request,
                f"{study.pk} waits for the curators' review; "
                "once approved it goes into the next data release.",
            )
            return redirect("studies:registrations", workspace.pk)
    return render(
        request,
        "releases/share.html",
        {
            "workspace": workspace,
            "study": study,
            "form": form,
            "requests": SharingRequest.objects.filter(study=study).select_related("reviewed_by"),
        },
    )
