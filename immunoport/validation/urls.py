from django.urls import path

from immunoport.validation import views

app_name = "validation"
urlpatterns = [
    path("workspaces/<int:workspace_id>/validate/", views.validate, name="validate"),
]
