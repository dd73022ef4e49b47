from django.urls import path

from immunoport.workspaces import views

app_name = "workspaces"
urlpatterns = [
    path("", views.workspace_list, name="list"),
    path("request/", views.workspace_request, name="request"),
    path("<int:workspace_id>/", views.workspace_detail, name="detail"),
    path("<int:workspace_id>/members/", views.members, name="members"),
    path("<int:workspace_id>/members/invite/", views.member_invite, name="member-invite"),
    path(
        "<int:workspace_id>/members/<int:membership_id>/role/",
        views.member_role,
        name="member-role",
    ),
    path(
        "<int:workspace_id>/members/<int:membership_id>/remove/",
        views.member_remove,
        name="member-remove",
    ),
    path(
        "<int:workspace_id>/invitations/<int:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation-revoke",
    ),
    path("invitations/<str:token>/", views.invitation, name="invitation"),
]
