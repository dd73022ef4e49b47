from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("immunoport.portal.urls")),
    path("admin/", admin.site.urls),
]
