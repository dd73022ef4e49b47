from django.contrib import admin, messages
from django.http import HttpRequest

from immunoport.core.admin import ReadOnlyAdmin
from immunoport.workspaces import services
from immunoport.workspaces.models import (
    REQUEST_FIELDS,
    Invitation,
    Membership,
    Workspace,
    WorkspaceRequest,
)


@admin.register(WorkspaceRequest)
class WorkspaceRequestAdmin(admin.ModelAdmin):
    """Staff approve or reject workspace requests; a pending request's name and note
    may be edited first (to avoid a name that is taken, or to explain a rejection)."""

    list_display = [
        "name",
        "requester",
        "status",
        "subject_count",
        "data_size_gb",
        "accession_needed_by",
        "created_at",
        "workspace",
    ]
    list_filter = ["status"]
    search_fields = [
        "name",
        "requester__username",
        "requester__email",
        "requester__last_name",
        "consortium",
        "grant",
    ]
    list_select_related = ["requester", "workspace"]
    actions = ["approve", "reject"]
    fields = [
        "requester",
        *(f if f != "data_types" else "data_types_display" for f in REQUEST_FIELDS),
        "status",
        "created_at",
        "decided_by",
        "decided_at",
        "workspace",
        "staff_note",
    ]

    @admin.display(description="Kinds of data")
    def data_types_display(self, ws_request: WorkspaceRequest) -> str:
        return ", ".join(ws_request.data_type_labels())

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        editable = {"name", "staff_note"}
        if obj is not None and obj.status != WorkspaceRequest.Status.PENDING:
            editable = set()
        return [field for field in self.fields if field not in editable]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.action(description="Approve: create the workspaces", permissions=["change"])
    def approve(self, request: HttpRequest, queryset) -> None:
        for ws_request in queryset.select_related("requester"):
            try:
                workspace = services.approve_request(ws_request, request.user, request=request)
            except services.WorkspaceError as error:
                self.message_user(request, f"Not approved: {error}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"Workspace “{workspace.name}” created, owned by "
                    f"{ws_request.requester.username}.",
                )

    @admin.action(
        description="Reject (the requester is e-mailed the staff note)", permissions=["change"]
    )
    def reject(self, request: HttpRequest, queryset) -> None:
        for ws_request in queryset.select_related("requester"):
            try:
                services.reject_request(ws_request, request.user, request=request)
            except services.WorkspaceError as error:
                self.message_user(request, f"Not rejected: {error}", messages.ERROR)
            else:
                self.message_user(request, f"Request for “{ws_request.name}” rejected.")


class MembershipInline(admin.TabularInline):
    """Members are managed by the workspace's owners on its members page (audited)."""

    model = Membership
    fields = ["user", "role", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    """Read-mostly: workspaces come from approved requests; members from their owners."""

    list_display = ["name", "workspace_id", "category", "type", "created_at"]
    list_filter = ["category", "type"]
    search_fields = ["name"]
    fields = ["workspace_id", "name", "category", "type", "created_at"]
    readonly_fields = ["workspace_id", "name", "created_at"]
    inlines = [MembershipInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ["workspace", "user", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["workspace__name", "user__username"]
    list_select_related = ["workspace", "user"]


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    """Invitations as a record; the token is never stored, and its hash is not shown."""

    list_display = ["email", "workspace", "role", "invited_by", "created_at", "expires_at"]
    list_display += ["accepted_by", "revoked_at"]
    list_filter = ["role"]
    search_fields = ["email", "workspace__name", "invited_by__username"]
    list_select_related = ["workspace", "invited_by", "accepted_by"]
    exclude = ["token_hash"]
