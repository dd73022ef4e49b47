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
