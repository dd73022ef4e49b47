from django.urls import path

from immunoport.studies import views

app_name = "studies"
urlpatterns = [
    path("<int:workspace_id>/grants/", views.grant_list, name="grants"),
    path("<int:workspace_id>/grants/new/", views.grant_create, name="grant-create"),
    path(
        "<int:workspace_id>/grants/<int:grant_id>/studies/",
        views.grant_studies,
        name="grant-studies",
    ),
    path("<int:workspace_id>/studies/", views.registrations, name="registrations"),
    path("<int:workspace_id>/studies/new/", views.draft_create, name="draft-create"),
    path(
        "<int:workspace_id>/studies/drafts/<uuid:draft_id>/",
        views.draft_resume,
        name="draft-resume",
    ),
    path(
        "<int:workspace_id>/studies/drafts/<uuid:draft_id>/discard/",
        views.draft_discard,
        name="draft-discard",
    ),
    path(
        "<int:workspace_id>/studies/drafts/<uuid:draft_id>/<slug:slug>/",
        views.draft_step,
        name="draft-step",
    ),
    path("<int:workspace_id>/studies/<str:accession>/edit/", views.study_edit, name="study-edit"),
    path(
        "<int:workspace_id>/studies/<str:accession>/templates.zip",
        views.study_export,
        name="study-export",
    ),
]
