"""The tus 1.0 endpoint: protocol headers in, services out.

Authentication is the Django session (with CSRF protection, the token sent as
X-CSRFToken) or ``Authorization: bearer <API token>`` (no cookie, so no CSRF).
"""

from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.urls import reverse
from django.utils.http import http_date
from django.views.decorators.csrf import csrf_exempt

from immunoport.accounts.services import token_from_request
from immunoport.tus import services
from immunoport.tus.models import Upload

OCTET_STREAM = "application/offset+octet-stream"


class _CsrfCheck(CsrfViewMiddleware):
    def _reject(self, request, reason):
        return reason


def _response(status: int = 204, message: str = "", **headers: str) -> HttpResponse:
    response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    response["Tus-Resumable"] = services.TUS_VERSION
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _authenticate(request: HttpRequest):
    """The requesting user, from a bearer token or the session (then CSRF-checked)."""
    if request.headers.get("Authorization", "").lower().startswith("bearer"):
        token = token_from_request(request)
        if token is None:
            raise services.TusError("The API token is invalid or expired.", status=401)
        request.user = token.user
        request.tus_token = token  # type: ignore[attr-defined]  # for TUS_AUTHORIZE hooks
        return token.user
    if not request.user.is_authenticated:
        raise services.TusError("Sign in or send Authorization: bearer <token>.", status=401)
    check = _CsrfCheck(lambda request: None)
    check.process_request(request)
    reason = check.process_view(request, None, (), {})
    if reason:
        raise services.TusError(f"CSRF check failed: {reason}", status=403)
    return request.user


def _expires(upload: Upload) -> dict[str, str]:
    if upload.completed_at is not None:
        return {}
    return {"Upload-Expires": http_date(upload.expires_at.timestamp())}


def _content_length(request: HttpRequest) -> int:
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        raise services.TusError("Content-Length must be an integer.") from None
    if length and request.content_type != OCTET_STREAM:
        raise services.TusError(f"Content-Type must be {OCTET_STREAM}.", status=415)
    return length


def _chunk(request: HttpRequest, upload: Upload, offset: int) -> Upload:
    checksum = request.headers.get("Upload-Checksum")
    return services.write_chunk(
        upload,
        offset,
        request,
        _content_length(request),
        services.parse_checksum(checksum) if checksum else None,
    )


def _options(request: HttpRequest, *args) -> HttpResponse:
    return _response(
        204,
        Tus_Version=services.TUS_VERSION,
        Tus_Extension=",".join(services.EXTENSIONS),
        Tus_Checksum_Algorithm=",".join(services.ALGORITHMS),
    )


def _create(request: HttpRequest) -> HttpResponse:
    if "Upload-Defer-Length" in request.headers:
        raise services.TusError("Upload-Defer-Length is not supported; send Upload-Length.")
    try:
        length = int(request.headers["Upload-Length"])
    except (KeyError, ValueError):
        raise services.TusError("Upload-Length is required, a non-negative integer.") from None
    metadata = services.parse_metadata(request.headers.get("Upload-Metadata", ""))
    user, scope = services.authorize(request, metadata)
    upload = services.create_upload(user, scope, length, metadata)
    if request.headers.get("Content-Length", "0") not in ("", "0"):  # creation-with-upload
        upload = _chunk(request, upload, 0)
    location = request.build_absolute_uri(reverse("tus:upload", args=[upload.pk]))
    return _response(201, Location=location, Upload_Offset=str(upload.offset), **_expires(upload))


def _head(request: HttpRequest, upload: Upload) -> HttpResponse:
    headers = {
        "Upload-Offset": str(upload.offset),
        "Upload-Length": str(upload.length),
        "Cache-Control": "no-store",
        **_expires(upload),
    }
    if upload.metadata:
        headers["Upload-Metadata"] = services.encode_metadata(upload.metadata)
    return _response(200, **headers)


def _patch(request: HttpRequest, upload: Upload) -> HttpResponse:
    if request.content_type != OCTET_STREAM:
        raise services.TusError(f"Content-Type must be {OCTET_STREAM}.", status=415)
    if not request.headers.get("Content-Length"):  # a chunked body Django cannot read
        raise services.TusError("Send the chunk with a Content-Length.", status=411)
    try:
        offset = int(request.headers["Upload-Offset"])
    except (KeyError, ValueError):
        raise services.TusError("Upload-Offset is required, a non-negative integer.") from None
    upload = _chunk(request, upload, offset)
    return _response(204, Upload_Offset=str(upload.offset), **_expires(upload))


def _delete(request: HttpRequest, upload: Upload) -> HttpResponse:
    services.terminate(upload)
    return _response(204)


def _method(request: HttpRequest) -> str:
    """The method, honouring X-HTTP-Method-Override on POST as tus allows."""
    override = request.headers.get("X-HTTP-Method-Override", "")
    return override.upper() if request.method == "POST" and override else request.method or ""


def _handle(request: HttpRequest, action: Callable[[], HttpResponse]) -> HttpResponse:
    if request.method != "OPTIONS" and request.headers.get("Tus-Resumable") != "1.0.0":
        return _response(412, "Send Tus-Resumable: 1.0.0.", Tus_Version=services.TUS_VERSION)
    try:
        return action()
    except services.TusError as error:
        return _response(error.status, error.message)
    except PermissionDenied as error:
        return _response(403, str(error) or "You may not upload here.")
    except Http404 as error:
        return _response(404, str(error) or "Not found.")


@csrf_exempt  # checked in _authenticate for session requests; token requests carry no cookie
def endpoint(request: HttpRequest) -> HttpResponse:
    """OPTIONS (discovery) and POST (creation)."""

    def action() -> HttpResponse:
        method = _method(request)
        if method == "OPTIONS":
            return _options(request)
        if method != "POST":
            return _response(405, "Use OPTIONS or POST here.", Allow="OPTIONS, POST")
        _authenticate(request)
        return _create(request)

    return _handle(request, action)


@csrf_exempt  # checked in _authenticate for session requests; token requests carry no cookie
def upload(request: HttpRequest, upload_id) -> HttpResponse:
    """HEAD (offset), PATCH (a chunk) and DELETE (termination) of one's own upload."""

    def action() -> HttpResponse:
        method = _method(request)
        if method == "OPTIONS":
            return _options(request)
        handler = {"HEAD": _head, "PATCH": _patch, "DELETE": _delete}.get(method)
        if handler is None:
            return _response(405, "Use HEAD, PATCH or DELETE here.", Allow="HEAD, PATCH, DELETE")
        user = _authenticate(request)
        if method == "DELETE":  # an expired upload may still be terminated
            found = Upload.objects.filter(pk=upload_id, user=user).first()
            if found is None:
                raise services.TusError("No such upload.", status=404)
            return handler(request, found)
        return handler(request, services.find_upload(upload_id, user))

    return _handle(request, action)
