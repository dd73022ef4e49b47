"""ImmPort's controlled vocabularies (the ``lk_*`` lookup tables)."""

from django.db import models


class Lookup(models.Model):
    """One lookup table, such as ``lk_gender`` or ``lk_sample_type``."""

    name = models.CharField(max_length=64, primary_key=True)
    kind = models.CharField(max_length=64)
    name_components = models.JSONField(default=list, blank=True)

    class Meta:
        db_table = "lookup"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class LookupTerm(models.Model):
    """One term of a lookup: its name, and ImmPort's id, link and description.

    For composite tables (lk_analyte, lk_disease, ...) ``parts`` holds the named
    pieces of ``name``; for synonym tables (``*_pref_map``) it holds the reported
    and preferred spellings.
    """

    lookup = models.ForeignKey(Lookup, on_delete=models.CASCADE, related_name="terms")
    name = models.CharField(max_length=1000)
    term_id = models.CharField(max_length=250, blank=True)
    link = models.CharField(max_length=2000, blank=True)
    description = models.TextField(blank=True)
    parts = models.JSONField(default=dict, blank=True)
    # added by a curator, not one of ImmPort's: kept when ImmPort's lookups are reloaded
    curated = models.BooleanField(default=False)

    class Meta:
        db_table = "lookup_term"
        ordering = ["lookup", "name"]
        constraints = [
            models.UniqueConstraint(fields=["lookup", "name"], name="lookup_term_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.lookup_id}: {self.name}"
