"""Curators' decisions, for staff to look through; the services write them."""

from django.contrib import admin

from immunoport.core.admin import ReadOnlyAdmin
from immunoport.curation.models import LookupTermAddition, ValueMapping


@admin.register(ValueMapping)
class ValueMappingAdmin(ReadOnlyAdmin):
    list_display = ["lookup", "reported_value", "preferred", "curator", "mapped_at", "rows_changed"]
    list_filter = ["lookup"]
    search_fields = ["reported_value", "preferred", "note"]


@admin.register(LookupTermAddition)
class LookupTermAdditionAdmin(ReadOnlyAdmin):
    list_display = ["lookup", "name", "ontology_id", "curator", "added_at"]
    list_filter = ["lookup"]
    search_fields = ["name", "ontology_id"]
