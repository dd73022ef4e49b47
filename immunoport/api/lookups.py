"""ImmPort's lookup endpoints (``/api/lookup/lkDisease`` and the rest), and two of its
legacy endpoints: every study accession, and the latest data release.

The lookup endpoints are declared from the reference: one per documented path, each
answering its documented fields from our lookup table of the same model (``LkGender``
is ``lk_gender``; ``lkSex`` answers it, as ImmPort's does). A field is the term's name,
description, link or id, else the part of a composite term of that name
(``diseaseOntologyId`` is ``disease_ontology_id``); a lookup we do not load answers no
rows. Curators' added terms are answered with ImmPort's.
"""

import re
from typing import Literal

import polars as pl
from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema

from immunoport.api import reference
from immunoport.api.tables import table_response
from immunoport.releases.public import released_studies
from immunoport.releases.services import current_release
from immunoport.schema.models import LookupTerm

router = Router(tags=["lookups"])
legacy = Router(tags=["lookups"])

PREFIX = "/api/lookup/"
TERM_FIELDS = {"name": "name", "description": "description", "link": "link", "id": "term_id"}
_WORD_START = re.compile(r"(?<!^)(?=[A-Z])")


def snake(name: str) -> str:
    """``LkGender`` → ``lk_gender``; ``diseaseOntologyId`` → ``disease_ontology_id``."""
    return _WORD_START.sub("_", name).lower()


def lookup_paths() -> list[str]:
    return [path for path in reference.endpoints() if path.startswith(PREFIX)]


def lookup_table(path: str) -> str:
    """The lookup table an endpoint answers, named after its answer's model."""
    return snake(reference.endpoint(path)["response"]["item_model"])


def lookup_rows(path: str) -> pl.DataFrame:
    """The terms of an endpoint's lookup, by name, in its documented fields."""
    fields = reference.field_names(path)
    terms = LookupTerm.objects.filter(lookup=lookup_table(path)).order_by("name")
    rows = [
        {
            field: getattr(term, TERM_FIELDS[field])
            if field in TERM_FIELDS
            else term.parts.get(snake(field))
            for field in fields
        }
        for term in terms.only("name", "description", "link", "term_id", "parts")
    ]
    return pl.DataFrame(rows, schema=dict.fromkeys(fields, pl.String), orient="row")


def _declare(path: str) -> None:
    name = path.removeprefix(PREFIX)

    def answer(request: HttpRequest, format: Literal["json", "tsv"] = "json") -> HttpResponse:
        return table_response(lookup_rows(path), format, name)

    router.get(
        name,
        response=list[reference.answer_model(path)],  # type: ignore[misc]
        summary=reference.endpoint(path)["summary"],
        operation_id=name,
    )(answer)


for _path in lookup_paths():
    _declare(_path)


# --- legacy endpoints -------------------------------------------------------------------


class StudyAccessions(Schema):
    studyAccessions: list[str]


class DataReleaseVersion(Schema):
    version: str | None
    releaseDate: str | None


@legacy.get("study/findAllStudyAccessions", response=StudyAccessions)
def find_all_study_accessions(request: HttpRequest) -> dict[str, list[str]]:
    """The current data release's study accessions."""
    accessions = released_studies().values_list("study_accession", flat=True)
    return {"studyAccessions": list(accessions)}


@legacy.get("studydatarel/datarelver", response=DataReleaseVersion)
def data_release_version(request: HttpRequest) -> dict[str, str | None]:
    """The current (latest) data release: its label and date."""
    release = current_release()
    if release is None:
        return {"version": None, "releaseDate": None}
    return {"version": release.label, "releaseDate": release.created_at.date().isoformat()}
