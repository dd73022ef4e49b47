"""ImmPort's study endpoints (``/api/study/...``), its file download (``/drs/...``) and
its open study summary (``/ui/study/...``), over the current release.

Every ``study_data`` endpoint of the reference is registered from ``study_data.ENDPOINTS``
by one handler. An accession the current release does not hold answers 404 with the
same words whether or not a private study has it.
"""

import re
from collections.abc import Callable
from typing import Literal

from django.core import signing
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils.http import content_disposition_header
from ninja import Path, Router, Schema

from immunoport.api.auth import SIGNED_IN
from immunoport.api.reference import answer_model, field_names
from immunoport.api.study_data import (
    ENDPOINTS,
    FILE_TYPES,
    StudyFile,
    byte_range,
    files_frame,
    reference_path,
    released_file,
    study_files,
    study_rows,
    study_summary,
)
from immunoport.api.tables import table_response
from immunoport.releases.public import released_study

router = Router(tags=["study"])
drs_router = Router(tags=["files"])
ui_router = Router(tags=["study"])

Format = Literal["json", "tsv"]
ACCESSION = Path(..., alias="studyAccession")
SIGNED_URL_SECONDS = 3600  # how long a download URL from /drs/download works
_SIGNER = signing.TimestampSigner(salt="immunoport.api.study.download")


class NotFound(Schema):
    status: int
    error: str
    message: str


def not_found(what: str) -> JsonResponse:
    """ImmPort's (Spring's) 404 body; it names nothing that the request did not."""
    return JsonResponse({"status": 404, "error": "Not Found", "message": what}, status=404)


MANIFEST = "/api/study/manifest/{studyAccession}"
NO_STUDY = "No study of the current data release has this accession"


# --- /api/study/ ---------------------------------------------------------------------


@router.get("getRestrictedStudyAccessions", response=list[str], auth=SIGNED_IN)
def restricted_study_accessions(request: HttpRequest) -> list[str]:
    """Studies whose data need an extra agreement: this repository has none."""
    return []


@router.get(
    "summary/{studyAccession}",
    response={200: answer_model("/api/study/summary/{studyAccession}"), 404: NotFound},
    auth=SIGNED_IN,
)
def summary(request: HttpRequest, study_accession: str = ACCESSION) -> HttpResponse:
    released = released_study(study_accession)
    if released is None:
        return not_found(NO_STUDY)
    return JsonResponse(study_summary(released))


@router.get(
    "manifest/{studyAccession}",
    response={200: list[answer_model(MANIFEST)], 404: NotFound},  # type: ignore[misc]
    auth=SIGNED_IN,
)
def manifest(
    request: HttpRequest,
    study_accession: str = ACCESSION,
    fileType: Literal["all", *FILE_TYPES] = "all",  # type: ignore[valid-type]  # noqa: N803 - ImmPort's name
    format: Format = "json",
) -> HttpResponse:
    """The study's files with their sizes, MD5s and fileUUIDs for ``/drs/download``."""
    return _files(study_accession, fileType, MANIFEST, format)


# /api/study/filePath/... -> the file type it lists
FILE_PATHS = {
    "": "all",
    "protocolFiles/": "protocol_file",
    "resultFiles/": "result_file",
    "studyFiles/": "study_file",
}


def _files(accession: str, file_type: str, path: str, format: str) -> HttpResponse:
    released = released_study(accession)
    if released is None:
        return not_found(NO_STUDY)
    rows = files_frame(study_files(released, file_type), field_names(path))
    return table_response(rows, format, f"{released.study_accession}-files")


def _register(path: str, operation: str, summary: str, answer: Callable[..., HttpResponse]) -> None:
    """``answer(study_accession, format)`` as the GET operation of ImmPort's ``path``."""

    def view(
        request: HttpRequest, study_accession: str = ACCESSION, format: Format = "json"
    ) -> HttpResponse:
        return answer(study_accession, format)

    router.get(
        path.removeprefix("/api/study/"),
        response={200: list[answer_model(path)], 404: NotFound},  # type: ignore[misc]
        auth=SIGNED_IN,
        operation_id=operation,
        summary=summary,
    )(view)


def _register_file_path(folder: str, file_type: str) -> None:
    path = f"/api/study/filePath/{folder}{{studyAccession}}"
    _register(
        path,
        f"study_file_path_{file_type}",
        f"The study's files ({file_type})",
        lambda accession, format: _files(accession, file_type, path, format),
    )


def _register_rows(endpoint: str) -> None:
    def rows(study_accession: str, format: str) -> HttpResponse:
        released = released_study(study_accession)
        if released is None:
            return not_found(NO_STUDY)
        name = f"{released.study_accession}-{endpoint or 'study'}"
        return table_response(study_rows(released, endpoint), format, name)

    name = endpoint or "study"
    _register(reference_path(endpoint), f"study_{name}", f"The study's {name} rows", rows)


for _folder, _file_type in FILE_PATHS.items():
    _register_file_path(_folder, _file_type)
# the bare /{studyAccession} last, after every path it would otherwise take
for _endpoint in sorted(ENDPOINTS, key=lambda endpoint: not endpoint):
    _register_rows(_endpoint)


# --- /drs/ ---------------------------------------------------------------------------


@drs_router.get(
    "download/{accessMethod}/{fileUUID}",
    response={200: answer_model("/drs/download/{accessMethod}/{fileUUID}"), 404: NotFound},
    auth=SIGNED_IN,
)
def drs_download(
    request: HttpRequest,
    access_method: Literal["s3", "stream"] = Path(..., alias="accessMethod"),
    file_uuid: str = Path(..., alias="fileUUID"),
) -> HttpResponse:
    """A URL that downloads the file for the next hour, without a token (as ImmPort's
    pre-signed URLs do), whichever access method is asked for."""
    found = released_file(file_uuid)
    if found is None:
        return not_found("No file of the current data release has this fileUUID")
    path = reverse("data-query:study_file_download", kwargs={"file_uuid": found.uuid})
    url = request.build_absolute_uri(f"{path}?signature={_SIGNER.sign(found.uuid)}")
    return JsonResponse({"message": "success", "url": url, "status": 200})


@drs_router.get("file/{file_uuid}", url_name="study_file_download", include_in_schema=False)
def download(request: HttpRequest, file_uuid: str, signature: str = "") -> HttpResponseBase:
    """The file's bytes, or the byte range the request's Range header asks for."""
    try:
        signed = _SIGNER.unsign(signature, max_age=SIGNED_URL_SECONDS)
    except signing.BadSignature:
        return JsonResponse(
            {"status": 403, "error": "Forbidden", "message": "Bad or expired URL"}, status=403
        )
    found = released_file(file_uuid) if signed == file_uuid else None
    if found is None:
        return not_found("No file of the current data release has this fileUUID")
    return file_response(found, request.headers.get("Range"))


RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)")


class Unsatisfiable(ValueError):
    pass


def requested_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one byte range (first, last) that a Range header asks for; None for the whole
    file (no header, or one this server ignores as RFC 9110 allows: several ranges,
    another unit, a malformed range). Raises Unsatisfiable for a range past the end."""
    found = RANGE.fullmatch((header or "").strip())
    if found is None or not any(found.groups()):
        return None
    first, last = found.groups()
    if not first:  # bytes=-N: the last N bytes
        if int(last) == 0 or size == 0:
            raise Unsatisfiable(header)
        return max(size - int(last), 0), size - 1
    if last and int(last) < int(first):
        return None
    if int(first) >= size:
        raise Unsatisfiable(header)
    return int(first), min(int(last), size - 1) if last else size - 1


def file_response(found: StudyFile, range_header: str | None) -> HttpResponseBase:
    try:
        wanted = requested_range(range_header, found.size)
    except Unsatisfiable:
        refused = HttpResponse(status=416)
        refused["Content-Range"] = f"bytes */{found.size}"
        return refused
    first, last = wanted or (0, found.size - 1)
    response = StreamingHttpResponse(
        byte_range(found.open(), first, last - first + 1),
        status=206 if wanted else 200,
        content_type="application/octet-stream",
    )
    response["Content-Length"] = str(last - first + 1)
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = f'"{found.md5}"'
    response["Content-Disposition"] = content_disposition_header(True, found.name)
    if wanted:
        response["Content-Range"] = f"bytes {first}-{last}/{found.size}"
    return response


# --- /ui/study/ ----------------------------------------------------------------------


@ui_router.get(
    "summary/{studyAccession}",
    response={200: answer_model("/api/study/summary/{studyAccession}"), 404: NotFound},
)
def ui_summary(request: HttpRequest, study_accession: str = ACCESSION) -> HttpResponse:
    """ImmPort's open study page summary: the same as ``/api/study/summary``."""
    return summary(request, study_accession)
