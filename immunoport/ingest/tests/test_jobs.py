"""The package job: unpack, validate, load in one transaction, end in a final state."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from conftest import approved_user
from immunoport.ingest import services
from immunoport.ingest.models import Package
from immunoport.ingest.tests.packages import (
    as_zip,
    attach,
    immediate_tasks_fixture,  # noqa: F401 - fixture
    loader_fixture,  # noqa: F401 - fixture
    storage_fixture,  # noqa: F401 - fixture
    valid_files,
)
from immunoport.studies.models import Study
from immunoport.workspaces.models import Membership

pytestmark = pytest.mark.usefixtures("storage", "immediate_tasks")


@pytest.fixture
def uploader(workspace):
    user = approved_user("uploader")
    Membership.objects.create(workspace=workspace, user=user, role=Membership.Role.UPLOADER)
    return user


def new_package(workspace, user, files=None, mode=Package.Mode.LOAD, folder=""):
    package = services.create_package(workspace, user, "Flu vaccine 2021", mode=mode)
    attach(package, valid_files() if files is None else files, folder)
    return package


def test_a_valid_package_is_validated_loaded_and_its_records_kept(workspace, uploader, loader):
    package = new_package(workspace, uploader, folder="flu/")
    package = services.submit_package(package, uploader)
    assert package.state == Package.State.LOADED, package.error
    assert (package.progress, package.attempts, package.error) == (100, 1, "")
    assert package.report["valid"] is True
    assert package.report["summary"]["files"] == 7
    assert [(r.table, r.accession, r.user_defined_id, r.action) for r in package.records.all()] == [
        ("study", "SDY990001", "flu_vax_2021", "created"),
        ("subject", "SUB990001", "sub_1", "created"),
        ("subject", "SUB990002", "sub_2", "updated"),
    ]
    assert package.summary == {"study": {"created": 1}, "subject": {"created": 1, "updated": 1}}
    assert Study.objects.filter(workspace_id=workspace.pk).count() == 1
    # The loader got the files under their paths, and the submitter as the user.
    call = loader.calls[0]
    assert call["user"] == uploader
    assert "flu/bioSamples.txt" in call["files"]
    assert package.started_at <= package.finished_at


def test_the_loader_loads_a_valid_package_and_its_accessions_are_listed(workspace, uploader):
    package = services.submit_package(new_package(workspace, uploader), uploader)
    assert package.state == Package.State.LOADED, package.error
    study = Study.objects.get(workspace_id=workspace.pk)
    assert study.user_defined_id == "flu_vax_2021"
    records = {(r.table, r.user_defined_id): r for r in package.records.all()}
    assert records["study", "flu_vax_2021"].accession == study.pk
    assert records["study", "flu_vax_2021"].action == "created"
    assert package.summary["study"] == {"created": 1}
    # Submitted again, the same package updates what it created.
    again = services.submit_package(new_package(workspace, uploader), uploader)
    assert again.state == Package.State.LOADED, again.error
    assert again.records.get(table="study").action == "updated"
    assert Study.objects.filter(workspace_id=workspace.pk).count() == 1


def test_an_invalid_package_ends_invalid_with_its_report_and_nothing_loaded(
    workspace, uploader, loader
):
    files = valid_files({"bioSamples.txt": ("\tsub_2\t", "\tsub_99\t")})
    package = services.submit_package(new_package(workspace, uploader, files), uploader)
    assert package.state == Package.State.INVALID
    assert package.report["valid"] is False
    assert [(f["file"], f["line"], f["rule"]) for f in package.report["findings"]] == [
        ("bioSamples.txt", 6, "reference")
    ]
    assert package.error == "1 error in the templates; nothing was loaded."
    assert loader.calls == []
    assert not package.records.exists()
    assert not Study.objects.exists()


def test_a_loader_crash_fails_the_package_with_its_reason_and_nothing_loaded(
    workspace, uploader, loader
):
    loader.fail_with = RuntimeError("disk on fire")
    package = services.submit_package(new_package(workspace, uploader), uploader)
    assert package.state == Package.State.FAILED
    assert package.error == "RuntimeError: disk on fire"
    assert package.finished_at is not None
    # The study the loader wrote before crashing went with the transaction.
    assert not Study.objects.exists()
    assert not package.records.exists()


def test_a_load_error_is_the_reason_as_the_loader_words_it(workspace, uploader, loader):
    loader.fail_with = services.LoadError("subject sub_1: arm 'arm_9' is not defined")
    package = services.submit_package(new_package(workspace, uploader), uploader)
    assert (package.state, package.error) == (
        Package.State.FAILED,
        "subject sub_1: arm 'arm_9' is not defined",
    )
    assert not Study.objects.exists()


def test_validate_only_never_loads(workspace, uploader, loader):
    package = new_package(workspace, uploader, mode=Package.Mode.VALIDATE)
    package = services.submit_package(package, uploader)
    assert package.state == Package.State.VALID
    assert package.report["valid"] is True
    assert loader.calls == []
    assert not Study.objects.exists()


def test_one_zip_is_unpacked_with_its_folders(workspace, uploader, loader):
    package = new_package(workspace, uploader, {"flu.zip": as_zip(valid_files(), "flu/")})
    package = services.submit_package(package, uploader)
    assert package.state == Package.State.LOADED, package.error
    assert "flu/protocols.txt" in loader.calls[0]["files"]


def test_a_zip_reaching_outside_its_folder_is_refused(workspace, uploader, loader):
    package = new_package(workspace, uploader, {"evil.zip": as_zip({"../../escape.txt": b"x"})})
    package = services.submit_package(package, uploader)
    assert package.state == Package.State.INVALID
    assert "points outside it" in package.error
    assert loader.calls == []


def test_a_zip_bomb_is_refused(workspace, uploader, loader):
    bomb = as_zip({"bomb.txt": b"\0" * (8 * 1024 * 1024)})
    package = services.submit_package(new_package(workspace, uploader, {"b.zip": bomb}), uploader)
    assert package.state == Package.State.INVALID
    assert "ZIP bomb" in package.error


def test_the_submitter_is_emailed_when_the_job_ends(workspace, uploader, loader):
    package = services.submit_package(new_package(workspace, uploader), uploader)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [uploader.email]
    assert "Flu vaccine 2021: Loaded" in message.subject
    assert f"/workspaces/{workspace.pk}/packages/{package.pk}/" in message.body
    assert "subject: 1 created, 1 updated" in message.body


def test_a_package_without_files_or_submitted_twice_is_refused(workspace, uploader, loader):
    empty = services.create_package(workspace, uploader, "empty")
    with pytest.raises(services.PackageRefused, match="no files"):
        services.submit_package(empty, uploader)
    package = services.submit_package(new_package(workspace, uploader), uploader)
    with pytest.raises(services.PackageRefused, match="already submitted"):
        services.submit_package(package, uploader)


# --- a worker killed in the middle ------------------------------------------------------


def killed_while_loading(workspace, uploader, attempts=1):
    """A package as a killed worker leaves it: loading, its heartbeat going stale."""
    package = new_package(workspace, uploader)
    Package.objects.filter(pk=package.pk).update(
        state=Package.State.LOADING,
        attempts=attempts,
        submitted_at=timezone.now() - timedelta(hours=2),
        heartbeat_at=timezone.now() - timedelta(hours=1),
    )
    package.refresh_from_db()
    return package


def test_a_stuck_package_is_run_again(workspace, uploader, loader):
    package = killed_while_loading(workspace, uploader)
    outcome = services.recover_stuck_packages()
    assert [p.pk for p in outcome["retried"]] == [package.pk]
    package.refresh_from_db()
    # The immediate backend ran the second attempt at once.
    assert (package.state, package.attempts) == (Package.State.LOADED, 2)
    assert package.records.count() == 3


def test_a_stuck_package_is_failed_after_the_last_attempt(settings, workspace, uploader, loader):
    settings.PACKAGE_MAX_ATTEMPTS = 3
    package = killed_while_loading(workspace, uploader, attempts=3)
    outcome = services.recover_stuck_packages()
    assert [p.pk for p in outcome["failed"]] == [package.pk]
    package.refresh_from_db()
    assert package.state == Package.State.FAILED
    assert "stopped without finishing 3 times" in package.error
    assert "nothing was loaded" in package.error
    assert loader.calls == []
    assert len(mail.outbox) == 1


def test_retries_then_failure_when_every_run_is_killed(settings, workspace, uploader, monkeypatch):
    """Each run dies mid-load (as a killed worker would); recovery retries, then gives up."""
    settings.PACKAGE_MAX_ATTEMPTS = 2
    runs = []

    def killed(package_id, attempt):
        runs.append(attempt)
        Package.objects.filter(pk=package_id).update(
            state=Package.State.LOADING,
            attempts=attempt,
            heartbeat_at=timezone.now() - timedelta(hours=1),
        )

    monkeypatch.setattr(services, "run_package", killed)
    package = services.submit_package(new_package(workspace, uploader), uploader)
    assert runs == [1]
    services.recover_stuck_packages()
    assert runs == [1, 2]
    services.recover_stuck_packages()
    package.refresh_from_db()
    assert runs == [1, 2]
    assert (package.state, package.attempts) == (Package.State.FAILED, 2)


def test_a_fresh_heartbeat_is_left_alone(workspace, uploader, loader):
    package = killed_while_loading(workspace, uploader)
    Package.objects.filter(pk=package.pk).update(heartbeat_at=timezone.now())
    assert services.recover_stuck_packages() == {"retried": [], "failed": []}


def test_a_run_taken_over_midway_writes_nothing_more(workspace, uploader, loader, monkeypatch):
    """A run thought lost (its package recovered and run again) that was in fact alive
    neither commits its load nor overwrites the newer run's state."""
    package = new_package(workspace, uploader)
    Package.objects.filter(pk=package.pk).update(state=Package.State.RECEIVED)
    real_validate = services.validate_for_workspace

    def validate_then_lose_the_package(path, workspace):
        Package.objects.filter(pk=package.pk).update(state=Package.State.RECEIVED, attempts=2)
        return real_validate(path, workspace)

    monkeypatch.setattr(services, "validate_for_workspace", validate_then_lose_the_package)
    assert services.run_package(package.pk, attempt=1) is None
    package.refresh_from_db()
    assert (package.state, package.attempts, package.report) == (Package.State.RECEIVED, 2, None)
    assert loader.calls == []
    assert not Study.objects.exists()


def test_a_superseded_run_stops_without_touching_the_package(workspace, uploader, loader):
    package = killed_while_loading(workspace, uploader, attempts=2)
    assert services.run_package(package.pk, attempt=2) is None  # run 2 already started
    package.refresh_from_db()
    assert package.state == Package.State.LOADING
    assert loader.calls == []


def test_the_recovery_command(workspace, uploader, loader, capsys):
    package = killed_while_loading(workspace, uploader)
    call_command("recover_packages")
    assert f"retried {package.pk}" in capsys.readouterr().out
    package.refresh_from_db()
    assert package.state == Package.State.LOADED


def test_the_watchdog_recovers_a_silent_job_and_ignores_a_finished_one(workspace, uploader, loader):
    package = killed_while_loading(workspace, uploader)
    services.watch(package.pk, 1)
    package.refresh_from_db()
    assert (package.state, package.attempts) == (Package.State.LOADED, 2)
    services.watch(package.pk, 2)  # finished: nothing to do
    package.refresh_from_db()
    assert package.state == Package.State.LOADED


@pytest.mark.django_db(transaction=True)
def test_the_database_worker_runs_the_job_and_its_watchdog_retries_a_killed_one(
    settings, workspace, uploader, loader
):
    """With the default database queue: the worker runs the job; when a worker dies
    mid-load, the watchdog task queued beside the job finds it silent and runs it again."""
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    package = services.submit_package(new_package(workspace, uploader), uploader)
    queued = dict(DBTaskResult.objects.values_list("task_path", "run_after"))
    assert set(queued) == {
        "immunoport.ingest.tasks.process_package",
        "immunoport.ingest.tasks.watch_package",
    }
    assert queued["immunoport.ingest.tasks.watch_package"] > timezone.now()
    # A worker killed while loading: the job is marked running and never finishes.
    DBTaskResult.objects.filter(task_path__endswith="process_package").update(status="RUNNING")
    Package.objects.filter(pk=package.pk).update(
        state=Package.State.LOADING, attempts=1, heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    DBTaskResult.objects.filter(task_path__endswith="watch_package").update(
        run_after=timezone.now()
    )
    call_command("db_worker", batch=True, no_startup_delay=True, interval=0.01, verbosity=0)
    package.refresh_from_db()
    assert (package.state, package.attempts) == (Package.State.LOADED, 2), package.error
    assert package.records.count() == 3


KILLED_WORKER = """
import os, sys, time
from pathlib import Path

import django

django.setup()
from immunoport.ingest import services
from immunoport.studies.models import Study


def load_then_hang(source, workspace, **options):
    Study.objects.create(study_accession="SDY990009", workspace_id=workspace.pk, brief_title="half")
    Path(sys.argv[2]).write_text("loading")
    time.sleep(300)


services.load_package = load_then_hang
services.run_package(sys.argv[1], 1)
"""


def database_url_of(connection) -> str:
    """The test database, named for another process (SQLite file or PostgreSQL)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgresql://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_in_the_middle_of_a_load_leaves_nothing_half_loaded(
    settings, workspace, uploader, loader, tmp_path
):
    import os
    import signal
    import subprocess
    import sys
    import time

    from django.db import connection

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    package = services.submit_package(new_package(workspace, uploader), uploader)
    marker = tmp_path / "loading"
    worker = subprocess.Popen(
        [sys.executable, "-c", KILLED_WORKER, str(package.pk), str(marker)],
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "immunoport.settings",
            "DATABASE_URL": database_url_of(connection),
            "IMMUNOPORT_FILES_DIR": str(settings.MEDIA_ROOT),
        },
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert worker.poll() is None, "the worker stopped before loading"
            assert time.monotonic() < deadline, "the worker never started loading"
            time.sleep(0.1)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    package.refresh_from_db()
    assert (package.state, package.attempts) == (Package.State.LOADING, 1)
    assert not Study.objects.exists()  # the half-written load went with the process
    Package.objects.filter(pk=package.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    services.recover_stuck_packages()
    package.refresh_from_db()
    assert (package.state, package.attempts) == (Package.State.LOADED, 2), package.error
    assert list(Study.objects.values_list("pk", flat=True)) == ["SDY990001"]


def test_a_job_that_crashed_before_starting_fails_its_package(settings, workspace, uploader):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    package = services.submit_package(new_package(workspace, uploader), uploader)
    assert package.job_id
    services.watch(package.pk, 1)  # still queued: nothing to say yet
    package.refresh_from_db()
    assert package.state == Package.State.RECEIVED
    DBTaskResult.objects.filter(pk=package.job_id).update(
        status="FAILED",
        exception_class_path="django.db.utils.OperationalError",
        traceback="database is locked",
        finished_at=timezone.now(),
    )
    services.watch(package.pk, 1)
    package.refresh_from_db()
    assert package.state == Package.State.FAILED
    assert "ended without starting the package (django.db.utils.OperationalError)" in package.error
    assert len(mail.outbox) == 1
