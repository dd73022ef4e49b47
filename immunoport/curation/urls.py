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
    path("values/", views.values, name="values"),
    path("values/history/", views.mapping_history, name="mapping-history"),
    path("values/<str:lookup>/", views.values_lookup, name="values-lookup"),
    path("values/<str:lookup>/new-term/", views.term_create, name="term-create"),
]
