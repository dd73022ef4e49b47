from django.urls import path

from immunoport.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("shared/", views.shared_data, name="shared-data"),
    path("upload/", views.section, {"name": "upload"}, name="upload"),
    path("analysis/", views.section, {"name": "analysis"}, name="analysis"),
    path("resources/", views.section, {"name": "resources"}, name="resources"),
]
