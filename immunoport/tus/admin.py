from django.contrib import admin

from immunoport.core.admin import ReadOnlyAdmin
from immunoport.tus.models import Upload


@admin.register(Upload)
class UploadAdmin(ReadOnlyAdmin):
    list_display = ("id", "user", "scope", "offset", "length", "created_at", "completed_at")
    list_filter = ("completed_at",)
    search_fields = ("id", "user__username", "scope", "storage_name")
