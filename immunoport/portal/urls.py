from django.urls import path

from immunoport.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("shared/", views.shared_data, name="shared-data"),
    path("shared/search/", views.search, name="search"),
    path("shared/search/export.<str:fmt>", views.search_export, name="search-export"),
    path("workspaces/search/", views.private_search, name="private-search"),
    path(
        "workspaces/search/export.<str:fmt>",
        views.private_search_export,
        name="private-search-export",
    ),
    path(
        "workspaces/<int:workspace_id>/studies/<str:accession>/view/",
        views.private_study,
        name="private-study",
    ),
    path("shared/cart/", views.cart, name="cart"),
    path("shared/cart/add/", views.cart_add, name="cart-add"),
    path("shared/cart/remove/", views.cart_remove, name="cart-remove"),
    path("shared/cart/export.<str:fmt>", views.cart_export, name="cart-export"),
    path("shared/releases/", views.releases, name="releases"),
    path("shared/releases/<str:label>/", views.release, name="release"),
    path(
        "shared/releases/<str:label>/ALLSTUDIES.zip",
        views.release_all_studies,
        name="release-allstudies",
    ),
    path("shared/study/<str:accession>/", views.study, name="study"),
    path(
        "shared/study/<str:accession>/<str:label>.zip", views.study_download, name="study-download"
    ),
    path("shared/programs/", views.programs, name="programs"),
    path("shared/program/<int:program_id>/", views.program, name="program"),
    path(
        "shared/program/<int:program_id>/studies.<str:fmt>",
        views.program_studies_export,
        name="program-studies-export",
    ),
    path("upload/", views.section, {"name": "upload"}, name="upload"),
    path("analysis/", views.section, {"name": "analysis"}, name="analysis"),
    path("resources/", views.section, {"name": "resources"}, name="resources"),
]
