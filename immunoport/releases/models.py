"""Sharing requests and numbered data releases.

A workspace owner asks to share a study; a curator reviews the request; an approved
study goes into the next data release. A release (``DR<n>``, point releases
``DR<n>.<m>``) holds, for every shared study, an immutable snapshot of its public
representation (what ``releases.privacy`` makes of its rows) and the download built
from it. A study unchanged since the previous release keeps that release's snapshot.
"""

from django.conf import settings
from django.db import models


class SharingRequest(models.Model):
    class Status(models.TextChoices):
        REQUESTED = "requested", "Waiting for review"
        APPROVED = "approved", "Approved for the next release"
        REJECTED = "rejected", "Returned to the provider"
        RELEASED = "released", "Released"

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="sharing_requests"
    )
    study = models.ForeignKey(
        "studies.Study", on_delete=models.CASCADE, db_constraint=False, related_name="+"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    share_after = models.DateField(
        help_text="The study is released in the first release on or after this date."
    )
    message = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.REQUESTED)
    checklist = models.JSONField(default=dict)  # review item -> checked
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.TextField(blank=True)

    class Meta:
        db_table = "sharing_request"
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"{self.study_id}: {self.get_status_display()}"


class DataRelease(models.Model):
    major = models.PositiveIntegerField()
    minor = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    notes = models.TextField(blank=True)  # the curators' words; the study lists are generated
    # ALLSTUDIES: one summary row per study of the release, built with the downloads
    all_studies = models.CharField(max_length=300, blank=True)
    all_studies_md5 = models.CharField(max_length=32, blank=True)

    class Meta:
        db_table = "data_release"
        ordering = ["-major", "-minor"]
        constraints = [
            models.UniqueConstraint(fields=["major", "minor"], name="data_release_number")
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return f"DR{self.major}" if not self.minor else f"DR{self.major}.{self.minor}"


class ReleasedStudy(models.Model):
    """One study as one release shows it: never changed once written."""

    class Change(models.TextChoices):
        ADDED = "added", "Added"
        UPDATED = "updated", "Updated"
        UNCHANGED = "unchanged", "Unchanged"

    release = models.ForeignKey(DataRelease, on_delete=models.PROTECT, related_name="studies")
    study_accession = models.CharField(max_length=15, db_index=True)
    version = models.PositiveIntegerField()  # the study's own: 1, then one more per update
    change = models.CharField(max_length=10, choices=Change.choices)
    title = models.CharField(max_length=250)
    counts = models.JSONField(default=dict)  # public table -> rows
    content_hash = models.CharField(max_length=64)  # of the public tables
    snapshot = models.CharField(max_length=300)  # storage folder of the tables (Parquet)
    download = models.CharField(max_length=300, blank=True)  # storage name of the ZIP
    download_md5 = models.CharField(max_length=32, blank=True)
    download_size = models.BigIntegerField(null=True, blank=True)
    doi = models.CharField(max_length=250, blank=True)  # minted by a registrar, when one is set

    class Meta:
        db_table = "released_study"
        ordering = ["study_accession"]
        constraints = [
            models.UniqueConstraint(
                fields=["release", "study_accession"], name="released_study_once_per_release"
            )
        ]

    def __str__(self) -> str:
        return f"{self.study_accession} v{self.version} in {self.release}"

    def citation(self) -> str:
        """How to cite the study as this release holds it."""
        doi = f" https://doi.org/{self.doi}" if self.doi else ""
        return (
            f"{self.title}. immunoport study {self.study_accession}, version {self.version}, "
            f"data release {self.release.label}.{doi}"
        )
