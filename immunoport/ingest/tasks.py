"""Background jobs of packages, run by the task worker (``immunoport serve`` starts one)."""

from django_tasks import task

from immunoport.ingest import services


@task()
def process_package(package_id: str, attempt: int) -> str | None:
    """Unpack, validate and (unless validate-only) load one package; run ``attempt``."""
    package = services.run_package(package_id, attempt)
    return package.state if package is not None else None


@task()
def watch_package(package_id: str, attempt: int) -> None:
    """Deferred watchdog: retry or fail the package if its job's worker was lost."""
    services.watch(package_id, attempt)
