from django.db import models


class Workspace(models.Model):
    """A private area in which data providers deposit and curate study data.

    Stored in ImmPort's ``workspace`` table (workspace_id, name, category, type) so
    that records keep ImmPort's ``workspace_id`` column.
    """

    workspace_id = models.BigAutoField(primary_key=True)
    name = models.CharField(max_length=125, unique=True)
    category = models.CharField(max_length=50, default="Study")
    type = models.CharField(max_length=20, default="Private")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "workspace"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A person's role in a workspace; only members ever see its private data."""

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        UPLOADER = "uploader", "Uploader"
        VIEWER = "viewer", "Viewer"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        "auth.User", on_delete=models.CASCADE, related_name="workspace_memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "workspace_membership"
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="one_membership_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.workspace}"
