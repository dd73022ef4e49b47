from django.urls import path

from immunoport.workspaces import views

app_name = "workspaces"
urlpatterns = [
    path("", views.workspace_list, name="list"),
    path("<int:workspace_id>/", views.workspace_detail, name="detail"),
]
