"""Resources for data providers: the blank templates, their columns, and the lookups."""

from dataclasses import dataclass

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.http import content_disposition_header

from immunoport.schema.blanks import (
    XLSX_CONTENT_TYPE,
    ColumnDoc,
    blank_txt,
    blank_xlsx,
    describe,
    xlsx_name,
)
from immunoport.schema.models import Lookup
from immunoport.schema.services import LookupSample, lookup_samples, lookups_with_counts
from immunoport.schema.templates import Column, Section, Template, templates

# a lookup this small is shown whole beside its column; a larger one by its first terms
SHOWN_TERMS = 12

TYPE_LABELS = {
    "single": "One record per row",
    "multiple": "One record kind, a template per assay",
    "compound": "Study design, in stacked sections",
    "combined-result": "Records with repeatable result groups",
    "combined": "Control samples and standard curves, defining related records inline",
    "combined-multiple": "Experiment samples per assay, defining related records inline",
}


@dataclass(frozen=True)
class ColumnRow:
    position: int
    doc: ColumnDoc
    values: LookupSample | None


@dataclass(frozen=True)
class ColumnTable:
    section: Section | None
    rows: list[ColumnRow]


def template_list(request: HttpRequest) -> HttpResponse:
    groups: dict[str, list[Template]] = {}
    for template in templates().values():  # in loading order, so groups come in order too
        groups.setdefault(template.type, []).append(template)
    context = {
        "groups": [(TYPE_LABELS[kind], members) for kind, members in groups.items()],
    }
    return render(request, "schema/template_list.html", context)


def template_detail(request: HttpRequest, file_name: str) -> HttpResponse:
    template = _template(file_name)
    parts: list[tuple[Section | None, tuple[Column, ...]]] = (
        [(section, section.columns) for section in template.sections]
        if template.is_compound
        else [(None, template.columns)]
    )
    samples = lookup_samples(
        (c.vocabulary for c in template.all_columns if c.vocabulary), SHOWN_TERMS
    )
    tables = [
        ColumnTable(
            section,
            [
                ColumnRow(
                    position,
                    describe(template, column, section),
                    samples[column.vocabulary] if column.vocabulary else None,
                )
                for position, column in enumerate(columns, start=1)
            ],
        )
        for section, columns in parts
    ]
    context = {
        "template": template,
        "type_label": TYPE_LABELS[template.type],
        "xlsx_name": xlsx_name(template),
        "tables": tables,
        "shown_terms": SHOWN_TERMS,
    }
    return render(request, "schema/template_detail.html", context)


def blank(request: HttpRequest, file_name: str, kind: str) -> HttpResponse:
    """A blank template, written on the fly: ``kind`` is "txt" or "xlsx"."""
    template = _template(file_name)
    if kind == "xlsx":
        content, name, content_type = blank_xlsx(template), xlsx_name(template), XLSX_CONTENT_TYPE
    else:
        content, name = blank_txt(template), template.file_name
        content_type = "text/plain; charset=utf-8"
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response


def lookup_list(request: HttpRequest) -> HttpResponse:
    return render(request, "schema/lookup_list.html", {"lookups": lookups_with_counts()})


def lookup_detail(request: HttpRequest, name: str) -> HttpResponse:
    lookup = get_object_or_404(Lookup, pk=name)
    used_by = [
        (template, column)
        for template in templates().values()
        for column in template.all_columns
        if column.vocabulary == name
    ]
    context = {
        "lookup": lookup,
        "terms": lookup.terms.order_by("name").values("name", "term_id", "link"),
        "used_by": used_by,
    }
    return render(request, "schema/lookup_detail.html", context)


def _template(file_name: str) -> Template:
    template = templates().get(file_name)
    if template is None:
        raise Http404(f"no template is named {file_name}")
    return template
