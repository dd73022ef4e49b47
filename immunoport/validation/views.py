import tempfile
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from immunoport.accounts import audit
from immunoport.validation.findings import UnusableInput
from immunoport.validation.forms import ValidateForm
from immunoport.validation.render import shown_findings
from immunoport.validation.services import validate_for_workspace
from immunoport.workspaces.permissions import workspace_for


@login_required
def validate(request: HttpRequest, workspace_id: int) -> HttpResponse:
    """Validate a package against the workspace without storing anything."""
    workspace = workspace_for(request.user, workspace_id, write=True)
    form = ValidateForm(request.POST or None, request.FILES or None)
    context: dict = {"workspace": workspace, "form": form}
    if request.method == "POST" and form.is_valid():
        uploads = form.cleaned_data["files"]
        with tempfile.TemporaryDirectory(prefix="validate-") as folder:
            for upload in uploads:
                with (Path(folder) / Path(upload.name).name).open("wb") as sink:
                    for chunk in upload.chunks():
                        sink.write(chunk)
            names = [Path(upload.name).name for upload in uploads]
            # Private data came in and its report (which quotes it) goes back: one entry.
            audit.record(
                audit.Action.UPLOADED,
                request=request,
                workspace=workspace,
                target=", ".join(names),
                files=names,
                count=len(names),
                bytes=sum(upload.size for upload in uploads),
                purpose="validate",
            )
            target = Path(folder)
            if len(names) == 1 and names[0].lower().endswith(".zip"):
                target = target / names[0]
            try:
                report = validate_for_workspace(target, workspace)
            except UnusableInput as error:
                form.add_error("files", str(error))
            else:
                findings, hidden = shown_findings(report)
                context |= {
                    "report": report,
                    "findings": findings.to_dicts(),
                    "hidden": hidden.to_dicts(),
                }
    return render(request, "validation/validate.html", context)
