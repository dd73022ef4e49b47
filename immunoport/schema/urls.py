from django.urls import path

from immunoport.schema import views

app_name = "schema"
urlpatterns = [
    path("templates/", views.template_list, name="template-list"),
    path("templates/<str:file_name>/", views.template_detail, name="template-detail"),
    path("templates/<str:file_name>/blank.txt", views.blank, {"kind": "txt"}, name="blank-txt"),
    path("templates/<str:file_name>/blank.xlsx", views.blank, {"kind": "xlsx"}, name="blank-xlsx"),
    path("lookups/", views.lookup_list, name="lookup-list"),
    path("lookups/<str:name>/", views.lookup_detail, name="lookup-detail"),
]
