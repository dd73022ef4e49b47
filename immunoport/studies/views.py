from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from immunoport.accounts import audit
from immunoport.schema.blanks import lookup_terms
from immunoport.studies import grants, registration, wizard
from immunoport.studies.drafts import StudyDraft
from immunoport.studies.forms import ContractGrantForm, StudyLinkForm, read_step, step_view
from immunoport.studies.models import ContractGrant, Study
from immunoport.workspaces.permissions import WRITERS, is_owner, role_in, workspace_for


@login_required
def grant_list(request: HttpRequest, workspace_id: int) -> HttpResponse:
    workspace = workspace_for(request.user, workspace_id)
    audit.viewed(request, workspace, "grants")
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


# --- study registration ---------------------------------------------------------------


@login_required
def registrations(request: HttpRequest, workspace_id: int) -> HttpResponse:
    """The workspace's registered studies and the drafts in progress."""
    workspace = workspace_for(request.user, workspace_id)
    audit.viewed(request, workspace, "registrations")
    return render(
        request,
        "studies/registrations.html",
        {
            "workspace": workspace,
            "studies": Study.objects.filter(workspace=workspace).order_by("-study_accession"),
            "drafts": registration.drafts_of(workspace).filter(status=StudyDraft.Status.DRAFT),
            "can_write": role_in(request.user, workspace) in WRITERS,
            "can_share": is_owner(request.user, workspace),
        },
    )


@require_POST
@login_required
def draft_create(request: HttpRequest, workspace_id: int) -> HttpResponse:
    workspace = workspace_for(request.user, workspace_id, write=True)
    draft = registration.start_draft(workspace, request.user)
    return redirect("studies:draft-step", workspace.pk, draft.pk, wizard.steps()[0].slug)


def _draft(request: HttpRequest, workspace_id: int, draft_id) -> StudyDraft:
    workspace = workspace_for(request.user, workspace_id, write=True)
    return get_object_or_404(
        StudyDraft, pk=draft_id, workspace=workspace, status=StudyDraft.Status.DRAFT
    )


@login_required
def draft_resume(request: HttpRequest, workspace_id: int, draft_id) -> HttpResponse:
    draft = _draft(request, workspace_id, draft_id)
    step = registration.next_step(draft)
    return redirect("studies:draft-step", workspace_id, draft.pk, step.slug)


@login_required
def draft_step(request: HttpRequest, workspace_id: int, draft_id, slug: str) -> HttpResponse:
    draft = _draft(request, workspace_id, draft_id)
    step = wizard.step(slug)
    if step is None:
        raise Http404("No such step")
    if not step.parts:
        return _finish_step(request, draft, step)
    fixed_id = draft.study.user_defined_id if draft.edits_study and draft.study else None
    data: dict = draft.data
    problems: list[wizard.Problem] = []
    extra_row = None
    if request.method == "POST":
        data, uploads = read_step(step, request.POST, request.FILES, fixed_study_id=fixed_id)
        action = request.POST.get("action", "save")
        if action.startswith("add:"):  # another blank row; nothing is saved
            extra_row = action.removeprefix("add:")
        else:
            problems = registration.save_step(draft, step, data, uploads)
            if not any(p.is_error for p in problems):
                for warning in problems:  # saved; worth a look all the same
                    messages.warning(request, f"{step.title}: {warning.message} {warning.fix}")
                following = _following(step)
                if action == "leave" or following is None:
                    messages.success(request, "Draft saved. Resume it from this list.")
                    return redirect("studies:registrations", workspace_id)
                return redirect("studies:draft-step", workspace_id, draft.pk, following.slug)
    parts = step_view(step, data, problems, fixed_study_id=fixed_id, extra_row=extra_row)
    lookups = sorted({name for view in parts for name in view.datalists})
    return render(
        request,
        "studies/wizard_step.html",
        _wizard_context(draft, step)
        | {
            "parts": parts,
            "datalists": [(name, lookup_terms(name)) for name in lookups],
            "problems": [p for p in problems if p.is_error],
            "warnings": [p for p in problems if not p.is_error],
            "multiple_parts": {view.part.key for view in parts if view.part.multiple},
            "stored_files": set(draft.files.values_list("name", flat=True)),
        },
    )


def _following(step: wizard.Step) -> wizard.Step | None:
    slugs = [s.slug for s in wizard.steps()]
    index = slugs.index(step.slug)
    return wizard.steps()[index + 1] if index + 1 < len(slugs) else None


def _wizard_context(draft: StudyDraft, step: wizard.Step) -> dict:
    reachable = {s.slug for s in wizard.steps() if s.slug in draft.steps_done or s.optional}
    reachable.add(registration.next_step(draft).slug)
    return {
        "workspace": draft.workspace,
        "draft": draft,
        "step": step,
        "steps": [
            {
                "step": s,
                "number": n,
                "done": s.slug in draft.steps_done,
                "reachable": s.slug in reachable or s == step,
            }
            for n, s in enumerate(wizard.steps(), start=1)
        ],
    }


def _finish_step(request: HttpRequest, draft: StudyDraft, step: wizard.Step) -> HttpResponse:
    problems = registration.problems_of(draft)
    if request.method == "POST" and not problems:
        try:
            study = registration.finish(draft, request.user)
        except registration.RegistrationError as error:
            problems = error.problems
        else:
            audit.record(
                audit.Action.STUDY_EDITED if draft.edits_study else audit.Action.STUDY_REGISTERED,
                request=request,
                workspace=draft.workspace,
                target=study.pk,
            )
            verb = "updated" if draft.edits_study else "registered with accession"
            messages.success(request, f"Study {verb} {study.pk}.")
            return redirect("studies:registrations", draft.workspace_id)
    summary = [
        (s, [(part, draft.data.get(part.key) or []) for part in s.parts])
        for s in wizard.steps()
        if s.parts
    ]
    return render(
        request,
        "studies/wizard_finish.html",
        _wizard_context(draft, step) | {"problems": problems, "summary": summary},
    )


@require_POST
@login_required
def draft_discard(request: HttpRequest, workspace_id: int, draft_id) -> HttpResponse:
    draft = _draft(request, workspace_id, draft_id)
    registration.discard(draft)
    messages.success(request, "Draft discarded.")
    return redirect("studies:registrations", workspace_id)


def _study(request: HttpRequest, workspace_id: int, accession: str, *, write: bool) -> Study:
    workspace = workspace_for(request.user, workspace_id, write=write)
    return get_object_or_404(Study, pk=accession.upper(), workspace=workspace)


@require_POST
@login_required
def study_edit(request: HttpRequest, workspace_id: int, accession: str) -> HttpResponse:
    study = _study(request, workspace_id, accession, write=True)
    draft = registration.start_edit(study, request.user)
    return redirect("studies:draft-step", workspace_id, draft.pk, wizard.steps()[0].slug)


@login_required
def study_export(request: HttpRequest, workspace_id: int, accession: str) -> HttpResponse:
    """The study as its basic_study_design.txt + protocols.txt, with their documents."""
    study = _study(request, workspace_id, accession, write=False)
    audit.record(
        audit.Action.DOWNLOADED, request=request, workspace=study.workspace, target=study.pk
    )
    response = HttpResponse(registration.export_package(study), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{study.pk}-templates.zip"'
    return response
