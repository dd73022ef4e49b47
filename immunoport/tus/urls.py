from django.urls import path

from immunoport.tus import views

app_name = "tus"

urlpatterns = [
    path("", views.endpoint, name="endpoint"),
    path("<uuid:upload_id>", views.upload, name="upload"),
]
