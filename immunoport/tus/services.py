"""tus 1.0 uploads over Django's storage API, with no HTTP in sight.

Storage layout, on any Django storage (local disk or S3):

    tus/<upload id>/parts/<offset>-<token>.part   one object per acknowledged PATCH
    tus/<upload id>/<filename>                     the whole file, assembled at completion

Storages cannot append, so every PATCH body streams into its own object (S3 uploads it
in multipart pieces). The database offset advances only after that object is stored in
full and its checksum verified; anything less is deleted and the offset stays where it
was, so a client resumes from the last acknowledged byte. At the last byte the pieces
are concatenated, streaming, into the final object; the SHA-256 and MD5 of the whole file
are computed during that one pass (hash state cannot outlive a request, and the pass is
needed anyway), then the upload is marked complete and TUS_ON_COMPLETE runs, in one
transaction. Memory stays flat: bodies and pieces move in READ_SIZE blocks.

Settings (dotted paths or callables):
    TUS_AUTHORIZE(request, metadata: dict[str, str]) -> (user, scope: str)
    TUS_QUOTA(scope: str) -> int | None        bytes the scope's uploads may hold
    TUS_ON_COMPLETE(upload: Upload) -> None
    TUS_EXPIRY_HOURS: int = 168                unfinished uploads expire after idle hours
    TUS_MAX_CHUNK: int | None = None           largest PATCH body accepted
"""

import base64
import binascii
import contextlib
import errno
import hashlib
import io
import logging
import os
import secrets
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import IO, Any, cast

from django.conf import settings
from django.core.exceptions import PermissionDenied, SuspiciousFileOperation
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q, Sum
from django.http import HttpRequest
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.text import get_valid_filename

from immunoport.tus.models import Upload

log = logging.getLogger(__name__)

TUS_VERSION = "1.0.0"
EXTENSIONS = ("creation", "creation-with-upload", "checksum", "termination", "expiration")
# sha1 because tuspy and other clients send it by default; sha256 and md5 as asked of us.
ALGORITHMS: dict[str, Callable[[], Any]] = {
    "sha256": hashlib.sha256,
    "md5": hashlib.md5,
    "sha1": hashlib.sha1,
}
READ_SIZE = 1024 * 1024

try:  # S3 storage errors, when django-storages' S3 backend is in use
    from boto3.exceptions import Boto3Error
    from botocore.exceptions import BotoCoreError, ClientError

    _STORAGE_ERRORS: tuple[type[BaseException], ...] = (
        OSError,
        BotoCoreError,
        ClientError,
        Boto3Error,
    )
except ImportError:  # pragma: no cover - boto3 is a dependency through django-storages[s3]
    _STORAGE_ERRORS = (OSError,)


class TusError(Exception):
    """A refusal with its HTTP status and a message for the client."""

    status = 400

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class ChecksumMismatch(TusError):
    status = 460


class OffsetConflict(TusError):
    status = 409


class QuotaExceeded(TusError):
    status = 413


class UploadGone(TusError):
    status = 410


class StorageFailed(TusError):
    """The store is full (507) or cannot be reached (503); nothing acknowledged is lost."""

    status = 503


class _ClientGone(Exception):
    """The request body ended or broke before Content-Length bytes (not a storage error)."""


# -- settings hooks -------------------------------------------------------------------


def default_authorize(request: HttpRequest, metadata: dict[str, str]) -> tuple[Any, str]:
    """Any signed-in user may upload; quotas are per user."""
    if not request.user.is_authenticated:
        raise PermissionDenied("Sign in to upload.")
    return request.user, f"user:{request.user.pk}"


def _hook(name: str, default: Callable | None) -> Callable | None:
    value = getattr(settings, name, None)
    if value is None:
        return default
    return import_string(value) if isinstance(value, str) else value


def authorize(request: HttpRequest, metadata: dict[str, str]) -> tuple[Any, str]:
    hook = _hook("TUS_AUTHORIZE", default_authorize)
    assert hook is not None
    return hook(request, metadata)


def quota_of(scope: str) -> int | None:
    hook = _hook("TUS_QUOTA", None)
    return None if hook is None else hook(scope)


def max_chunk() -> int | None:
    return getattr(settings, "TUS_MAX_CHUNK", None)


def _expires() -> datetime:
    return timezone.now() + timedelta(hours=getattr(settings, "TUS_EXPIRY_HOURS", 24 * 7))


# -- header values ----------------------------------------------------------------------


def parse_metadata(header: str) -> dict[str, str]:
    """``Upload-Metadata: key base64,key2 base64,flag`` as a dict of text values."""
    metadata: dict[str, str] = {}
    for pair in filter(None, (part.strip() for part in header.split(","))):
        key, _, encoded = pair.partition(" ")
        if not key.isascii() or key in metadata:
            raise TusError(f"Upload-Metadata: bad or repeated key {key!r}.")
        try:
            metadata[key] = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise TusError(f"Upload-Metadata: the value of {key!r} is not base64 UTF-8.") from None
    return metadata


def encode_metadata(metadata: dict[str, str]) -> str:
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in metadata.items()
    )


def parse_checksum(header: str) -> tuple[str, bytes]:
    """``Upload-Checksum: <algorithm> <base64 digest>``."""
    algorithm, _, encoded = header.strip().partition(" ")
    algorithm = algorithm.lower()
    if algorithm not in ALGORITHMS:
        raise TusError(
            f"Upload-Checksum: algorithm {algorithm!r} is not supported "
            f"(use one of {', '.join(ALGORITHMS)})."
        )
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error:
        raise TusError("Upload-Checksum: the digest is not base64.") from None
    return algorithm, digest


# -- readers that storages consume --------------------------------------------------------


class _Reader(io.RawIOBase):
    """A stream whose ``read(n)`` returns n bytes unless at the end, as storages expect
    (boto3's upload_fileobj takes a short read for the end of a small file)."""

    def readable(self) -> bool:
        return True

    def _read_some(self, size: int) -> bytes:
        raise NotImplementedError

    def read(self, size: int | None = -1) -> bytes:
        parts, wanted = [], size if size is not None and size >= 0 else None
        while wanted is None or wanted > 0:
            data = self._read_some(READ_SIZE if wanted is None else min(wanted, READ_SIZE))
            if not data:
                break
            parts.append(data)
            if wanted is not None:
                wanted -= len(data)
        return b"".join(parts)

    def readinto(self, buffer: Any) -> int:
        data = self._read_some(min(len(buffer), READ_SIZE))
        buffer[: len(data)] = data
        return len(data)


class _BodyReader(_Reader):
    """Exactly ``length`` bytes of a request body, hashed as they pass."""

    def __init__(self, stream: Any, length: int, algorithm: str | None):
        self.stream, self.remaining = stream, length
        self.hash = ALGORITHMS[algorithm]() if algorithm else None

    def _read_some(self, size: int) -> bytes:
        wanted = min(size, self.remaining)
        if wanted == 0:
            return b""
        try:
            data = self.stream.read(wanted)
        except OSError as error:  # the client went away (Django's UnreadablePostError too)
            raise _ClientGone(str(error)) from error
        if not data:
            raise _ClientGone("the request body ended early")
        self.remaining -= len(data)
        if self.hash:
            self.hash.update(data)
        return data


def _open_streaming(storage: Any, name: str) -> Any:
    """A piece opened for reading as it arrives: django-storages' S3File would first copy
    the whole object into memory (AWS_S3_MAX_MEMORY_SIZE is 0 by default)."""
    if hasattr(storage, "bucket") and hasattr(storage, "_normalize_name"):  # S3Storage
        from storages.utils import clean_name

        key = storage._normalize_name(clean_name(name))
        return storage.bucket.Object(key).get()["Body"]
    return storage.open(name, "rb")


class _Concatenation(_Reader):
    """The pieces read one after the other, with the whole file's SHA-256 and MD5."""

    def __init__(self, storage: Any, names: Iterable[str]):
        self.storage, self.names = storage, iter(names)
        self.current: Any = None
        self.sha256, self.md5, self.size = hashlib.sha256(), hashlib.md5(), 0

    def _read_some(self, size: int) -> bytes:
        while True:
            if self.current is None:
                name = next(self.names, None)
                if name is None:
                    return b""
                self.current = _open_streaming(self.storage, name)
            data = self.current.read(size)
            if data:
                break
            self.current.close()
            self.current = None
        self.sha256.update(data)
        self.md5.update(data)
        self.size += len(data)
        return data

    def close(self) -> None:
        if self.current is not None:
            self.current.close()
            self.current = None
        super().close()


def _storage_failed(error: BaseException) -> StorageFailed:
    log.warning("tus: storage error: %r", error)
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return StorageFailed(
            "The file store is full. Everything acknowledged so far is kept; "
            "resume the upload later from its current offset.",
            status=507,
        )
    return StorageFailed(
        "The file store cannot be reached. Everything acknowledged so far is kept; "
        "resume the upload later from its current offset.",
        status=503,
    )


def _discard(*names: str) -> None:
    """Delete objects that were never acknowledged; a failure here only leaves litter."""
    for name in names:
        try:
            default_storage.delete(name)
        except _STORAGE_ERRORS as error:
            log.warning("tus: could not delete %s: %r", name, error)


def _save_stream(name: str, reader: io.RawIOBase) -> str:
    """Stream ``reader`` into a new object; on any failure nothing is left behind."""
    try:
        content = File(cast(IO[bytes], reader), name=os.path.basename(name))
        return default_storage.save(name, content)
    except _ClientGone as error:
        _discard(name)
        raise TusError(
            f"The request body broke off ({error}); nothing of it was kept. "
            "Resume from the offset that HEAD reports."
        ) from None
    except _STORAGE_ERRORS as error:
        _discard(name)
        raise _storage_failed(error) from error
    finally:
        reader.close()


# -- the upload's life ------------------------------------------------------------------


def _live(scope: str) -> Any:
    """The scope's uploads that hold space: completed ones and unexpired unfinished ones."""
    return Upload.objects.filter(scope=scope).filter(
        Q(completed_at__isnull=False) | Q(expires_at__gt=timezone.now())
    )


def _check_quota(scope: str, length: int, earlier: Any = None) -> None:
    quota = quota_of(scope)
    if quota is None:
        return
    uploads = _live(scope)
    if earlier is not None:  # at PATCH: only uploads created before this one count
        same_time = Q(created_at=earlier.created_at, pk__lt=earlier.pk)
        uploads = uploads.filter(Q(created_at__lt=earlier.created_at) | same_time)
    used = uploads.aggregate(total=Sum("length"))["total"] or 0
    if used + length > quota:
        raise QuotaExceeded(
            f"This upload of {length} bytes would exceed the quota of {quota} bytes "
            f"({used} bytes are already used)."
        )


def create_upload(user: Any, scope: str, length: int, metadata: dict[str, str]) -> Upload:
    """A new upload, after the quota check; an empty file is complete at once."""
    if length < 0:
        raise TusError("Upload-Length must be a non-negative integer.")
    if length >= 2**63:  # the database column's limit; no store holds that much anyway
        raise TusError("Upload-Length is beyond any storage.", status=413)
    _check_quota(scope, length)
    upload = Upload.objects.create(
        user=user, scope=scope, length=length, metadata=metadata, expires_at=_expires()
    )
    if length == 0:
        _complete(upload, [], 0)
        upload.refresh_from_db()
    return upload


def find_upload(upload_id: Any, user: Any) -> Upload:
    """The user's own upload (404 for anyone else's), 410 once an unfinished one expired."""
    upload = Upload.objects.filter(pk=upload_id, user=user).first()
    if upload is None:
        raise TusError("No such upload.", status=404)
    if upload.completed_at is None and upload.expires_at <= timezone.now():
        raise UploadGone("This upload expired; start a new one.")
    return upload


def write_chunk(
    upload: Upload,
    offset: int,
    stream: Any,
    length: int,
    checksum: tuple[str, bytes] | None = None,
) -> Upload:
    """Store ``length`` bytes of ``stream`` at ``offset``; the upload as it stands after."""
    if offset != upload.offset:
        raise OffsetConflict(f"Upload-Offset is {offset} but the upload is at {upload.offset}.")
    if offset + length > upload.length:
        raise TusError(
            f"{length} bytes at offset {offset} go past the Upload-Length of {upload.length}.",
            status=413,
        )
    limit = max_chunk()
    if limit is not None and length > limit:
        raise TusError(f"A PATCH may carry at most {limit} bytes; send smaller chunks.", 413)
    if length == 0:
        return upload
    _check_quota(upload.scope, upload.length, earlier=upload)

    reader = _BodyReader(stream, length, checksum[0] if checksum else None)
    name = f"{upload.prefix}/parts/{offset:015d}-{secrets.token_hex(4)}.part"
    try:
        piece = _save_stream(name, reader)
    except StorageFailed:
        _raise_if_moved(upload, offset)  # a concurrent request finished it, pieces and all
        raise
    if checksum and reader.hash and reader.hash.digest() != checksum[1]:
        _discard(piece)
        raise ChecksumMismatch(
            f"The {checksum[0]} checksum of this chunk does not match; it was discarded. "
            f"Send it again from offset {offset}."
        )
    if offset + length == upload.length:
        _complete(upload, [*upload.pieces, piece], offset, new_piece=piece)
    else:
        with transaction.atomic():
            locked = _locked(upload)
            if locked is None or locked.offset != offset:
                _discard(piece)
                raise _moved(locked)
            locked.offset = offset + length
            locked.pieces = [*locked.pieces, piece]
            locked.expires_at = _expires()
            locked.save(update_fields=["offset", "pieces", "expires_at"])
    upload.refresh_from_db()
    return upload


def _locked(upload: Upload) -> Upload | None:
    """The upload's row, locked until the transaction ends; None once terminated."""
    return Upload.objects.select_for_update().filter(pk=upload.pk).first()


def _raise_if_moved(upload: Upload, offset: int) -> None:
    current = Upload.objects.filter(pk=upload.pk).first()
    if current is None or current.offset != offset or current.completed_at is not None:
        raise _moved(current)


def _moved(locked: Upload | None) -> TusError:
    if locked is None:
        return TusError("The upload was terminated meanwhile.", status=404)
    return OffsetConflict(f"Another request moved the upload to offset {locked.offset}.")


def _final_name(upload: Upload) -> str:
    try:
        filename = get_valid_filename(os.path.basename(upload.filename))
    except SuspiciousFileOperation:
        filename = "upload"
    return f"{upload.prefix}/{filename[:100]}"


def _complete(upload: Upload, pieces: list[str], offset: int, new_piece: str = "") -> None:
    """Assemble the pieces, record the digests and run TUS_ON_COMPLETE, all or nothing."""
    reader = _Concatenation(default_storage, pieces)
    try:
        final = _save_stream(_final_name(upload), reader)
    except StorageFailed:
        if new_piece:
            _discard(new_piece)
        _raise_if_moved(upload, offset)  # a concurrent request finished it, pieces and all
        raise
    if reader.size != upload.length:  # a piece went missing or short behind our back
        _discard(final, *([new_piece] if new_piece else []))
        _raise_if_moved(upload, offset)
        raise StorageFailed(f"The stored pieces hold {reader.size} of {upload.length} bytes.", 503)
    sha256, md5 = reader.sha256.hexdigest(), reader.md5.hexdigest()
    for name, digest in (("sha256", sha256), ("md5", md5)):
        expected = upload.metadata.get(name, "").strip().lower()
        if expected and expected != digest:
            _discard(final, *([new_piece] if new_piece else []))
            raise ChecksumMismatch(
                f"The whole file's {name} is {digest}, not {expected} as Upload-Metadata "
                "says; the last chunk was discarded."
            )
    committed, winner = False, ""
    try:
        with transaction.atomic():
            locked = _locked(upload)
            if locked is None or locked.offset != offset or locked.completed_at is not None:
                # on S3 a concurrent completion may have written `final` too: keep it then
                winner = locked.storage_name if locked else ""
                raise _moved(locked)
            locked.offset = locked.length
            locked.pieces = []
            locked.storage_name = final
            locked.sha256, locked.md5 = sha256, md5
            locked.completed_at = timezone.now()
            locked.save()
            on_complete = _hook("TUS_ON_COMPLETE", None)
            if on_complete is not None:
                on_complete(locked)
        committed = True
    finally:
        if not committed:
            _discard(*([final] if final != winner else []), *([new_piece] if new_piece else []))
    try:  # with the pieces go any a killed request left behind
        _delete_folder(f"{upload.prefix}/parts")
    except StorageFailed:
        log.warning("tus: the pieces of %s stay behind; tus-cleanup removes them", upload.pk)


def terminate(upload: Upload) -> None:
    """Delete the upload and every object under its folder."""
    _delete_folder(upload.prefix)
    upload.delete()


def _delete_folder(prefix: str) -> None:
    try:
        folders, files = default_storage.listdir(prefix)
    except FileNotFoundError:
        return
    except _STORAGE_ERRORS as error:
        raise _storage_failed(error) from error
    for folder in folders:
        _delete_folder(f"{prefix}/{folder}")
    _discard(*(f"{prefix}/{name}" for name in files))
    if hasattr(default_storage, "path"):  # a local folder stays behind, empty, unless removed
        with contextlib.suppress(OSError, NotImplementedError):
            os.rmdir(default_storage.path(prefix))


def delete_expired(now: datetime | None = None) -> int:
    """Delete unfinished uploads past their expiry, with their pieces; how many."""
    now = now or timezone.now()
    expired = Upload.objects.filter(completed_at__isnull=True, expires_at__lte=now)
    count = 0
    for upload in expired.iterator():
        terminate(upload)
        count += 1
    return count


def delete_orphans() -> int:
    """Delete folders under tus/ that no upload owns any more (left by a failed delete
    or a killed process; a row is always made before its first object); how many."""
    try:
        folders, _ = default_storage.listdir("tus")
    except FileNotFoundError:
        return 0
    except _STORAGE_ERRORS as error:
        raise _storage_failed(error) from error
    ids = set()
    for folder in folders:
        with contextlib.suppress(ValueError):
            ids.add(uuid.UUID(folder))
    known = {str(pk) for pk in Upload.objects.filter(pk__in=ids).values_list("pk", flat=True)}
    orphans = [folder for folder in folders if folder not in known]
    for folder in orphans:
        _delete_folder(f"tus/{folder}")
    return len(orphans)
