"""The curators' pages: sharing requests to review, flagged free text, data releases.

Only curators and staff reach them (``require_curator``); everyone else gets a 404.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Case, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from immunoport.accounts import audit
from immunoport.curation.models import TextFlag
from immunoport.curation.permissions import require_curator
from immunoport.releases import public, services
from immunoport.releases.forms import ReleaseForm, ReviewForm
from immunoport.releases.models import DataRelease, SharingRequest
from immunoport.releases.snapshot import study_querysets
from immunoport.studies.models import Study

WAITING = SharingRequest.Status.REQUESTED
APPROVED = SharingRequest.Status.APPROVED


@login_required
def index(request: HttpRequest) -> HttpResponse:
    require_curator(request.user)
    return render(
        request,
        "curation/index.html",
        {
            "waiting": SharingRequest.objects.filter(status=WAITING).count(),
            "approved": SharingRequest.objects.filter(status=APPROVED).count(),
            "flags": TextFlag.objects.filter(cleared_at__isnull=True).count(),
            "release": services.current_release(),
        },
    )


@login_required
def sharing_list(request: HttpRequest) -> HttpResponse:
    require_curator(request.user)
    requests = (
        SharingRequest.objects.select_related("study", "workspace", "requested_by")
        .annotate(decided=Case(When(status=WAITING, then=0), default=1))
        .order_by("decided", "-requested_at")
    )
    return render(request, "curation/sharing.html", {"requests": requests})


@login_required
def review(request: HttpRequest, sharing_id: int) -> HttpResponse:
    """A sharing request with what the curator reads before deciding, and the decision."""
    require_curator(request.user)
    sharing = get_object_or_404(
        SharingRequest.objects.select_related("study", "workspace", "requested_by"),
        pk=sharing_id,
    )
    study = sharing.study
    form = ReviewForm(request.POST or None, initial={"checked": _checked(sharing)})
    if request.method == "POST" and form.is_valid():
        approve = form.cleaned_data["decision"] == "approve"
        try:
            services.review(
                sharing,
                request.user,
                checked=form.cleaned_data["checked"],
                approve=approve,
                comment=form.cleaned_data["comment"],
                request=request,
            )
        except services.SharingError as error:
            form.add_error(None, str(error))
        else:
            verb = "approved for the next data release" if approve else "returned to the provider"
            messages.success(request, f"{study.pk} {verb}.")
            return redirect("curation:sharing")
    audit.record(
        audit.Action.VIEWED,
        request=request,
        workspace=sharing.workspace,
        target=study.pk,
        page="sharing review",
    )
    return render(
        request,
        "curation/review.html",
        {
            "sharing": sharing,
            "study": study,
            "form": form,
            "counts": _design_counts(study),
            "flags": services.flagged_text(study),
            "decided": sharing.status != WAITING,
        },
    )


def _checked(sharing: SharingRequest) -> list[str]:
    return [key for key, ticked in sharing.checklist.items() if ticked]


def _design_counts(study: Study) -> list[tuple[str, int]]:
    querysets = study_querysets(study)
    results = sum(qs.count() for table, qs in querysets.items() if table.endswith("_result"))
    return [
        ("Arms or cohorts", querysets["arm_or_cohort"].count()),
        ("Subjects", querysets["subject"].count()),
        ("Biosamples", querysets["biosample"].count()),
        ("Experiment samples", querysets["expsample"].count()),
        ("Results", results),
    ]


@require_POST
@login_required
def flag_clear(request: HttpRequest, sharing_id: int, flag_id: int) -> HttpResponse:
    """Clear one flagged value of the request's study: it may be shown to the public."""
    require_curator(request.user)
    sharing = get_object_or_404(SharingRequest.objects.select_related("workspace"), pk=sharing_id)
    flag = get_object_or_404(TextFlag, pk=flag_id, study_accession=sharing.study_id)
    if not flag.cleared:
        services.clear_flag(flag, request.user)
        audit.record(
            audit.Action.TEXT_CLEARED,
            request=request,
            workspace=sharing.workspace,
            target=flag.study_accession,
            table=flag.table_name,
            column=flag.column_name,
            record=flag.record_key,
        )
        messages.success(
            request, f"{flag.table_name}.{flag.column_name} of {flag.record_key} cleared."
        )
    return redirect("curation:review", sharing.pk)


@login_required
def releases(request: HttpRequest) -> HttpResponse:
    """The data releases so far, the approved studies, and the next release."""
    require_curator(request.user)
    form = ReleaseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            release = services.build_release(
                request.user,
                notes=form.cleaned_data["notes"],
                point=form.cleaned_data["point"],
                request=request,
            )
        except services.SharingError as error:
            form.add_error(None, str(error))
        else:
            notes = public.release_notes(release)
            messages.success(
                request,
                f"{release.label} built: {len(notes['added'])} added, "
                f"{len(notes['updated'])} updated, {len(notes['unchanged'])} unchanged. "
                "Its downloads are being built.",
            )
            return redirect("curation:releases")
    today = timezone.localdate()
    approved = SharingRequest.objects.filter(status=APPROVED).select_related("study", "workspace")
    return render(
        request,
        "curation/releases.html",
        {
            "form": form,
            "releases": [
                (release, public.release_notes(release))
                for release in DataRelease.objects.select_related("created_by")
            ],
            "due": approved.filter(share_after__lte=today).order_by("study_id"),
            "later": approved.filter(share_after__gt=today).order_by("share_after", "study_id"),
        },
    )
