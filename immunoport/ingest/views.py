"""Pages and JSON endpoints of packages: upload, submit, status, history.

The JSON endpoints take a signed-in session (with its CSRF token) or a
workspace-write API token (``Authorization: bearer …``) of the same workspace; a
read-shared token is refused. Who may do what is asked of the permission module.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from immunoport.accounts import audit
from immunoport.accounts.models import ApiToken
from immunoport.accounts.services import token_from_request
from immunoport.ingest import services
from immunoport.ingest.forms import PackageForm
from immunoport.ingest.models import Package
from immunoport.workspaces.models import Workspace
from immunoport.workspaces.permissions import WRITERS, role_in, workspace_for

RECORDS_SHOWN = 500


def tus_endpoint() -> str:
    return getattr(settings, "TUS_ENDPOINT", "/uploads/tus/")


class _Refused(Exception):
    def __init__(self, response: HttpResponse) -> None:
        self.response = response


def _json_error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _actor(request: HttpRequest, workspace_id: int, *, write: bool):
    """The user and workspace of a request to a JSON endpoint, else _Refused.

    With an ``Authorization`` header: a live workspace-write token of this workspace.
    Without: the signed-in session, whose unsafe requests must carry the CSRF token.
    """
    if "Authorization" in request.headers:
        token = token_from_request(request)
        if token is None:
            raise _Refused(_json_error("The token is unknown, expired or revoked.", 401))
        if token.scope != ApiToken.Scope.WORKSPACE_WRITE:
            raise _Refused(_json_error("This needs a workspace-write token.", 403))
        if token.workspace_id != workspace_id:
            raise _Refused(_json_error("No such workspace.", 404))
        user = token.user
    else:
        if not request.user.is_authenticated:
            raise _Refused(redirect_to_login(request.get_full_path()))
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            check = CsrfViewMiddleware(lambda r: HttpResponse())
            refusal = check.process_view(request, None, (), {})  # type: ignore[arg-type]
            if refusal is not None:
                raise _Refused(refusal)
        user = request.user
    try:
        workspace = workspace_for(user, workspace_id, write=write)
    except Http404:
        raise _Refused(_json_error("No such workspace.", 404)) from None
    return user, workspace


def _wants_json(request: HttpRequest) -> bool:
    return "Authorization" in request.headers or "application/json" in request.headers.get(
        "Accept", ""
    )


def _package_in(workspace: Workspace, package_id) -> Package:
    package = (
        Package.objects.filter(workspace=workspace, pk=package_id)
        .select_related("workspace", "submitted_by")
        .first()
    )
    if package is None:
        raise Http404("No such package")
    return package


def _urls(request: HttpRequest, package: Package) -> dict[str, str]:
    kwargs = {"workspace_id": package.workspace_id, "package_id": package.pk}
    return {
        "status_url": request.build_absolute_uri(reverse("ingest:package", kwargs=kwargs)),
        "status_json_url": request.build_absolute_uri(
            reverse("ingest:package-status", kwargs=kwargs)
        ),
        "submit_url": request.build_absolute_uri(reverse("ingest:package-submit", kwargs=kwargs)),
        "upload_url": request.build_absolute_uri(tus_endpoint()),
    }


def package_json(request: HttpRequest, package: Package) -> dict:
    report = package.report or {}
    return {
        "id": str(package.pk),
        "name": package.name,
        "workspace": package.workspace_id,
        "mode": package.mode,
        "state": package.state,
        "state_label": package.get_state_display(),
        "final": package.is_final,
        "progress": package.progress,
        "step": package.step,
        "error": package.error,
        "attempts": package.attempts,
        "files": package.files.count(),
        "valid": report.get("valid"),
        "errors": report.get("summary", {}).get("errors"),
        "warnings": report.get("summary", {}).get("warnings"),
        "records": package.summary,
        "metadata": {"package": str(package.pk)},
        **_urls(request, package),
    }


# --- pages ----------------------------------------------------------------------------


@login_required
def upload(request: HttpRequest, workspace_id: int) -> HttpResponse:
    """The portal's Upload Data: a new package; its files are added on its page."""
    workspace = workspace_for(request.user, workspace_id, write=True)
    form = PackageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        package = services.create_package(
            workspace,
            request.user,  # type: ignore[arg-type]
            form.cleaned_data["name"],
            notes=form.cleaned_data["notes"],
            mode=form.cleaned_data["mode"],
            request=request,
        )
        return redirect("ingest:package", workspace_id=workspace.pk, package_id=package.pk)
    return _upload_page(request, workspace, form)


def _upload_page(request: HttpRequest, workspace: Workspace, form: PackageForm) -> HttpResponse:
    open_packages = Package.objects.filter(
        workspace=workspace, state=Package.State.OPEN, submitted_by__pk=request.user.pk
    )
    return render(
        request,
        "ingest/upload.html",
        {"workspace": workspace, "form": form, "open_packages": open_packages},
    )


@csrf_exempt  # checked in _actor for sessions; token requests carry no cookie
@require_http_methods(["GET", "POST"])
def packages(request: HttpRequest, workspace_id: int) -> HttpResponse:
    """GET: every package of the workspace. POST: create a package (JSON for scripts)."""
    if request.method == "POST":
        return _create(request, workspace_id)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    workspace = workspace_for(request.user, workspace_id)
    audit.record(audit.Action.VIEWED, request=request, workspace=workspace, target="packages")
    history = (
        Package.objects.filter(workspace=workspace)
        .select_related("submitted_by")
        .annotate(file_count=Count("files", distinct=True))
    )
    return render(
        request,
        "ingest/packages.html",
        {
            "workspace": workspace,
            "packages": history,
            "may_upload": role_in(request.user, workspace) in WRITERS,
        },
    )


def _create(request: HttpRequest, workspace_id: int) -> HttpResponse:
    try:
        user, workspace = _actor(request, workspace_id, write=True)
    except _Refused as refused:
        return refused.response
    form = PackageForm(request.POST or None)
    if not form.is_valid():
        if _wants_json(request):
            return JsonResponse(
                {"error": "Not a valid package.", "fields": form.errors}, status=400
            )
        return _upload_page(request, workspace, form)
    package = services.create_package(
        workspace,
        user,
        form.cleaned_data["name"],
        notes=form.cleaned_data["notes"],
        mode=form.cleaned_data["mode"],
        request=request,
    )
    if _wants_json(request):
        return JsonResponse(package_json(request, package), status=201)
    return redirect("ingest:package", workspace_id=workspace.pk, package_id=package.pk)


@never_cache
@login_required
def package(request: HttpRequest, workspace_id: int, package_id) -> HttpResponse:
    """A package's state, report and records; refreshes itself (htmx) while the job runs."""
    workspace = workspace_for(request.user, workspace_id)
    item = _package_in(workspace, package_id)
    polling = request.headers.get("HX-Request") == "true"
    records = item.records.all()
    context = {
        "workspace": workspace,
        "package": item,
        "files": item.files.all(),
        "records": records[:RECORDS_SHOWN],
        "record_count": records.count() if item.state == Package.State.LOADED else 0,
        "records_shown": RECORDS_SHOWN,
        "report": ReportView(item.report) if item.report else None,
        "may_upload": role_in(request.user, workspace) in WRITERS,
        "tus_endpoint": tus_endpoint(),
        "chunk_size": getattr(settings, "PACKAGE_UPLOAD_CHUNK_BYTES", 16 * 1024 * 1024),
    }
    if polling:
        return render(request, "ingest/_status.html", context)
    audit.record(
        audit.Action.VIEWED,
        request=request,
        workspace=workspace,
        target=item.name,
        package=str(item.pk),
    )
    return render(request, "ingest/package.html", context)


@csrf_exempt  # checked in _actor for sessions; token requests carry no cookie
@require_POST
def package_submit(request: HttpRequest, workspace_id: int, package_id) -> HttpResponse:
    """Close the package to new files and queue its job."""
    try:
        user, workspace = _actor(request, workspace_id, write=True)
    except _Refused as refused:
        return refused.response
    try:
        item = _package_in(workspace, package_id)
    except Http404:
        return _json_error("No such package.", 404)
    try:
        item = services.submit_package(item, user, request=request)
    except services.PackageRefused as error:
        if _wants_json(request):
            return _json_error(str(error), 409)
        messages.error(request, str(error))
    else:
        if _wants_json(request):
            return JsonResponse(package_json(request, item), status=202)
    return redirect("ingest:package", workspace_id=workspace.pk, package_id=item.pk)


@never_cache
def package_status(request: HttpRequest, workspace_id: int, package_id) -> HttpResponse:
    """The package's state as JSON, for scripts and the ``upload`` command."""
    try:
        _, workspace = _actor(request, workspace_id, write=False)
        item = _package_in(workspace, package_id)
    except _Refused as refused:
        return refused.response
    except Http404:
        return _json_error("No such package.", 404)
    return JsonResponse(package_json(request, item))


class ReportView:
    """A stored report with the names the Validate page's template uses."""

    def __init__(self, stored: dict) -> None:
        summary = stored.get("summary", {})
        self.package = stored.get("package", "")
        self.is_valid = stored.get("valid", False)
        self.errors = summary.get("errors", 0)
        self.warnings = summary.get("warnings", 0)
        self.files = stored.get("files", [])
        self.findings = stored.get("findings", [])
        self.hidden = stored.get("hidden", [])
