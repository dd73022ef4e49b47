from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from immunoport.accounts import audit
from immunoport.workspaces import services
from immunoport.workspaces.forms import InviteForm, RoleForm, WorkspaceRequestForm
from immunoport.workspaces.models import Invitation, Membership
from immunoport.workspaces.permissions import role_in, workspace_for, workspaces_of


@login_required
def workspace_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "workspaces/list.html",
        {
            "workspaces": workspaces_of(request.user),
            "requests": services.requests_of(request.user),
        },
    )


@login_required
def workspace_detail(request: HttpRequest, workspace_id: int) -> HttpResponse:
    workspace = workspace_for(request.user, workspace_id)
    audit.viewed(request, workspace)
    return render(
        request,
        "workspaces/detail.html",
        {"workspace": workspace, "role": role_in(request.user, workspace)},
    )


@login_required
def workspace_request(request: HttpRequest) -> HttpResponse:
    form = WorkspaceRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ws_request = services.request_workspace(request.user, form.cleaned_data, request=request)
        messages.success(
            request,
            f"Your request for “{ws_request.name}” has been sent; staff will e-mail you "
            "when it has been decided.",
        )
        return redirect("workspaces:list")
    return render(request, "workspaces/request.html", {"form": form})


def _members_page(request: HttpRequest, workspace, invite_form: InviteForm | None = None):
    role = role_in(request.user, workspace)
    owner = role == Membership.Role.OWNER
    audit.viewed(request, workspace, "members")
    return render(
        request,
        "workspaces/members.html",
        {
            "workspace": workspace,
            "role": role,
            "is_owner": owner,
            "members": services.members_of(workspace),
            "invitations": services.pending_invitations(workspace) if owner else [],
            "invite_form": invite_form or (InviteForm() if owner else None),
            "roles": Membership.Role.choices,
            "invitation_days": services.INVITATION_DAYS,
        },
    )


@login_required
def members(request: HttpRequest, workspace_id: int) -> HttpResponse:
    return _members_page(request, workspace_for(request.user, workspace_id))


@require_POST
@login_required
def member_invite(request: HttpRequest, workspace_id: int) -> HttpResponse:
    workspace = workspace_for(request.user, workspace_id, owner=True)
    form = InviteForm(request.POST)
    if not form.is_valid():
        return _members_page(request, workspace, invite_form=form)
    email = form.cleaned_data["email"]
    services.invite(workspace, request.user, email, form.cleaned_data["role"], request=request)
    messages.success(request, f"An invitation has been sent to {email}.")
    return redirect("workspaces:members", workspace.pk)


@require_POST
@login_required
def member_role(request: HttpRequest, workspace_id: int, membership_id: int) -> HttpResponse:
    workspace = workspace_for(request.user, workspace_id, owner=True)
    membership = get_object_or_404(Membership, pk=membership_id, workspace=workspace)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the roles offered.")
    else:
        try:
            role = form.cleaned_data["role"]
            services.change_role(membership, request.user, role, request=request)
        except services.WorkspaceError as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request, f"{membership.user.username} is now {membership.get_role_display()}."
            )
    return redirect("workspaces:members", workspace.pk)


@require_POST
@login_required
def member_remove(request: HttpRequest, workspace_id: int, membership_id: int) -> HttpResponse:
    """An owner removes a member; a member removing themself leaves."""
    workspace = workspace_for(request.user, workspace_id)
    membership = get_object_or_404(Membership, pk=membership_id, workspace=workspace)
    leaving = membership.user_id == request.user.pk
    if not leaving:
        workspace = workspace_for(request.user, workspace_id, owner=True)
    try:
        services.remove_member(membership, request.user, request=request)
    except services.WorkspaceError as error:
        messages.error(request, str(error))
        return redirect("workspaces:members", workspace.pk)
    if leaving:
        messages.success(request, f"You have left “{workspace.name}”.")
        return redirect("workspaces:list")
    messages.success(request, f"{membership.user.username} has been removed.")
    return redirect("workspaces:members", workspace.pk)


@require_POST
@login_required
def invitation_revoke(request: HttpRequest, workspace_id: int, invitation_id: int) -> HttpResponse:
    workspace = workspace_for(request.user, workspace_id, owner=True)
    invitation = get_object_or_404(Invitation, pk=invitation_id, workspace=workspace)
    try:
        services.revoke_invitation(invitation, request.user, request=request)
    except services.WorkspaceError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"The invitation to {invitation.email} has been withdrawn.")
    return redirect("workspaces:members", workspace.pk)


@never_cache  # the URL carries the invitation's secret
@login_required
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """Shows an invitation to the signed-in person holding its link; accepting is a POST."""
    found = services.invitation_for_token(token)
    problem = services.invitation_problem(found)
    if problem is not None:
        status = 404 if found is None else 410
        return render(request, "workspaces/invitation.html", {"problem": problem}, status=status)
    assert found is not None
    if request.method == "POST":
        try:
            membership = services.accept_invitation(token, request.user, request=request)
        except services.WorkspaceError as error:
            return render(
                request, "workspaces/invitation.html", {"problem": str(error)}, status=409
            )
        messages.success(
            request,
            f"You are now {membership.get_role_display().lower()} in "
            f"“{membership.workspace.name}”.",
        )
        return redirect("workspaces:detail", membership.workspace.pk)
    return render(
        request,
        "workspaces/invitation.html",
        {
            "invitation": found,
            "already_member": role_in(request.user, found.workspace) is not None,
        },
    )
