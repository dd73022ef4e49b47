"""What the public sees: the current data release, read from its snapshots.

Every public page, export and download reads through here; nothing here reads a
study's live rows, so a change to a shared study stays private until the next release.
"""

import io
from functools import lru_cache

import polars as pl
from django.core.files.storage import default_storage
from django.db.models import QuerySet

from immunoport.releases.models import DataRelease, ReleasedStudy
from immunoport.releases.services import current_release


def released_studies(release: DataRelease | None = None) -> QuerySet[ReleasedStudy]:
    """The studies of ``release`` (the current one by default)."""
    release = release or current_release()
    if release is None:
        return ReleasedStudy.objects.none()
    return release.studies.select_related("release").order_by("study_accession")


def released_study(accession: str, release: DataRelease | None = None) -> ReleasedStudy | None:
    return released_studies(release).filter(study_accession=accession.upper()).first()


def releases_of(accession: str) -> QuerySet[ReleasedStudy]:
    """Every release a study appears in, newest first."""
    return (
        ReleasedStudy.objects.filter(study_accession=accession.upper())
        .select_related("release")
        .order_by("-release__major", "-release__minor")
    )


def public_table(released: ReleasedStudy, table: str) -> pl.DataFrame:
    """One public table of a released study (empty when the study has no such rows)."""
    return _read(f"{released.snapshot}/{table}.parquet")


@lru_cache(maxsize=512)
def _read(name: str) -> pl.DataFrame:
    """Snapshots never change once written, so a process may keep what it read."""
    if not default_storage.exists(name):
        return pl.DataFrame()
    with default_storage.open(name, "rb") as handle:
        return pl.read_parquet(io.BytesIO(handle.read()))


def release_notes(release: DataRelease) -> dict[str, list[ReleasedStudy]]:
    """The studies a release added and updated, with their counts."""
    studies = list(released_studies(release))
    return {
        "added": [s for s in studies if s.change == ReleasedStudy.Change.ADDED],
        "updated": [s for s in studies if s.change == ReleasedStudy.Change.UPDATED],
        "unchanged": [s for s in studies if s.change == ReleasedStudy.Change.UNCHANGED],
    }
