from django.urls import path

from immunoport.curation import views

app_name = "curation"
urlpatterns = [
    path("", views.index, name="index"),
    path("sharing/", views.sharing_list, name="sharing"),
    path("sharing/<int:sharing_id>/", views.review, name="review"),
    path(
        "sharing/<int:sharing_id>/flags/<int:flag_id>/clear/",
        views.flag_clear,
        name="flag-clear",
    ),
    path("releases/", views.releases, name="releases"),
]
