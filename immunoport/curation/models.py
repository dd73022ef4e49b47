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


class ValueMapping(models.Model):
    """A curator's decision: a reported value (any case) means this term of a lookup.

    Never edited: a re-mapping is a new row, and the latest row for a value is the one
    that holds (for rows loaded later too). ``rows_changed`` is how many stored rows the
    mapping gave the preferred value at the time.
    """

    lookup = models.ForeignKey("schema.Lookup", on_delete=models.PROTECT, related_name="+")
    reported_value = models.CharField(max_length=1000)  # lower-cased, trimmed
    preferred = models.CharField(max_length=1000)  # the term's name, as in the lookup
    curator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    mapped_at = models.DateTimeField(auto_now_add=True)
    note = models.TextField(blank=True)
    rows_changed = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "value_mapping"
        ordering = ["-pk"]
        indexes = [models.Index(fields=["lookup", "reported_value"])]

    def __str__(self) -> str:
        return f"{self.lookup_id}: {self.reported_value!r} -> {self.preferred!r}"


class LookupTermAddition(models.Model):
    """A term a curator added to a lookup, for reported values ImmPort has no term for.

    Kept as it was added even if the term is later removed or renamed.
    """

    lookup = models.ForeignKey("schema.Lookup", on_delete=models.PROTECT, related_name="+")
    term = models.ForeignKey(
        "schema.LookupTerm", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    name = models.CharField(max_length=1000)
    ontology_id = models.CharField(max_length=250, blank=True)  # "DOID:8469"
    link = models.CharField(max_length=2000, blank=True)
    curator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "lookup_term_addition"
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"{self.lookup_id}: {self.name}"
