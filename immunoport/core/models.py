"""Cross-cutting model pieces: workspace ownership and accession numbers."""

from typing import ClassVar

from django.db import models


class AccessionCounter(models.Model):
    """The last number issued for one accession prefix (SDY, SUB, BS, ...)."""

    prefix = models.CharField(max_length=10, primary_key=True)
    last_value = models.BigIntegerField(default=0)

    class Meta:
        db_table = "accession_counter"

    def __str__(self) -> str:
        return f"{self.prefix}{self.last_value}"


class WorkspaceRecord(models.Model):
    """A private record: it belongs to exactly one workspace.

    ImmPort's tables mostly carry ``workspace_id`` already; the link tables and
    study satellites get the column too, so every row can be filtered by workspace
    without joins.
    """

    workspace = models.ForeignKey(
        "workspaces.Workspace",
        on_delete=models.CASCADE,
        db_column="workspace_id",
        related_name="+",
    )

    class Meta:
        abstract = True


class AccessionedRecord(WorkspaceRecord):
    """A record identified by an ImmPort-style accession, assigned on first save.

    ``user_defined_id`` is the provider's own identifier from the upload templates;
    it is private and never leaves the workspace.
    """

    accession_prefix: ClassVar[str]

    user_defined_id = models.CharField(max_length=250, null=True, blank=True)

    class Meta:
        abstract = True
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "user_defined_id"],
                name="%(class)s_unique_user_defined_id",
            )
        ]

    def save(self, *args, **kwargs):
        if not self.pk:
            from immunoport.core.accessions import issue_accessions

            self.pk = issue_accessions(self.accession_prefix, 1)[0]
            kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    @property
    def accession(self) -> str:
        return self.pk
