"""Earlier values of research records that a later upload changed.

Not one of ImmPort's tables (so not generated): when a package names a user-defined
ID the workspace already holds, the loader updates that record, keeps its accession,
and writes the values it had before here, one row per record and load.
"""

from django.conf import settings
from django.db import models


class RecordHistory(models.Model):
    """A record's values before one load changed them."""

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    table_name = models.CharField(max_length=64)  # ImmPort's table name: subject, biosample, ...
    accession = models.CharField(max_length=15)
    changed_at = models.DateTimeField(auto_now_add=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # the upload (immunoport.ingest's Package) the change came from, if any
    package_id = models.CharField(max_length=64, null=True, blank=True)
    # column -> value as stored before; "replaced" holds dependent rows the load replaced
    previous_values = models.JSONField()

    class Meta:
        db_table = "record_history"
        indexes = [models.Index(fields=["workspace", "table_name", "accession"])]

    def __str__(self) -> str:
        return f"{self.table_name} {self.accession} before {self.changed_at:%Y-%m-%d %H:%M}"
