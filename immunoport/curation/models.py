"""What curators decide about a study's values before it is shared."""

from django.conf import settings
from django.db import models


class TextFlag(models.Model):
    """A free-text value that may identify someone (an e-mail address, a phone number,
    a date): withheld from every public surface until a curator clears it.

    A flag is for one value: ``value_md5`` is the value's at flagging time, so a value
    changed later is flagged afresh, and clearing never covers text nobody read.
    """

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    study_accession = models.CharField(max_length=15, db_index=True)
    table_name = models.CharField(max_length=64)
    record_key = models.CharField(max_length=200)  # the row's primary key, as text
    column_name = models.CharField(max_length=64)
    reason = models.CharField(max_length=40)  # "e-mail address", "phone number", "date"
    value_md5 = models.CharField(max_length=32)
    flagged_at = models.DateTimeField(auto_now_add=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "text_flag"
        constraints = [
            models.UniqueConstraint(
                fields=["study_accession", "table_name", "record_key", "column_name", "value_md5"],
                name="text_flag_once_per_value",
            )
        ]

    def __str__(self) -> str:
        return f"{self.table_name}.{self.column_name} of {self.record_key}: {self.reason}"

    @property
    def cleared(self) -> bool:
        return self.cleared_at is not None
