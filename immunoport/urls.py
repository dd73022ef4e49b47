from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("", include("immunoport.portal.urls")),
    path("resources/", include("immunoport.schema.urls")),
    path("", include("immunoport.validation.urls")),
    path("workspaces/", include("immunoport.workspaces.urls")),
    path("", include("immunoport.accounts.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]
