from typing import Any
from urllib.parse import urlencode

import polars as pl
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from immunoport.accounts import audit
from immunoport.portal import private, services
from immunoport.portal import programs as program_pages
from immunoport.portal.search import SearchIndex
from immunoport.portal.services import banner_figures, shared_study_list
from immunoport.portal.study_page import (
    dataset_jsonld,
    released_study_page,
    script_json,
    study_page,
)
from immunoport.releases import public
from immunoport.releases.services import current_release
from immunoport.studies.models import Study
from immunoport.studies.registry import result_models
from immunoport.workspaces.permissions import workspace_for, writable_workspaces_of

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
    page = released_study_page(released)
    dataset = dataset_jsonld(released, page, absolute=request.build_absolute_uri)
    context = {
        "released": released,
        "page": page,
        "releases": public.releases_of(released.study_accession),
        "jsonld": mark_safe(script_json(dataset)),  # escaped for a script element
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


# --- programs (HIPC and the like): their released studies only ---------------------------


def programs(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/programs.html", {"programs": program_pages.programs()})


def program(request: HttpRequest, program_id: int) -> HttpResponse:
    found = program_pages.program(program_id)
    if found is None:  # unknown, or all its studies private: the page says neither
        raise Http404("No such program in the current data release.")
    context = {
        "program": found,
        "studies": program_pages.program_studies(found),
        "export_formats": list(services.EXPORT_FORMATS),
    }
    return render(request, "portal/program.html", context)


def program_studies_export(request: HttpRequest, program_id: int, fmt: str) -> HttpResponse:
    found = program_pages.program(program_id)
    if found is None or fmt not in services.EXPORT_FORMATS:
        raise Http404("No such program in the current data release, or no such format.")
    return _export(program_pages.study_list(found), fmt, f"immunoport-program-{program_id}")


# --- the shared data search page, its exports and the cart -------------------------------


def search(request: HttpRequest) -> HttpResponse:
    """The search page; to htmx, only the part a new search changes."""
    context = _search_context(request)
    context["in_cart"] = set(services.cart_accessions(request.user, request.session))
    return _search_page(request, context)


def search_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """Every study the search finds (not one page), in the chosen columns."""
    return _export(_search_rows(request, fmt), fmt, "immunoport-search")


def _search_context(request: HttpRequest, index: SearchIndex | None = None) -> dict[str, Any]:
    """The search page's context, searching ``index`` (the current release's by default)."""
    query = services.SearchQuery.from_params(request.GET)
    found = services.search_page(query, index)
    return {
        "query": query,
        "result": found.result,
        "rows": found.rows,
        "columns": _columns(query.columns, query.sort or "", sorts=True),
        "groups": found.groups,
        "facets": found.facets,
        "charts": found.charts,
        "per_page_choices": services.PER_PAGE_CHOICES,
        "export_formats": list(services.EXPORT_FORMATS),
        "search_url": reverse("portal:search"),
        "export_view": "portal:search-export",
        "quick_links": [
            (label, urlencode(params, doseq=True)) for label, params in services.QUICK_LINKS
        ],
    }


def _search_page(request: HttpRequest, context: dict[str, Any]) -> HttpResponse:
    partial = request.headers.get("HX-Request") and not request.headers.get(
        "HX-History-Restore-Request"
    )
    template = "portal/search_results.html" if partial else "portal/search.html"
    return render(request, template, context)


def _search_rows(request: HttpRequest, fmt: str, index: SearchIndex | None = None) -> pl.DataFrame:
    """An export's rows: every study the search finds in ``index``, not one page."""
    if fmt not in services.EXPORT_FORMATS:
        raise Http404("No such export format.")
    query = services.SearchQuery.from_params(request.GET)
    result = services.run_search(query, everything=True, index=index)
    return services.hit_rows(result.studies, query.columns, index)


def cart(request: HttpRequest) -> HttpResponse:
    query = services.SearchQuery.from_params(request.GET)
    accessions = services.cart_accessions(request.user, request.session)
    rows = services.cart_rows(accessions, query.columns)
    context = {
        "rows": services.table_cells(rows),
        "columns": _columns(query.columns),
        "export_formats": list(services.EXPORT_FORMATS),
        "release": current_release(),
    }
    return render(request, "portal/cart.html", context)


def cart_export(request: HttpRequest, fmt: str) -> HttpResponse:
    if fmt not in services.EXPORT_FORMATS:
        raise Http404("No such export format.")
    query = services.SearchQuery.from_params(request.GET)
    accessions = services.cart_accessions(request.user, request.session)
    return _export(services.cart_rows(accessions, query.columns), fmt, "immunoport-cart")


@require_POST
def cart_add(request: HttpRequest) -> HttpResponse:
    """Add the posted studies (``study``, repeated), or with ``all`` every study the
    search in ``query`` finds; studies not in the current release are ignored."""
    accessions = request.POST.getlist("study")
    if request.POST.get("all"):
        query = services.SearchQuery.from_params(QueryDict(request.POST.get("query", "")))
        found = services.run_search(query, everything=True)
        accessions = [hit.study_accession for hit in found.studies]
    added = services.add_to_cart(request.user, request.session, accessions)
    if added:
        messages.success(
            request, f"Added {added} {'study' if added == 1 else 'studies'} to the cart."
        )
    return _back(request)


@require_POST
def cart_remove(request: HttpRequest) -> HttpResponse:
    services.remove_from_cart(request.user, request.session, request.POST.getlist("study"))
    return _back(request)


def _columns(chosen: list[str], sort: str = "", *, sorts: bool = False) -> list[dict[str, Any]]:
    """Every column with its heading, whether it is shown and, when the table ``sorts``
    (``sort``: the current order, "" for relevance), its order now and the order its
    heading asks for."""
    columns = []
    for key, label in services.SEARCH_COLUMNS.items():
        sortable = sorts and key in services.SORTABLE_COLUMNS
        now = None
        if sortable and sort.lstrip("-") == key:
            now = "descending" if sort.startswith("-") else "ascending"
        columns.append(
            {
                "key": key,
                "label": label,
                "shown": key in chosen,
                "sortable": sortable,
                "order": now,
                "next_sort": f"-{key}" if now == "ascending" else key,
            }
        )
    return columns


def _export(frame: pl.DataFrame, fmt: str, name: str) -> HttpResponse:
    response = HttpResponse(
        services.export_bytes(frame, fmt), content_type=services.EXPORT_FORMATS[fmt]
    )
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


def _back(request: HttpRequest) -> HttpResponse:
    """To the page the form was on (``next``, of this site only), else to the cart."""
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("portal:cart")
    return redirect(target)


# --- the private search: a member's own studies, live, never cached on the way -----------


@never_cache
@login_required
def private_search(request: HttpRequest) -> HttpResponse:
    """The search page over the studies of the user's workspaces, each row marked
    with its workspace."""
    member = private.member_index(request.user)
    context = _search_context(request, member.index)
    for row in context["rows"]:  # computed for this request only: never cached
        row["workspace"] = member.workspaces[row["study_accession"]]
    context |= {
        "private": True,
        "search_url": reverse("portal:private-search"),
        "export_view": "portal:private-search-export",
    }
    return _search_page(request, context)


@never_cache
@login_required
def private_search_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """Every study the private search finds, with its workspace."""
    member = private.member_index(request.user)
    rows = _search_rows(request, fmt, member.index)
    names = {accession: w.name for accession, w in member.workspaces.items()}
    workspace = pl.col("study_accession").replace_strict(names, return_dtype=pl.String)
    rows = rows.insert_column(1, rows.select(workspace.alias("Workspace")).to_series())
    return _export(rows, fmt, "immunoport-private-search")


@never_cache
@login_required
def private_study(request: HttpRequest, workspace_id: int, accession: str) -> HttpResponse:
    """A study of the user's workspace as its public page would show it, from its live
    rows."""
    workspace = workspace_for(request.user, workspace_id)
    study = get_object_or_404(Study, pk=accession.upper(), workspace=workspace)
    audit.viewed(request, workspace, "study", study=study.pk)
    tables = private.live_tables(study)
    results = [m._meta.db_table for m in result_models() if tables.count(m._meta.db_table)]
    context = {
        "page": study_page(tables.read, study.pk, results),
        "accession": study.pk,
        "workspace": workspace,
        "private": True,
    }
    return render(request, "portal/study.html", context)
