from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from immunoport.portal.services import banner_figures, shared_study_list
from immunoport.releases import public
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


# --- data releases and released studies: the current release and the earlier ones --------


def releases(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/releases.html", {"releases": public.data_releases()})


def release(request: HttpRequest, label: str) -> HttpResponse:
    found = public.data_release(label)
    if found is None:
        raise Http404("No such data release.")
    notes = {
        change: [(study, public.study_counts(study)) for study in studies]
        for change, studies in public.release_notes(found).items()
    }
    return render(request, "portal/release.html", {"release": found, "notes": notes})


def release_all_studies(request: HttpRequest, label: str) -> HttpResponse:
    found = public.data_release(label)
    if found is None:
        raise Http404("No such data release.")
    if not found.all_studies:
        return _being_prepared(request, f"ALLSTUDIES of data release {found.label}")
    return _download(found.all_studies)


def study(request: HttpRequest, accession: str) -> HttpResponse:
    released = public.released_study(accession)
    if released is None:  # never released, or private: the page says neither
        raise Http404("No such study in the current data release.")
    context = {
        "released": released,
        "overview": public.study_overview(released),
        "releases": public.releases_of(released.study_accession),
    }
    return render(request, "portal/study.html", context)


def study_download(request: HttpRequest, accession: str, label: str) -> HttpResponse:
    released = public.released_in(accession, label)
    if released is None:
        raise Http404("No such study in this data release.")
    if not released.download:
        return _being_prepared(request, f"{released.study_accession} in {released.release}")
    return _download(released.download)


def _download(name: str) -> FileResponse:
    """A stored ZIP, streamed in chunks, under the name it was stored with."""
    return FileResponse(
        default_storage.open(name, "rb"),
        as_attachment=True,
        filename=name.rsplit("/", 1)[-1],
        content_type="application/zip",
    )


def _being_prepared(request: HttpRequest, what: str) -> HttpResponse:
    return render(request, "portal/being_prepared.html", {"what": what}, status=404)
