"""Study registrations in progress: what the wizard has saved so far.

Not one of ImmPort's tables. A draft holds the wizard's steps as the rows the
templates would hold (``data``: part -> rows of column name -> text), so finishing a
draft is loading the ``basic_study_design.txt`` + ``protocols.txt`` it amounts to.
A draft for an existing study (``study`` set) edits that study.
"""

import uuid

from django.conf import settings
from django.db import models


class StudyDraft(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        REGISTERED = "registered", "Registered"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="study_drafts"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # the study this draft edits, or the one it registered
    study = models.ForeignKey(
        "studies.Study",
        on_delete=models.CASCADE,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    edits_study = models.BooleanField(default=False)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    data = models.JSONField(default=dict)
    steps_done = models.JSONField(default=list)  # slugs of the steps saved valid
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    registered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "study_draft"
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"{self.title or 'Untitled study'} ({self.get_status_display()})"

    @property
    def title(self) -> str:
        study = (self.data.get("study") or [{}])[0]
        return study.get("Brief Title") or study.get("User Defined ID") or ""

    @property
    def user_defined_id(self) -> str:
        return (self.data.get("study") or [{}])[0].get("User Defined ID") or ""


def _draft_file_path(instance: "DraftFile", name: str) -> str:
    return f"workspaces/{instance.draft.workspace_id}/drafts/{instance.draft_id}/{name}"


class DraftFile(models.Model):
    """A document uploaded on a wizard step (a protocol, a study file), kept with the
    draft until the study is registered, then loaded like a package's file."""

    draft = models.ForeignKey(StudyDraft, on_delete=models.CASCADE, related_name="files")
    name = models.CharField(max_length=250)  # as the provider named it
    file = models.FileField(upload_to=_draft_file_path, max_length=500)
    size = models.BigIntegerField()

    class Meta:
        db_table = "study_draft_file"
        constraints = [
            models.UniqueConstraint(fields=["draft", "name"], name="study_draft_file_name")
        ]

    def __str__(self) -> str:
        return self.name
