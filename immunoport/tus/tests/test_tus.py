"""The tus endpoint driven by a real tus client (tuspy) and raw requests over a live server."""

import base64
import errno
import hashlib
import http.client
import io
import os
import socket
import threading
import uuid
from datetime import timedelta

import pytest
import requests
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from tusclient.client import TusClient
from tusclient.exceptions import TusCommunicationError
from tusclient.uploader import Uploader

from conftest import approved_user
from immunoport.accounts.services import create_token
from immunoport.tus import services
from immunoport.tus.models import Upload

pytestmark = pytest.mark.django_db(transaction=True)

CHUNK = 64 * 1024


@pytest.fixture(autouse=True)
def files(settings, tmp_path):
    """Uploads land in a folder of the test's own; TUS_ON_COMPLETE records its calls.

    The app's own default hooks are tested here, not the ones the project configures."""
    settings.MEDIA_ROOT = str(tmp_path / "files")
    settings.TUS_AUTHORIZE = "immunoport.tus.services.default_authorize"
    settings.TUS_QUOTA = None
    completed: list[Upload] = []
    settings.TUS_ON_COMPLETE = completed.append
    return completed


@pytest.fixture
def provider():
    return approved_user("provider")


@pytest.fixture
def secret(provider):
    return create_token(provider, "cli", "read-shared")[1]


@pytest.fixture
def endpoint(live_server):
    return f"{live_server.url}/uploads/tus/"


def tus_client(endpoint, secret) -> TusClient:
    return TusClient(endpoint, headers={"Authorization": f"bearer {secret}"})


def headers(secret, **more) -> dict[str, str]:
    """tus headers with the token; ``Upload_Length="5"`` is sent as ``Upload-Length: 5``."""
    more = {name.replace("_", "-"): value for name, value in more.items()}
    return {"Tus-Resumable": "1.0.0", "Authorization": f"bearer {secret}", **more}


def create(endpoint, secret, length, **more) -> str:
    response = requests.post(endpoint, headers=headers(secret, Upload_Length=str(length), **more))
    assert response.status_code == 201, response.text
    return response.headers["Location"]


def patch(url, secret, offset, data, **more) -> requests.Response:
    return requests.patch(
        url,
        data=data,
        headers=headers(
            secret,
            **{"Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"},
            **more,
        ),
    )


def offset_of(url, secret) -> int:
    response = requests.head(url, headers=headers(secret))
    assert response.status_code == 200, response.status_code
    assert response.headers["Cache-Control"] == "no-store"
    return int(response.headers["Upload-Offset"])


def digest(algorithm, data) -> str:
    return f"{algorithm} {base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"


def stored_files(upload: Upload) -> list[str]:
    folder = default_storage.path(upload.prefix)
    return sorted(
        os.path.relpath(os.path.join(root, name), folder)
        for root, _, names in os.walk(folder)
        for name in names
    )


def upload_of(url) -> Upload:
    return Upload.objects.get(pk=url.rstrip("/").rsplit("/", 1)[1])


def assert_complete(upload: Upload, data: bytes) -> None:
    upload.refresh_from_db()
    assert upload.completed_at is not None
    assert upload.offset == upload.length == len(data)
    with default_storage.open(upload.storage_name) as stored:
        assert stored.read() == data
    assert upload.sha256 == hashlib.sha256(data).hexdigest()
    assert upload.md5 == hashlib.md5(data).hexdigest()


def test_options_tells_what_the_server_speaks(client):
    response = client.options("/uploads/tus/")
    assert response.status_code == 204
    assert response["Tus-Version"] == "1.0.0"
    assert response["Tus-Resumable"] == "1.0.0"
    assert set(response["Tus-Extension"].split(",")) >= {
        "creation",
        "checksum",
        "termination",
        "expiration",
    }
    assert set(response["Tus-Checksum-Algorithm"].split(",")) >= {"sha256", "md5", "sha1"}


def test_tuspy_uploads_a_file_in_many_chunks(endpoint, secret, provider, files):
    data = os.urandom(5 * CHUNK + 1234)
    uploader = tus_client(endpoint, secret).uploader(
        file_stream=io.BytesIO(data),
        chunk_size=CHUNK,
        metadata={"filename": "flow cytometry.fcs", "workspace": "12"},
    )
    uploader.upload()
    upload = upload_of(uploader.url)
    assert_complete(upload, data)
    assert upload.user == provider
    assert upload.scope == f"user:{provider.pk}"
    assert upload.metadata == {"filename": "flow cytometry.fcs", "workspace": "12"}
    assert upload.storage_name.endswith("/flow_cytometry.fcs")
    assert stored_files(upload) == ["flow_cytometry.fcs"]  # the pieces are gone
    assert [done.pk for done in files] == [upload.pk]  # TUS_ON_COMPLETE ran once
    assert offset_of(uploader.url, secret) == len(data)


def test_an_interrupted_upload_resumes_from_the_servers_offset(endpoint, secret):
    data = os.urandom(5 * CHUNK)
    first = tus_client(endpoint, secret).uploader(file_stream=io.BytesIO(data), chunk_size=CHUNK)
    first.upload_chunk()
    first.upload_chunk()
    del first  # the client dies after 2 of 5 chunks; only the URL was kept
    url = Upload.objects.get().pk
    url = f"{endpoint}{url}"
    resumed = Uploader(
        file_stream=io.BytesIO(data), url=url, chunk_size=CHUNK, client=tus_client(endpoint, secret)
    )
    assert resumed.offset == 2 * CHUNK
    resumed.upload()
    assert_complete(upload_of(url), data)


@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "md5"])
def test_a_checksum_sent_by_the_client_is_verified(endpoint, secret, algorithm):
    class ChecksumUploader(Uploader):
        CHECKSUM_ALGORITHM_PAIR = (algorithm, getattr(hashlib, algorithm))

    data = os.urandom(3 * CHUNK)
    url = create(endpoint, secret, len(data))
    uploader = ChecksumUploader(
        file_stream=io.BytesIO(data),
        url=url,
        chunk_size=CHUNK,
        client=tus_client(endpoint, secret),
        upload_checksum=True,
    )
    uploader.upload()
    assert uploader.request._request_headers["upload-checksum"].startswith(algorithm)
    assert_complete(upload_of(url), data)


def test_a_corrupted_chunk_is_refused_and_then_sent_again(endpoint, secret):
    data = os.urandom(2 * CHUNK)
    url = create(endpoint, secret, len(data))
    assert patch(url, secret, 0, data[:CHUNK]).status_code == 204
    damaged = b"X" + data[CHUNK + 1 : 2 * CHUNK]
    response = patch(url, secret, CHUNK, damaged, Upload_Checksum=digest("sha256", data[CHUNK:]))
    assert response.status_code == 460
    assert "does not match" in response.text
    assert offset_of(url, secret) == CHUNK
    assert len(stored_files(upload_of(url))) == 1  # the damaged chunk was not kept
    response = patch(url, secret, CHUNK, data[CHUNK:], Upload_Checksum=digest("md5", data[CHUNK:]))
    assert response.status_code == 204
    assert response.headers["Upload-Offset"] == str(2 * CHUNK)
    assert_complete(upload_of(url), data)


def test_an_unknown_checksum_algorithm_is_a_bad_request(endpoint, secret):
    url = create(endpoint, secret, 3)
    response = patch(url, secret, 0, b"abc", Upload_Checksum="crc32 AAAA")
    assert response.status_code == 400
    assert offset_of(url, secret) == 0


def test_a_chunk_at_the_wrong_offset_is_a_conflict(endpoint, secret):
    url = create(endpoint, secret, 10)
    assert patch(url, secret, 0, b"01234").status_code == 204
    response = patch(url, secret, 3, b"34567")
    assert response.status_code == 409
    assert offset_of(url, secret) == 5


def test_a_chunk_past_the_length_is_refused(endpoint, secret):
    url = create(endpoint, secret, 4)
    assert patch(url, secret, 0, b"01234").status_code == 413
    assert offset_of(url, secret) == 0


def test_creation_with_upload_stores_the_first_chunk(endpoint, secret):
    response = requests.post(
        endpoint,
        data=b"hello",
        headers=headers(
            secret,
            **{"Upload-Length": "11", "Content-Type": "application/offset+octet-stream"},
        ),
    )
    assert response.status_code == 201
    assert response.headers["Upload-Offset"] == "5"
    url = response.headers["Location"]
    assert patch(url, secret, 5, b" world").status_code == 204
    assert_complete(upload_of(url), b"hello world")


def test_an_empty_file_is_complete_at_creation(endpoint, secret, files):
    url = create(endpoint, secret, 0)
    assert_complete(upload_of(url), b"")
    assert len(files) == 1


def test_a_whole_file_checksum_in_the_metadata_is_verified(endpoint, secret):
    data = b"the whole file"
    wrong = base64.b64encode(hashlib.sha256(b"another file").hexdigest().encode()).decode()
    url = create(endpoint, secret, len(data), Upload_Metadata=f"sha256 {wrong}")
    response = patch(url, secret, 0, data)
    assert response.status_code == 460
    assert "whole file" in response.text
    assert offset_of(url, secret) == 0
    right = base64.b64encode(hashlib.sha256(data).hexdigest().encode()).decode()
    url = create(endpoint, secret, len(data), Upload_Metadata=f"sha256 {right}")
    assert patch(url, secret, 0, data).status_code == 204
    assert_complete(upload_of(url), data)


def test_termination_deletes_the_upload_and_its_pieces(endpoint, secret):
    url = create(endpoint, secret, 10)
    assert patch(url, secret, 0, b"01234").status_code == 204
    upload = upload_of(url)
    assert stored_files(upload)
    response = requests.delete(url, headers=headers(secret))
    assert response.status_code == 204
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert requests.head(url, headers=headers(secret)).status_code == 404
    assert not Upload.objects.exists()
    assert not os.path.exists(default_storage.path(upload.prefix))


def test_an_expired_upload_is_gone_and_cleanup_removes_it(endpoint, secret):
    url = create(endpoint, secret, 10)
    response = patch(url, secret, 0, b"01234")
    assert "Upload-Expires" in response.headers
    upload = upload_of(url)
    Upload.objects.filter(pk=upload.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert requests.head(url, headers=headers(secret)).status_code == 410
    assert patch(url, secret, 5, b"56789").status_code == 410
    out = io.StringIO()
    call_command("tus_cleanup", stdout=out)
    assert out.getvalue().strip() == "1 expired upload deleted"
    assert not Upload.objects.exists()
    assert not stored_files(upload)
    assert requests.head(url, headers=headers(secret)).status_code == 404


def test_cleanup_keeps_live_and_completed_uploads(endpoint, secret):
    live = create(endpoint, secret, 10)
    done = create(endpoint, secret, 2)
    assert patch(done, secret, 0, b"ok").status_code == 204
    Upload.objects.filter(pk=upload_of(done).pk).update(expires_at=timezone.now())
    assert services.delete_expired() == 0
    assert Upload.objects.count() == 2
    assert offset_of(live, secret) == 0


def test_the_quota_is_checked_at_creation_and_at_each_chunk(endpoint, secret, settings):
    settings.TUS_QUOTA = lambda scope: 1000 if scope.startswith("user:") else None
    response = requests.post(endpoint, headers=headers(secret, Upload_Length="1001"))
    assert response.status_code == 413
    assert "quota of 1000 bytes" in response.text
    first = create(endpoint, secret, 600)
    response = requests.post(endpoint, headers=headers(secret, Upload_Length="600"))
    assert response.status_code == 413
    assert patch(first, secret, 0, b"x" * 100).status_code == 204
    settings.TUS_QUOTA = lambda scope: 500  # lowered while the upload runs
    response = patch(first, secret, 100, b"x" * 100)
    assert response.status_code == 413
    assert offset_of(first, secret) == 100


def test_another_user_cannot_see_or_touch_an_upload(endpoint, secret):
    url = create(endpoint, secret, 10)
    other = create_token(approved_user("outsider"), "cli", "read-shared")[1]
    assert requests.head(url, headers=headers(other)).status_code == 404
    assert patch(url, other, 0, b"01234").status_code == 404
    assert requests.delete(url, headers=headers(other)).status_code == 404
    assert offset_of(url, secret) == 0


def test_anonymous_and_bad_tokens_are_refused(endpoint, secret):
    url = create(endpoint, secret, 10)
    anonymous = {"Tus-Resumable": "1.0.0", "Upload-Length": "10"}
    assert requests.post(endpoint, headers=anonymous).status_code == 401
    assert requests.head(url, headers={"Tus-Resumable": "1.0.0"}).status_code == 401
    assert requests.head(url, headers=headers("imp_not-a-token")).status_code == 401
    with pytest.raises(TusCommunicationError):
        tus_client(endpoint, "imp_not-a-token").uploader(file_stream=io.BytesIO(b"x")).upload()
    assert Upload.objects.count() == 1


@pytest.mark.parametrize(("length", "status"), [("-1", 400), ("ten", 400), (str(2**63), 413)])
def test_an_unusable_upload_length_is_refused(endpoint, secret, length, status):
    response = requests.post(endpoint, headers=headers(secret, Upload_Length=length))
    assert response.status_code == status
    assert not Upload.objects.exists()


def test_an_unsupported_protocol_version_is_refused(endpoint, secret):
    response = requests.post(
        endpoint, headers={**headers(secret, Upload_Length="3"), "Tus-Resumable": "0.2.2"}
    )
    assert response.status_code == 412
    assert response.headers["Tus-Version"] == "1.0.0"


def test_a_session_needs_the_csrf_token(provider, sign_in):
    browser = Client(enforce_csrf_checks=True)
    sign_in(browser, provider)
    tus = {
        "content_type": "application/offset+octet-stream",
        "HTTP_TUS_RESUMABLE": "1.0.0",
        "HTTP_UPLOAD_LENGTH": "5",
    }
    assert browser.post("/uploads/tus/", b"", **tus).status_code == 403
    browser.cookies["csrftoken"] = "a" * 32
    response = browser.post("/uploads/tus/", b"", HTTP_X_CSRFTOKEN="a" * 32, **tus)
    assert response.status_code == 201
    url = response["Location"]
    response = browser.patch(
        url,
        b"hello",
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_OFFSET="0",
        HTTP_X_CSRFTOKEN="a" * 32,
        HTTP_TUS_RESUMABLE="1.0.0",
    )
    assert response.status_code == 204
    assert_complete(upload_of(url), b"hello")


def test_a_full_disk_loses_nothing_already_stored(endpoint, secret, monkeypatch):
    data = os.urandom(3 * CHUNK)
    url = create(endpoint, secret, len(data))
    assert patch(url, secret, 0, data[:CHUNK]).status_code == 204
    original = FileSystemStorage._save

    def full(self, name, content):
        content.read(1000)  # some of the chunk arrives before the disk fills
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(FileSystemStorage, "_save", full)
    response = patch(url, secret, CHUNK, data[CHUNK : 2 * CHUNK])
    assert response.status_code == 507
    assert "full" in response.text
    assert "kept" in response.text
    assert offset_of(url, secret) == CHUNK
    assert len(stored_files(upload_of(url))) == 1

    monkeypatch.setattr(FileSystemStorage, "_save", original)
    resumed = Uploader(
        file_stream=io.BytesIO(data), url=url, chunk_size=CHUNK, client=tus_client(endpoint, secret)
    )
    assert resumed.offset == CHUNK
    resumed.upload()
    assert_complete(upload_of(url), data)


def test_an_unreachable_store_is_a_503(endpoint, secret, monkeypatch):
    url = create(endpoint, secret, 5)

    def unreachable(self, name, content):
        raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")

    monkeypatch.setattr(FileSystemStorage, "_save", unreachable)
    response = patch(url, secret, 0, b"hello")
    assert response.status_code == 503
    assert "cannot be reached" in response.text
    assert offset_of(url, secret) == 0


def test_a_failed_assembly_keeps_every_acknowledged_piece(endpoint, secret, monkeypatch):
    url = create(endpoint, secret, 10)
    assert patch(url, secret, 0, b"01234").status_code == 204
    original = FileSystemStorage._save

    def full_for_the_final_file(self, name, content):
        if "/parts/" not in name:
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(self, name, content)

    monkeypatch.setattr(FileSystemStorage, "_save", full_for_the_final_file)
    assert patch(url, secret, 5, b"56789").status_code == 507
    assert offset_of(url, secret) == 5
    assert len(stored_files(upload_of(url))) == 1
    monkeypatch.setattr(FileSystemStorage, "_save", original)
    assert patch(url, secret, 5, b"56789").status_code == 204
    assert_complete(upload_of(url), b"0123456789")


def test_uploads_go_to_s3_storage_in_multipart_streams(endpoint, secret, s3_storage):
    """Chunks and the final object above boto3's 8 MiB threshold go up in multipart
    pieces, read as they come: never a whole chunk or file in memory."""
    chunk = 9 * 1024 * 1024
    data = os.urandom(2 * chunk + 7)
    uploader = tus_client(endpoint, secret).uploader(
        file_stream=io.BytesIO(data), chunk_size=chunk, metadata={"filename": "a.fcs"}
    )
    uploader.upload_chunk()
    parts = f"{upload_of(uploader.url).prefix}/parts"
    (piece,) = default_storage.listdir(parts)[1]
    assert "-" in default_storage.bucket.Object(f"files/{parts}/{piece}").e_tag  # multipart
    uploader.upload()
    upload = upload_of(uploader.url)
    assert_complete(upload, data)
    folders, names = default_storage.listdir(upload.prefix)
    assert names == ["a.fcs"]
    assert "-" in default_storage.bucket.Object(f"files/{upload.storage_name}").e_tag
    assert not default_storage.listdir(f"{upload.prefix}/parts")[1]


def test_a_client_that_breaks_off_mid_chunk_resumes_from_the_last_acknowledged_offset(
    endpoint, secret, live_server, monkeypatch
):
    discarded = threading.Event()
    discard = services._discard

    def _discard(*names):
        discard(*names)
        discarded.set()

    monkeypatch.setattr(services, "_discard", _discard)
    data = os.urandom(3 * CHUNK)
    url = create(endpoint, secret, len(data))
    assert patch(url, secret, 0, data[:CHUNK]).status_code == 204
    host, port = live_server.url.removeprefix("http://").split(":")
    path = url.split(live_server.url, 1)[1]
    with socket.create_connection((host, int(port))) as connection:
        connection.sendall(
            (
                f"PATCH {path} HTTP/1.1\r\nHost: {host}\r\nTus-Resumable: 1.0.0\r\n"
                f"Authorization: bearer {secret}\r\nUpload-Offset: {CHUNK}\r\n"
                "Content-Type: application/offset+octet-stream\r\n"
                f"Content-Length: {CHUNK}\r\n\r\n"
            ).encode()
            + data[CHUNK : CHUNK + 1000]
        )  # the connection drops after 1,000 of the chunk's bytes
    assert discarded.wait(10)  # the server noticed the broken body and dropped what came
    assert len(stored_files(upload_of(url))) == 1
    assert offset_of(url, secret) == CHUNK
    resumed = Uploader(
        file_stream=io.BytesIO(data), url=url, chunk_size=CHUNK, client=tus_client(endpoint, secret)
    )
    resumed.upload()
    assert_complete(upload_of(url), data)


def test_head_gives_back_the_metadata_and_expiry(endpoint, secret):
    url = create(endpoint, secret, 10, Upload_Metadata="filename YS50eHQ=,is_confidential")
    response = requests.head(url, headers=headers(secret))
    assert response.headers["Upload-Length"] == "10"
    assert services.parse_metadata(response.headers["Upload-Metadata"]) == {
        "filename": "a.txt",
        "is_confidential": "",
    }
    assert response.headers["Upload-Expires"].endswith(" GMT")


def test_a_chunk_larger_than_tus_max_chunk_is_refused(endpoint, secret, settings):
    settings.TUS_MAX_CHUNK = 4
    url = create(endpoint, secret, 10)
    response = patch(url, secret, 0, b"01234")
    assert response.status_code == 413
    assert "at most 4 bytes" in response.text
    assert patch(url, secret, 0, b"0123").status_code == 204


def test_patch_and_delete_may_come_as_post_with_a_method_override(endpoint, secret):
    url = create(endpoint, secret, 5)
    response = requests.post(
        url,
        data=b"hello",
        headers=headers(
            secret,
            **{
                "X-HTTP-Method-Override": "PATCH",
                "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream",
            },
        ),
    )
    assert response.status_code == 204
    assert_complete(upload_of(url), b"hello")
    override = headers(secret, **{"X-HTTP-Method-Override": "DELETE"})
    assert requests.post(url, headers=override).status_code == 204
    assert not Upload.objects.exists()


def test_a_chunk_without_content_length_is_refused(endpoint, secret, live_server):
    url = create(endpoint, secret, 5)
    connection = http.client.HTTPConnection(live_server.url.removeprefix("http://"))
    connection.putrequest("PATCH", url.split(live_server.url, 1)[1])
    for name, value in headers(secret, Upload_Offset="0").items():
        connection.putheader(name, value)
    connection.putheader("Content-Type", "application/offset+octet-stream")
    connection.endheaders()
    assert connection.getresponse().status == 411
    connection.close()
    assert offset_of(url, secret) == 0


def test_completion_also_removes_pieces_a_killed_request_left(endpoint, secret):
    url = create(endpoint, secret, 10)
    upload = upload_of(url)
    default_storage.save(f"{upload.prefix}/parts/000000000000000-dead.part", ContentFile(b"01"))
    assert patch(url, secret, 0, b"0123456789").status_code == 204
    assert stored_files(upload) == ["upload"]
    assert_complete(upload, b"0123456789")


def test_cleanup_removes_folders_no_upload_owns(endpoint, secret):
    live = upload_of(create(endpoint, secret, 10))
    default_storage.save(f"{live.prefix}/parts/000000000000000-a.part", ContentFile(b"01"))
    orphan = f"tus/{uuid.uuid4()}"
    default_storage.save(f"{orphan}/parts/000000000000000-b.part", ContentFile(b"01"))
    out = io.StringIO()
    call_command("tus_cleanup", stdout=out)
    assert out.getvalue().splitlines() == [
        "0 expired uploads deleted",
        "1 folder without an upload deleted",
    ]
    assert not os.path.exists(default_storage.path(orphan))
    assert len(stored_files(live)) == 1


def test_a_finished_file_outlives_its_uploaders_account(endpoint, secret, provider):
    url = create(endpoint, secret, 5)
    assert patch(url, secret, 0, b"hello").status_code == 204
    provider.delete()
    call_command("tus_cleanup", stdout=io.StringIO())
    upload = upload_of(url)
    assert upload.user is None
    assert_complete(upload, b"hello")


def raw_patch(live_server, url, secret, offset, length) -> socket.socket:
    """A PATCH whose headers are sent and whose body is still to come."""
    host, port = live_server.url.removeprefix("http://").split(":")
    connection = socket.create_connection((host, int(port)))
    connection.sendall(
        (
            f"PATCH {url.split(live_server.url, 1)[1]} HTTP/1.1\r\nHost: {host}\r\n"
            f"Tus-Resumable: 1.0.0\r\nAuthorization: bearer {secret}\r\n"
            f"Upload-Offset: {offset}\r\nContent-Type: application/offset+octet-stream\r\n"
            f"Content-Length: {length}\r\nConnection: close\r\n\r\n"
        ).encode()
    )
    return connection


def status_of(connection: socket.socket) -> int:
    answer = connection.makefile("rb").readline()
    connection.close()
    return int(answer.split()[1])


@pytest.mark.parametrize("last", [False, True], ids=["middle-chunk", "last-chunk"])
def test_of_two_chunks_sent_at_once_for_one_offset_one_wins(endpoint, secret, live_server, last):
    first, second = os.urandom(CHUNK), os.urandom(CHUNK)
    url = create(endpoint, secret, CHUNK if last else 2 * CHUNK)
    parts = default_storage.path(f"{upload_of(url).prefix}/parts")
    a = raw_patch(live_server, url, secret, 0, CHUNK)
    b = raw_patch(live_server, url, secret, 0, CHUNK)
    a.sendall(first[:1000])
    b.sendall(second[:1000])
    for _ in range(100):  # both requests passed the offset check and are storing
        if os.path.isdir(parts) and len(os.listdir(parts)) == 2:
            break
        threading.Event().wait(0.05)
    assert len(os.listdir(parts)) == 2
    a.sendall(first[1000:])
    assert status_of(a) == 204
    b.sendall(second[1000:])
    assert status_of(b) == 409
    assert offset_of(url, secret) == CHUNK
    if last:
        assert_complete(upload_of(url), first)
    else:
        assert patch(url, secret, CHUNK, second).status_code == 204
        assert_complete(upload_of(url), first + second)


def test_a_failing_completion_hook_undoes_the_last_chunk(endpoint, secret, settings, files):
    calls = []

    def on_complete(upload):
        calls.append(upload.pk)
        if len(calls) == 1:
            raise RuntimeError("the ingest queue is down")

    settings.TUS_ON_COMPLETE = on_complete
    url = create(endpoint, secret, 10)
    assert patch(url, secret, 0, b"01234").status_code == 204
    assert patch(url, secret, 5, b"56789").status_code == 500
    upload = upload_of(url)
    assert (upload.offset, upload.completed_at, upload.storage_name) == (5, None, "")
    assert len(stored_files(upload)) == 1  # the first chunk only: no final file, no 2nd piece
    assert patch(url, secret, 5, b"56789").status_code == 204
    assert_complete(upload, b"0123456789")
    assert len(calls) == 2
