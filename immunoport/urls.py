from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("immunoport.portal.urls")),
    path("resources/", include("immunoport.schema.urls")),
    path("", include("immunoport.validation.urls")),
    path("workspaces/", include("immunoport.workspaces.urls")),
    path("", include("immunoport.accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]
