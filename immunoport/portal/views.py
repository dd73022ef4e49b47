from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from immunoport.portal.services import banner_figures, shared_study_list
from immunoport.workspaces.permissions import writable_workspaces_of

SECTIONS = {
    "upload": (
        "Upload",
        "Deposit study data into a private workspace: ImmPort templates, packages and "
        "data files, validated before anything is stored.",
    ),
    "analysis": (
        "Analysis",
        "Re-analyse shared data: cytometry metadata and automated clustering.",
    ),
    "resources": (
        "Resources",
        "Blank templates, lookup tables and documentation for data providers.",
    ),
}

SECTION_LINKS = {
    "upload": [
        ("Blank templates to fill in", "schema:template-list"),
    ],
    "resources": [
        ("Upload templates: blanks and their columns", "schema:template-list"),
        ("Lookup tables", "schema:lookup-list"),
    ],
}


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/home.html", {"figures": banner_figures()})


def shared_data(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/shared_data.html", {"studies": shared_study_list()})


def section(request: HttpRequest, name: str) -> HttpResponse:
    label, summary = SECTIONS[name]
    links = [(text, reverse(url_name)) for text, url_name in SECTION_LINKS.get(name, [])]
    context = {"section": {"label": label, "summary": summary}, "links": links}
    if name == "upload":
        context["workspaces"] = writable_workspaces_of(request.user)
        return render(request, "portal/upload.html", context)
    return render(request, "portal/section.html", context)
