from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path
from ninja.openapi.views import openapi_view

from immunoport.api.api import api

# Django's admin sign-in would skip the second factor and the agreement: staff sign in
# through allauth's pages, which ask for both.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

urlpatterns = [
    path("", include("immunoport.portal.urls")),
    path("resources/", include("immunoport.schema.urls")),
    path("", include("immunoport.validation.urls")),
    path("workspaces/", include("immunoport.workspaces.urls")),
    path("workspaces/", include("immunoport.ingest.urls")),
    path("workspaces/", include("immunoport.studies.urls")),
    path("workspaces/", include("immunoport.releases.urls")),
    path("curation/", include("immunoport.curation.urls")),
    path("", include("immunoport.accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("uploads/tus/", include("immunoport.tus.urls")),
    path("admin/", admin.site.urls),
    path("data/query/", api.urls),
    path("api/docs", openapi_view, {"api": api}, name="api-docs"),
]
