from django.contrib import admin
from django.http import HttpRequest

from immunoport.accounts.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Staff see and revoke tokens; they are only made through the services (shown once)."""

    list_display = ["name", "user", "prefix", "scope", "workspace", "expires_at", "revoked_at"]
    list_filter = ["scope"]
    search_fields = ["name", "prefix", "user__username"]
    fields = [
        "user",
        "name",
        "scope",
        "workspace",
        "prefix",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    readonly_fields = [f for f in fields if f != "revoked_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
