from django.urls import path

from immunoport.studies import views

app_name = "studies"
urlpatterns = [
    path("<int:workspace_id>/grants/", views.grant_list, name="grants"),
    path("<int:workspace_id>/grants/new/", views.grant_create, name="grant-create"),
    path(
        "<int:workspace_id>/grants/<int:grant_id>/studies/",
        views.grant_studies,
        name="grant-studies",
    ),
]
