from allauth.account.models import EmailAddress
from django.contrib import admin
from django.db.models import Count
from django.http import HttpRequest

from immunoport.accounts import agreement, registration
from immunoport.accounts.models import ApiToken, AuditEvent, DataUseAgreement, Profile
from immunoport.core.admin import ReadOnlyAdmin


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


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    """Accounts by status; staff approve or reject pending ones in bulk."""

    list_display = [
        "user",
        "full_name",
        "email",
        "email_confirmed",
        "organization",
        "status",
        "registered_at",
    ]
    list_filter = ["status"]
    search_fields = ["user__username", "user__email", "user__last_name", "organization"]
    readonly_fields = ["user", "status", "decided_by", "decided_at", "registered_at"]
    actions = ["approve", "reject"]

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("user")

    @admin.display(description="Name")
    def full_name(self, profile: Profile) -> str:
        return profile.user.get_full_name()

    @admin.display(description="E-mail")
    def email(self, profile: Profile) -> str:
        return profile.user.email

    @admin.display(description="E-mail confirmed", boolean=True)
    def email_confirmed(self, profile: Profile) -> bool:
        return EmailAddress.objects.filter(user=profile.user, verified=True).exists()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Approve the selected accounts", permissions=["change"])
    def approve(self, request: HttpRequest, queryset) -> None:
        self._decide(request, queryset, approve=True)

    @admin.action(description="Reject the selected accounts", permissions=["change"])
    def reject(self, request: HttpRequest, queryset) -> None:
        self._decide(request, queryset, approve=False)

    def _decide(self, request: HttpRequest, queryset, *, approve: bool) -> None:
        for profile in queryset.select_related("user"):
            registration.decide(profile, request.user, approve=approve, request=request)
        verb = "approved" if approve else "rejected"
        self.message_user(request, f"{queryset.count()} account(s) {verb}.")


@admin.register(DataUseAgreement)
class DataUseAgreementAdmin(admin.ModelAdmin):
    """Versions are added, never edited: a changed text is a new version."""

    list_display = ["version", "title", "published_at", "acceptance_count"]
    fields = ["title", "text"]

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).annotate(acceptance_count=Count("acceptances"))

    @admin.display(description="Acceptances")
    def acceptance_count(self, agreement_version: DataUseAgreement) -> int:
        return agreement_version.acceptance_count

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj, form, change) -> None:
        published = agreement.publish_agreement(obj.text, obj.title)
        obj.pk, obj.version = published.pk, published.version


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The audit log, searchable and read-only."""

    list_display = ["at", "actor_name", "action", "workspace", "target", "ip_address"]
    list_filter = ["action", ("at", admin.DateFieldListFilter)]
    search_fields = ["actor_name", "target", "workspace__name", "ip_address"]
    date_hierarchy = "at"
    list_select_related = ["workspace"]
