"""Packages: created, filled through the tus server, submitted, then validated and loaded.

Views, the JSON endpoints, the ``upload`` command and the background job all call
these functions. The job (``run_package``) always ends the package in a final state
with a reason; a job whose worker died is noticed by its stale heartbeat and run
again, up to ``PACKAGE_MAX_ATTEMPTS`` times, then failed (``recover_stuck_packages``).
"""

import hashlib
import logging
import shutil
import tempfile
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DatabaseError, connection, transaction
from django.db.models import Sum
from django.http import Http404, HttpRequest
from django.utils import timezone

from immunoport.core.archives import ArchiveError, extract
from immunoport.core.mail import send_templated_mail
from immunoport.ingest.loader import LoadError, load_package
from immunoport.ingest.models import Package, PackageFile, PackageRecord
from immunoport.validation.findings import UnusableInput
from immunoport.validation.render import as_dict, shown_findings
from immunoport.validation.services import validate_for_workspace
from immunoport.workspaces.models import Workspace
from immunoport.workspaces.permissions import workspace_for

log = logging.getLogger(__name__)

State = Package.State
SCOPE_PREFIX = "workspace:"
HEARTBEAT_SECONDS = 30


def stale_after() -> timedelta:
    """How long a running job may go without a heartbeat before it counts as lost."""
    return timedelta(minutes=getattr(settings, "PACKAGE_STALE_MINUTES", 30))


def max_attempts() -> int:
    return getattr(settings, "PACKAGE_MAX_ATTEMPTS", 3)


class PackageRefused(Exception):
    """The package cannot take this action now; the message says why."""


# --- creating and submitting ---------------------------------------------------------


def create_package(
    workspace: Workspace,
    user: User,
    name: str,
    *,
    notes: str = "",
    mode: str = Package.Mode.LOAD,
    request: HttpRequest | None = None,
) -> Package:
    """A new open package; its files arrive through the tus server."""
    from immunoport.accounts import audit

    name = name.strip()
    if not name:
        raise PackageRefused("A package needs a name.")
    if mode not in Package.Mode.values:
        raise PackageRefused(f"Unknown mode {mode!r}.")
    package = Package.objects.create(
        workspace=workspace, submitted_by=user, name=name[:200], notes=notes, mode=mode
    )
    audit.record(
        audit.Action.UPLOADED,
        request=request,
        actor=user,
        workspace=workspace,
        target=package.name,
        package=str(package.pk),
        step="created",
        mode=mode,
    )
    return package


def submit_package(
    package: Package, user: AbstractBaseUser, *, request: HttpRequest | None = None
) -> Package:
    """Close the package to new files and queue its job."""
    from immunoport.accounts import audit

    site_url = request.build_absolute_uri("/").rstrip("/") if request is not None else ""
    with transaction.atomic():
        # Locked, so a file completing now is either in the package or refused.
        locked = Package.objects.select_for_update().filter(pk=package.pk).first()
        if locked is None or locked.state != State.OPEN:
            raise PackageRefused("The package was already submitted.")
        files = list(locked.files.all())
        if not files:
            raise PackageRefused("The package has no files yet.")
        now = timezone.now()
        Package.objects.filter(pk=package.pk).update(
            state=State.RECEIVED,
            submitted_at=now,
            heartbeat_at=now,
            step="Waiting for a worker",
            progress=0,
            site_url=site_url,
        )
        audit.record(
            audit.Action.UPLOADED,
            request=request,
            actor=user,
            workspace=package.workspace,
            target=package.name,
            package=str(package.pk),
            step="submitted",
            files=[f.relative_path for f in files][:100],
            count=len(files),
            bytes=sum(f.size for f in files),
            purpose=package.mode,
        )
        # Queued in the same transaction (the database queue), so a submitted package
        # always has its job. (The immediate backend, for debugging, runs it right here.)
        enqueue_job(package.pk, attempt=1)
    package.refresh_from_db()
    return package


def enqueue_job(package_id: Any, attempt: int) -> None:
    """Queue the package's job and, where the backend can defer, a watchdog for it."""
    from django_tasks import default_task_backend

    from immunoport.ingest.tasks import process_package, watch_package

    job = process_package.enqueue(str(package_id), attempt)
    Package.objects.filter(pk=package_id).update(job_id=job.id)
    if default_task_backend.supports_defer:
        watch_package.using(run_after=timezone.now() + stale_after()).enqueue(
            str(package_id), attempt
        )


# --- the tus server's hooks (settings TUS_AUTHORIZE, TUS_QUOTA, TUS_ON_COMPLETE) -------


def clean_relative_path(raw: str) -> str:
    """The path a file takes inside its package; refuses anything that could escape it."""
    name = (raw or "").replace("\\", "/").strip()
    parts = PurePosixPath(name).parts
    if (
        not parts
        or name.startswith("/")
        or ".." in parts
        or ":" in parts[0]
        or "\x00" in name
        or len(name) > 1000
    ):
        raise ValueError(f"refused file path {raw!r}")
    return "/".join(p for p in parts if p != ".")


def _relative_path_of(metadata: dict) -> str:
    raw = metadata.get("relativePath") or metadata.get("filename") or metadata.get("name") or ""
    if raw in ("null", "undefined"):
        raw = metadata.get("filename") or metadata.get("name") or ""
    # A folder dropped on Uppy gives "/folder/file": the path inside the package.
    return clean_relative_path(raw.replace("\\", "/").lstrip("/"))


def _package_of(metadata: dict) -> Package:
    try:
        return Package.objects.select_related("workspace").get(pk=str(metadata.get("package")))
    except (Package.DoesNotExist, ValueError, ValidationError, DatabaseError, TypeError):
        raise Http404("No such package") from None


def tus_authorize(request: HttpRequest, metadata: dict) -> tuple[AbstractBaseUser, str]:
    """May this request upload a file to the package its metadata names? (TUS_AUTHORIZE)

    The user must be an owner or uploader of the package's workspace (a token must be
    a write token of that workspace), the package still open, the file path clean.
    The scope, for quotas, is the package's workspace.
    """
    from immunoport.accounts.models import ApiToken

    user = request.user
    if not user.is_authenticated:
        raise PermissionDenied("Sign in or send a workspace-write token.")
    package = _package_of(metadata)
    token = getattr(request, "tus_token", None)
    if token is not None and (
        token.scope != ApiToken.Scope.WORKSPACE_WRITE or token.workspace_id != package.workspace_id
    ):
        raise PermissionDenied("This needs a workspace-write token of the package's workspace.")
    workspace_for(user, package.workspace_id, write=True)  # 404 for everyone else
    if package.state != State.OPEN:
        raise PermissionDenied("The package was submitted; it takes no more files.")
    try:
        _relative_path_of(metadata)
    except ValueError as error:
        raise PermissionDenied(str(error)) from None
    assert isinstance(user, AbstractBaseUser)
    return user, f"{SCOPE_PREFIX}{package.workspace_id}"


def workspace_usage(workspace_id: int) -> int:
    """Bytes the workspace's package files take."""
    total = PackageFile.objects.filter(package__workspace_id=workspace_id).aggregate(
        total=Sum("size")
    )["total"]
    return int(total or 0)


def tus_quota(scope: str) -> int | None:
    """Bytes a workspace's uploads may hold in all; None without a quota. (TUS_QUOTA)

    The tus server adds up the scope's finished and unfinished uploads against it.
    """
    gigabytes = getattr(settings, "IMMUNOPORT_WORKSPACE_QUOTA_GB", 0)
    if not gigabytes or not scope.startswith(SCOPE_PREFIX):
        return None
    return int(gigabytes * 1024**3)


def tus_on_complete(upload: Any) -> PackageFile:
    """Attach a finished upload to its package. (TUS_ON_COMPLETE)

    A second file with the same path replaces the first, as re-adding a file does.
    """
    metadata = dict(upload.metadata or {})
    package = _package_of(metadata)
    relative_path = _relative_path_of(metadata)
    with transaction.atomic():
        # Locked, so a submit cannot slip between this check and the new file.
        package = Package.objects.select_for_update().get(pk=package.pk)
        if package.state != State.OPEN:
            raise PermissionDenied("The package was submitted before this file was complete.")
        previous = PackageFile.objects.filter(package=package, relative_path=relative_path)
        for old in previous:
            if old.storage_name != upload.storage_name:
                transaction.on_commit(partial(_discard, old))
        previous.delete()
        return PackageFile.objects.create(
            package=package,
            relative_path=relative_path,
            size=upload.length,
            sha256=getattr(upload, "sha256", "") or "",
            md5=getattr(upload, "md5", "") or "",
            storage_name=upload.storage_name,
            upload_id=str(upload.id),
        )


def _discard(replaced: PackageFile) -> None:
    """Free the space of a file a newer upload replaced (the tus upload, if it was one)."""
    try:
        from immunoport.tus.models import Upload
        from immunoport.tus.services import terminate

        upload = Upload.objects.filter(pk=replaced.upload_id).first()
    except (ImportError, ValueError, DatabaseError):
        upload = None
    if upload is not None:
        terminate(upload)
    else:
        default_storage.delete(replaced.storage_name)


def attach_file(package: Package, relative_path: str, content: bytes) -> PackageFile:
    """Store ``content`` as a package file without the tus server (tests, scripts)."""
    name = default_storage.save(
        f"packages/{package.pk}/{clean_relative_path(relative_path)}",
        ContentFile(content),
    )
    upload = _Finished(
        id=name,
        metadata={"package": str(package.pk), "relativePath": relative_path},
        length=len(content),
        storage_name=name,
        sha256=hashlib.sha256(content).hexdigest(),
        md5=hashlib.md5(content, usedforsecurity=False).hexdigest(),
    )
    try:
        return tus_on_complete(upload)
    except Exception:
        default_storage.delete(name)
        raise


@dataclass
class _Finished:
    id: str
    metadata: dict
    length: int
    storage_name: str
    sha256: str
    md5: str
    user: Any = None


# --- the job ------------------------------------------------------------------------


class Superseded(Exception):
    """Another run of the job took the package over; this one stops without a trace."""


def gather_files(package: Package, target: Path) -> Path:
    """The package's files under ``target`` with their paths; a lone ZIP is unpacked."""
    files = list(package.files.all())
    for item in files:
        destination = target.joinpath(*clean_relative_path(item.relative_path).split("/"))
        destination.parent.mkdir(parents=True, exist_ok=True)
        source = default_storage.open(item.storage_name, "rb")
        with source, destination.open("wb") as sink:
            shutil.copyfileobj(source, sink, 1 << 20)
    if len(files) == 1 and files[0].relative_path.lower().endswith(".zip"):
        archive = target.joinpath(*files[0].relative_path.split("/"))
        unpacked = target.parent / "unpacked"
        unpacked.mkdir()
        extract(archive, unpacked, keep=lambda name: not name.startswith("__MACOSX/"))
        return unpacked
    return target


def stored_report(report) -> dict[str, Any]:
    """The report as kept with the package: the findings a page shows, and counts of the rest."""
    shown, hidden = shown_findings(report)
    stored = as_dict(report)
    stored["findings"] = shown.to_dicts()
    stored["hidden"] = hidden.to_dicts()
    return stored


class _Heartbeat:
    """Stamps the package's heartbeat (and the loader's progress) from a thread.

    Not started inside a transaction (a test, or an immediate job within a request):
    another connection could not see the package there. On SQLite the stamps wait
    while the load's transaction holds the write lock, which is harmless.
    """

    def __init__(self, package_id: Any, attempt: int) -> None:
        self.package_id = package_id
        self.attempt = attempt
        self.progress: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "_Heartbeat":
        if not connection.in_atomic_block:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def _run(self) -> None:
        from django.db import connection as own

        try:
            while not self._stop.wait(HEARTBEAT_SECONDS):
                fields: dict[str, Any] = {"heartbeat_at": timezone.now()}
                if self.progress is not None:
                    fields["progress"] = self.progress
                try:
                    Package.objects.filter(
                        pk=self.package_id,
                        attempts=self.attempt,
                        state__in=Package.RUNNING_STATES,
                    ).update(**fields)
                except DatabaseError:
                    continue
        finally:
            own.close()


def _update(package: Package, **fields: Any) -> None:
    """Write the run's progress, unless another run has taken the package over."""
    fields.setdefault("heartbeat_at", timezone.now())
    if not Package.objects.filter(pk=package.pk, attempts=package.attempts).update(**fields):
        raise Superseded
    for name, value in fields.items():
        setattr(package, name, value)


def _finish(package: Package, state: str, **fields: Any) -> None:
    _update(package, state=state, finished_at=timezone.now(), **fields)
    notify_submitter(package)


def _loader_progress(heartbeat: _Heartbeat, total_rows: int):
    """The loader's ``progress(label, rows)`` callback, measured against the report's rows."""

    def progress(label: str, rows: int) -> None:
        fraction = min(1.0, rows / total_rows) if total_rows else 0.0
        heartbeat.progress = 50 + int(49 * fraction)

    return progress


def run_package(package_id: Any, attempt: int) -> Package | None:
    """The package's job, run number ``attempt``: unpack, validate and, if asked, load.

    Returns the package in its final state, or None when this run is not the
    package's current one (a stale duplicate of a recovered job).
    """
    now = timezone.now()
    started = Package.objects.filter(
        pk=package_id, state=State.RECEIVED, attempts=attempt - 1
    ).update(
        state=State.VALIDATING,
        attempts=attempt,
        started_at=now,
        heartbeat_at=now,
        step="Gathering the files",
        progress=5,
        error="",
    )
    if not started:
        return None
    package = Package.objects.select_related("workspace", "submitted_by").get(pk=package_id)
    try:
        with _Heartbeat(package.pk, attempt) as heartbeat:
            _run(package, attempt, heartbeat)
    except Superseded:
        return None
    except Exception as error:  # every fault ends the package with its reason
        log.exception("Package %s failed", package.pk)
        reason = str(error) if isinstance(error, LoadError) else f"{type(error).__name__}: {error}"
        try:
            _finish(package, State.FAILED, error=reason, step="Failed")
        except Superseded:
            return None
    return package


def _run(package: Package, attempt: int, heartbeat: _Heartbeat) -> None:
    with tempfile.TemporaryDirectory(prefix="package-") as scratch:
        received = Path(scratch) / "received"
        received.mkdir()
        try:
            folder = gather_files(package, received)
        except (ArchiveError, ValueError) as error:
            _finish(package, State.INVALID, error=str(error), step="Not valid", progress=100)
            return
        _update(package, step="Validating", progress=10)
        try:
            report = validate_for_workspace(folder, package.workspace)
        except UnusableInput as error:
            _finish(package, State.INVALID, error=str(error), step="Not valid", progress=100)
            return
        stored = stored_report(report)
        if not report.is_valid:
            reason = (
                f"{report.errors:,} error{'s' if report.errors != 1 else ''} in the templates; "
                "nothing was loaded."
            )
            _finish(
                package, State.INVALID, report=stored, error=reason, step="Not valid", progress=100
            )
            return
        if package.mode == Package.Mode.VALIDATE:
            _finish(package, State.VALID, report=stored, step="Valid", progress=100)
            return
        _update(package, state=State.LOADING, report=stored, step="Loading", progress=50)
        with transaction.atomic():
            result = load_package(
                folder,
                package.workspace,
                user=package.submitted_by,
                progress=_loader_progress(heartbeat, stored["summary"]["rows"]),
                package_id=str(package.pk),
            )
            current = Package.objects.select_for_update().get(pk=package.pk)
            if current.attempts != attempt or current.state != State.LOADING:
                raise Superseded
            PackageRecord.objects.bulk_create(
                PackageRecord(
                    package=package,
                    table=record.table,
                    accession=record.accession or "",
                    user_defined_id=record.user_defined_id or "",
                    action=str(record.action),
                )
                for record in result.records
            )
            summary = getattr(result, "counts", None) or _summary(
                Counter(f"{r.table}:{r.action}" for r in result.records)
            )
            _update(
                package,
                state=State.LOADED,
                step="Loaded",
                progress=100,
                finished_at=timezone.now(),
                summary=summary,
            )
    notify_submitter(package)


def _summary(counts: Counter) -> dict[str, dict[str, int]]:
    summary: dict[str, dict[str, int]] = {}
    for key, count in sorted(counts.items()):
        table, action = key.rsplit(":", 1)
        summary.setdefault(table, {})[action] = count
    return summary


# --- jobs that stopped --------------------------------------------------------------


def stuck_packages(now: datetime | None = None) -> Iterable[Package]:
    """Packages a job was working on whose heartbeat stopped (its worker is gone)."""
    limit = (now or timezone.now()) - stale_after()
    return Package.objects.filter(
        state__in=(State.VALIDATING, State.LOADING), heartbeat_at__lt=limit
    ).select_related("workspace", "submitted_by")


def recover_package(package: Package, now: datetime | None = None) -> str:
    """Run a stuck package's job again, or fail it after ``max_attempts()`` runs.

    Returns what was done: "retried", "failed", or "" when another process got there first.
    """
    now = now or timezone.now()
    claim = Package.objects.filter(
        pk=package.pk,
        state=package.state,
        attempts=package.attempts,
        heartbeat_at=package.heartbeat_at,
    )
    if package.attempts >= max_attempts():
        reason = (
            f"The job stopped without finishing {package.attempts} times (its worker was lost "
            f"while {package.get_state_display().lower()}); nothing was loaded."
        )
        if not claim.update(state=State.FAILED, error=reason, step="Failed", finished_at=now):
            return ""
        package.refresh_from_db()
        notify_submitter(package)
        return "failed"
    reason = (
        f"Run {package.attempts} stopped while {package.get_state_display().lower()}; "
        "nothing of it was kept. Running it again."
    )
    if not claim.update(
        state=State.RECEIVED, heartbeat_at=now, step="Waiting for a worker (retry)", error=reason
    ):
        return ""
    enqueue_job(package.pk, attempt=package.attempts + 1)
    return "retried"


def recover_stuck_packages(now: datetime | None = None) -> dict[str, list[Package]]:
    """Retry or fail every stuck package; what happened to each."""
    outcome: dict[str, list[Package]] = {"retried": [], "failed": []}
    for package in stuck_packages(now):
        done = recover_package(package, now)
        if done:
            outcome[done].append(package)
    return outcome


def watch(package_id: Any, attempt: int) -> None:
    """The watchdog a deferred task runs: recover the package if its job went silent."""
    from django_tasks import default_task_backend

    from immunoport.ingest.tasks import watch_package

    package = Package.objects.filter(pk=package_id).first()
    if package is None:
        return
    queued = package.state == State.RECEIVED and package.attempts == attempt - 1
    running = package.state in (State.VALIDATING, State.LOADING) and package.attempts == attempt
    if not (queued or running):
        return  # finished, or another run took over (with its own watchdog)
    if queued and _job_ended_unstarted(package):
        return
    silent = package.heartbeat_at is None or package.heartbeat_at < timezone.now() - stale_after()
    if running and silent:
        recover_package(package)
        return
    if default_task_backend.supports_defer:
        watch_package.using(run_after=timezone.now() + stale_after()).enqueue(
            str(package_id), attempt
        )


def _job_ended_unstarted(package: Package) -> bool:
    """Fail a queued package whose job ended without starting it (it crashed at once)."""
    from django_tasks.exceptions import TaskException

    from immunoport.ingest.tasks import process_package

    try:
        job = process_package.get_result(package.job_id)
    except (TaskException, NotImplementedError, ValueError):
        return False
    if not job.is_finished:
        return False
    problem = job.errors[-1].exception_class_path if job.errors else "no error recorded"
    reason = f"The job ended without starting the package ({problem}); nothing was loaded."
    failed = Package.objects.filter(
        pk=package.pk, state=State.RECEIVED, attempts=package.attempts
    ).update(state=State.FAILED, error=reason, step="Failed", finished_at=timezone.now())
    if failed:
        package.refresh_from_db()
        notify_submitter(package)
    return bool(failed)


# --- telling the submitter ------------------------------------------------------------


def notify_submitter(package: Package) -> None:
    """E-mail the submitter the package's outcome; a mail failure is logged, not raised."""
    user = package.submitted_by
    if user is None or not user.email:
        return
    from django.urls import reverse

    path = reverse(
        "ingest:package", kwargs={"workspace_id": package.workspace_id, "package_id": package.pk}
    )
    records = [
        (table, ", ".join(f"{count} {action}" for action, count in actions.items()))
        for table, actions in (package.summary or {}).items()
    ]
    try:
        send_templated_mail(
            f"{package.name}: {package.get_state_display()}",
            "ingest/email/package_outcome.txt",
            {"package": package, "records": records, "url": f"{package.site_url}{path}"},
            [user.email],
        )
    except Exception:  # the outcome stands even if the mail does not go
        log.exception("Could not e-mail the outcome of package %s", package.pk)
