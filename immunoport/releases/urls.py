from django.urls import path

from immunoport.releases import views

app_name = "releases"
urlpatterns = [
    path("<int:workspace_id>/studies/<str:accession>/share/", views.share, name="share"),
]
