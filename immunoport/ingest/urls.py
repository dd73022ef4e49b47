from django.urls import path

from immunoport.ingest import views

app_name = "ingest"
urlpatterns = [
    path("<int:workspace_id>/upload/", views.upload, name="upload"),
    path("<int:workspace_id>/packages/", views.packages, name="packages"),
    path("<int:workspace_id>/packages/<uuid:package_id>/", views.package, name="package"),
    path(
        "<int:workspace_id>/packages/<uuid:package_id>/submit/",
        views.package_submit,
        name="package-submit",
    ),
    path(
        "<int:workspace_id>/packages/<uuid:package_id>/status.json",
        views.package_status,
        name="package-status",
    ),
]
