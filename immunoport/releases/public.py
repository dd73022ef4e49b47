"""What the public sees: the current data release, read from its snapshots.

Every public page, export and download reads through here; nothing here reads a
study's live rows, so a change to a shared study stays private until the next release.
"""

import io
import re
from collections.abc import Collection

import polars as pl
from django.core.files.storage import default_storage
from django.db.models import Count, Q, QuerySet

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


def released_table(
    table: str, accessions: Collection[str] = (), release: DataRelease | None = None
) -> pl.DataFrame:
    """One public table across the release's studies, or across those in ``accessions``."""
    studies = released_studies(release)
    if accessions:
        studies = studies.filter(study_accession__in=[a.upper() for a in accessions])
    frames = [public_table(study, table) for study in studies if study.counts.get(table)]
    return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()


def _read(name: str) -> pl.DataFrame:
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


# --- the release and study pages -------------------------------------------------------

RELEASE_LABEL = re.compile(r"DR([0-9]+)(?:\.([0-9]+))?")


def data_releases() -> QuerySet[DataRelease]:
    """Every data release, newest first, with how many studies it added and updated."""
    return DataRelease.objects.order_by("-major", "-minor").annotate(
        added=Count("studies", filter=Q(studies__change=ReleasedStudy.Change.ADDED)),
        updated=Count("studies", filter=Q(studies__change=ReleasedStudy.Change.UPDATED)),
        total=Count("studies"),
    )


def data_release(label: str) -> DataRelease | None:
    """The release labelled ``label`` (DR1, DR1.1), written as ``DataRelease.label`` is."""
    found = RELEASE_LABEL.fullmatch(label)
    if found is None:
        return None
    release = DataRelease.objects.filter(major=int(found[1]), minor=int(found[2] or 0)).first()
    return release if release is not None and release.label == label else None


def released_in(accession: str, label: str) -> ReleasedStudy | None:
    """A study as the release labelled ``label`` holds it; None if it holds no such study."""
    release = data_release(label)
    return released_study(accession, release) if release is not None else None


def study_counts(released: ReleasedStudy) -> dict[str, int]:
    """The figures a release's notes give for a study, from its public tables' rows."""
    counts = released.counts
    return {
        "subjects": counts.get("subject", 0),
        "biosamples": counts.get("biosample", 0),
        "experiments": counts.get("experiment", 0),
        "expsamples": counts.get("expsample", 0),
        "results": sum(n for table, n in counts.items() if table.endswith("_result")),
    }
