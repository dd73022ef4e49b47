"""Packages: a submission of files to a workspace, validated and loaded by a background job."""

import uuid

from django.conf import settings
from django.db import models


class Package(models.Model):
    """One upload of files to a workspace and the job that validates and loads it.

    A package is *open* while its files arrive; submitting it queues the job, which
    moves it through validating (and loading) to a final state with a reason.
    """

    class Mode(models.TextChoices):
        LOAD = "load", "Validate and load"
        VALIDATE = "validate", "Validate only"

    class State(models.TextChoices):
        OPEN = "open", "Receiving files"
        RECEIVED = "received", "Received, waiting for a worker"
        VALIDATING = "validating", "Validating"
        INVALID = "invalid", "Not valid"
        VALID = "valid", "Valid (validated only, nothing loaded)"
        LOADING = "loading", "Loading"
        LOADED = "loaded", "Loaded"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="packages"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="packages",
    )
    name = models.CharField(max_length=200)
    notes = models.TextField(blank=True)
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.LOAD)
    state = models.CharField(max_length=12, choices=State.choices, default=State.OPEN)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Per cent done.")
    step = models.CharField(max_length=200, blank=True, help_text="What the job is doing.")
    report = models.JSONField(null=True, blank=True, help_text="The validation report.")
    error = models.TextField(blank=True, help_text="Why the package failed or is not valid.")
    summary = models.JSONField(default=dict, blank=True, help_text="Records per table and action.")
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Times the job was started.")
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of life of the job working on it."
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    job_id = models.CharField(max_length=64, blank=True, help_text="The queued task's id.")
    site_url = models.CharField(
        max_length=300, blank=True, help_text="The site it was submitted through, for links."
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "heartbeat_at"])]

    def __str__(self) -> str:
        return self.name

    FINAL_STATES = frozenset({State.INVALID, State.VALID, State.LOADED, State.FAILED})
    RUNNING_STATES = frozenset({State.RECEIVED, State.VALIDATING, State.LOADING})

    @property
    def is_final(self) -> bool:
        return self.state in self.FINAL_STATES

    @property
    def is_running(self) -> bool:
        return self.state in self.RUNNING_STATES


class PackageFile(models.Model):
    """A file received for a package, kept in the default storage."""

    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="files")
    relative_path = models.CharField(max_length=1000, help_text="Path inside the package.")
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64, blank=True)
    md5 = models.CharField(max_length=32, blank=True)
    storage_name = models.CharField(max_length=1000, help_text="Name in the default storage.")
    upload_id = models.CharField(max_length=100, blank=True, help_text="The tus upload's id.")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["relative_path"]
        constraints = [
            models.UniqueConstraint(
                fields=["package", "relative_path"], name="package_file_path_unique"
            )
        ]

    def __str__(self) -> str:
        return self.relative_path


class PackageRecord(models.Model):
    """A record the package created or updated, by ImmPort table and accession."""

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"

    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="records")
    table = models.CharField(max_length=100)
    accession = models.CharField(max_length=30, blank=True)
    user_defined_id = models.CharField(max_length=255, blank=True)
    action = models.CharField(max_length=10)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.table} {self.accession or self.user_defined_id}"
