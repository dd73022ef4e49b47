"""One resumable upload: its declared length, the offset acknowledged so far, its pieces."""

import uuid

from django.conf import settings
from django.db import models


class Upload(models.Model):
    """A tus upload. ``offset`` counts only bytes stored and verified; ``pieces`` names the
    storage objects that hold them, in order, until completion assembles ``storage_name``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # SET_NULL: finished files may belong to a workspace and outlive their uploader's account
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="tus_uploads",
    )
    scope = models.CharField(
        max_length=200, db_index=True, help_text="opaque key from TUS_AUTHORIZE, for quotas"
    )
    length = models.BigIntegerField()
    offset = models.BigIntegerField(default=0)
    metadata = models.JSONField(default=dict, blank=True)
    pieces = models.JSONField(default=list, blank=True)
    storage_name = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    md5 = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.id} ({self.offset}/{self.length})"

    @property
    def prefix(self) -> str:
        """Storage folder of every object of this upload."""
        return f"tus/{self.id}"

    @property
    def filename(self) -> str:
        return str(self.metadata.get("filename") or self.metadata.get("name") or "upload")
