"""The curators' pages: sharing requests to review, flagged free text, data releases,
and the reported values waiting for a preferred value.

Only curators and staff reach them (``require_curator``); everyone else gets a 404.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Case, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from immunoport.accounts import audit
from immunoport.curation import services as curation
from immunoport.curation.forms import ACCEPT, Choice, TermForm, ValueChoicesForm
from immunoport.curation.models import TextFlag
from immunoport.curation.permissions import require_curator
from immunoport.releases import public, services
from immunoport.releases.forms import ReleaseForm, ReviewForm
from immunoport.releases.models import DataRelease, SharingRequest
from immunoport.releases.snapshot import study_querysets
from immunoport.schema.models import Lookup, LookupTerm
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


VALUES_PER_PAGE = 200
HISTORY_PER_PAGE = 100


@login_required
def values(request: HttpRequest) -> HttpResponse:
    """Per lookup, the reported values waiting for a preferred value."""
    require_curator(request.user)
    return render(request, "curation/values.html", {"lookups": curation.queue_by_lookup()})


def _known_lookup(lookup: str) -> str:
    if lookup not in curation.lookups():
        raise Http404("No such lookup")
    return lookup


@login_required
def values_lookup(request: HttpRequest, lookup: str) -> HttpResponse:
    """One lookup's waiting values, most rows first, each with its suggestions; the
    selected ones mapped in bulk."""
    require_curator(request.user)
    _known_lookup(lookup)
    form = ValueChoicesForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        chosen = form.chosen()
        if form.cleaned_data["action"] == ACCEPT:
            tops = curation.suggestions_for(lookup, list(chosen), n=1)
            chosen = {key: tops[key][0].term if tops[key] else "" for key in chosen}
        try:
            result = curation.map_chosen(
                lookup, chosen, request.user, note=form.cleaned_data["note"], request=request
            )
        except curation.CurationError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                f"{len(result.mappings)} reported value{'s' if len(result.mappings) != 1 else ''}"
                f" mapped; {result.rows_changed} row{'s' if result.rows_changed != 1 else ''}"
                " changed.",
            )
            return redirect(request.get_full_path())
    page = Paginator(curation.queue(lookup), VALUES_PER_PAGE).get_page(request.GET.get("page"))
    found = curation.suggestions_for(lookup, [item.reported for item in page])
    posted = _posted_choices(form) if form.is_bound else {}
    return render(
        request,
        "curation/values_lookup.html",
        {
            "lookup": lookup,
            "form": form,
            "page": page,
            "rows": [
                (item, found[item.reported], posted.get(item.key, Choice(item.key, False, "", "")))
                for item in page
            ],
            "after": page.paginator.count - page.end_index(),
            "terms": LookupTerm.objects.filter(lookup_id=lookup)
            .order_by("name")
            .values_list("name", flat=True),
        },
    )


def _posted_choices(form: ValueChoicesForm) -> dict[str, Choice]:
    """What the curator ticked and typed, to show again when the form is refused."""
    data = form.data
    out = {}
    for i in form.row_numbers:
        key = str(data.get(f"key-{i}", "")).strip().lower()
        if key:
            out[key] = Choice(
                key,
                bool(data.get(f"selected-{i}")),
                str(data.get(f"term-{i}", "")),
                str(data.get(f"other-{i}", "")),
            )
    return out


@login_required
def term_create(request: HttpRequest, lookup: str) -> HttpResponse:
    """A term the lookup lacks, for reported values ImmPort has no term for."""
    require_curator(request.user)
    _known_lookup(lookup)
    form = TermForm(request.POST or None, initial={"name": request.GET.get("name", "")})
    if request.method == "POST" and form.is_valid():
        try:
            term = curation.add_term(
                lookup, **form.cleaned_data, curator=request.user, request=request
            )
        except curation.CurationError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"{term.name} added to {lookup}.")
            return redirect("curation:values-lookup", lookup)
    target = Lookup.objects.filter(name=lookup).first()
    return render(
        request,
        "curation/term_form.html",
        {
            "lookup": lookup,
            "form": form,
            "layout": " ; ".join(target.name_components) if target else "",
        },
    )


@login_required
def mapping_history(request: HttpRequest) -> HttpResponse:
    """Every mapping and added term, newest first, with its curator and time."""
    require_curator(request.user)
    lookup = request.GET.get("lookup") or None
    page = Paginator(range(curation.history_size(lookup)), HISTORY_PER_PAGE).get_page(
        request.GET.get("page")
    )
    start = page.start_index() - 1 if page.paginator.count else 0
    return render(
        request,
        "curation/mapping_history.html",
        {
            "lookup": lookup,
            "page": page,
            "entries": curation.history(lookup, start=start, count=HISTORY_PER_PAGE),
        },
    )
