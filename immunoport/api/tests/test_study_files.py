"""A study's files: the manifest, /drs/download's URL, and byte ranges of a download."""

import hashlib
import uuid
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User

from immunoport.accounts.models import ApiToken
from immunoport.accounts.services import create_token
from immunoport.api.study import Unsatisfiable, requested_range
from immunoport.api.study_data import FILE_NAMESPACE

pytestmark = pytest.mark.django_db


@pytest.fixture
def bearer(demo_release):
    user = User.objects.create_user("file-reader", password="a long pass phrase")
    _, secret = create_token(user, "files", ApiToken.Scope.READ_SHARED)
    return {"HTTP_AUTHORIZATION": f"bearer {secret}"}


def manifest(client, bearer, accession="SDY702", **params):
    answer = client.get(f"/data/query/api/study/manifest/{accession}", params, **bearer)
    assert answer.status_code == 200
    return answer.json()


def signed_url(client, bearer, file_uuid: str) -> str:
    answer = client.get(f"/data/query/drs/download/stream/{file_uuid}", **bearer)
    assert answer.status_code == 200
    assert answer.json()["status"] == 200
    found = urlsplit(answer.json()["url"])
    return f"{found.path}?{found.query}"


def content(response) -> bytes:
    return b"".join(response.streaming_content)


def test_the_manifest_lists_the_download_and_every_member(client, bearer, demo_release):
    files = manifest(client, bearer)
    types = {row["fileType"] for row in files}
    assert types == {"archive_file", "release_file"}  # the demo stores no documents
    archive = [row for row in files if row["fileType"] == "archive_file"]
    assert [row["fileName"] for row in archive] == ["SDY702-DR1.zip"]
    assert any(row["path"] == "SDY702-DR1/Tab/subject.txt" for row in files)
    assert len({row["fileUUID"] for row in files}) == len(files)
    assert manifest(client, bearer, fileType="archive_file") == archive
    paths = client.get("/data/query/api/study/filePath/SDY702", **bearer).json()
    assert [row["path"] for row in paths] == [row["path"] for row in files]
    for kind in ("protocolFiles", "resultFiles", "studyFiles"):
        assert client.get(f"/data/query/api/study/filePath/{kind}/SDY702", **bearer).json() == []


def test_every_file_downloads_with_the_size_and_md5_of_the_manifest(client, bearer):
    for row in manifest(client, bearer):
        answer = client.get(signed_url(client, bearer, row["fileUUID"]))
        assert answer.status_code == 200
        data = content(answer)
        assert (len(data), hashlib.md5(data).hexdigest()) == (
            row["filesizeBytes"],
            row["generatedMD5"],
        ), row["path"]
        assert int(answer["Content-Length"]) == len(data)


@pytest.mark.parametrize("path", ["SDY702-DR1.zip", "SDY702-DR1/Tab/biosample.txt"])
def test_a_download_resumes_byte_exactly_from_a_range(client, bearer, path):
    row = next(row for row in manifest(client, bearer) if row["path"] == path)
    url, size = signed_url(client, bearer, row["fileUUID"]), row["filesizeBytes"]
    whole = content(client.get(url))
    head = client.get(url, HTTP_RANGE="bytes=0-999")
    assert head.status_code == 206
    assert head["Content-Range"] == f"bytes 0-999/{size}"
    rest = client.get(url, HTTP_RANGE="bytes=1000-")
    assert rest["Content-Range"] == f"bytes 1000-{size - 1}/{size}"
    assert content(head) + content(rest) == whole
    assert content(client.get(url, HTTP_RANGE="bytes=-10")) == whole[-10:]
    refused = client.get(url, HTTP_RANGE=f"bytes={size}-")
    assert refused.status_code == 416
    assert refused["Content-Range"] == f"bytes */{size}"


@pytest.mark.parametrize(
    ("header", "wanted"),
    [
        (None, None),
        ("bytes=0-9", (0, 9)),
        ("bytes=5-", (5, 99)),
        ("bytes=90-500", (90, 99)),
        ("bytes=-10", (90, 99)),
        ("bytes=-500", (0, 99)),
        ("bytes=9-3", None),  # malformed: ignored
        ("bytes=0-1,5-6", None),  # several ranges: the whole file
        ("items=0-1", None),
    ],
)
def test_requested_range(header, wanted):
    assert requested_range(header, 100) == wanted


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=-0", "bytes=200-300"])
def test_a_range_past_the_end_is_unsatisfiable(header):
    with pytest.raises(Unsatisfiable):
        requested_range(header, 100)


def test_a_file_needs_a_token_or_a_valid_signature(client, bearer):
    row = manifest(client, bearer)[0]
    assert client.get(f"/data/query/drs/download/stream/{row['fileUUID']}").status_code == 401
    url = signed_url(client, bearer, row["fileUUID"])
    assert client.get(url[:-2]).status_code == 403
    other = manifest(client, bearer)[1]["fileUUID"]
    assert client.get(url.replace(f"file/{row['fileUUID']}", f"file/{other}")).status_code == 404


def test_unknown_and_unreleased_files_never_resolve(client, bearer):
    unreleased = uuid.uuid5(FILE_NAMESPACE, "DR1/SDY999999/SDY999999-DR1.zip")
    for file_uuid in (unreleased, uuid.uuid4()):
        answer = client.get(f"/data/query/drs/download/stream/{file_uuid}", **bearer)
        assert answer.status_code == 404
