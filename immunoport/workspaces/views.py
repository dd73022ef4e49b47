from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from immunoport.workspaces.permissions import role_in, workspace_for, workspaces_of


@login_required
def workspace_list(request: HttpRequest) -> HttpResponse:
    return render(request, "workspaces/list.html", {"workspaces": workspaces_of(request.user)})


@login_required
def workspace_detail(request: HttpRequest, workspace_id: int) -> HttpResponse:
    workspace = workspace_for(request.user, workspace_id)
    return render(
        request,
        "workspaces/detail.html",
        {"workspace": workspace, "role": role_in(request.user, workspace)},
    )
