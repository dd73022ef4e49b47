"""Background jobs of data releases, run by the task worker."""

from django_tasks import task

from immunoport.releases import services


@task()
def build_release_downloads(release_id: int) -> None:
    """Build the downloads a release still lacks: new study versions, ALLSTUDIES."""
    services.build_downloads(release_id)
