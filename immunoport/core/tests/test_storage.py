"""STORAGE_URL selects the file storage: the local folder, or an S3-compatible store."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from immunoport.core.env import storage_from_url


def test_no_url_is_the_local_folder():
    assert storage_from_url("") == {"BACKEND": "django.core.files.storage.FileSystemStorage"}


def test_an_s3_url_names_bucket_prefix_endpoint_and_region():
    storage = storage_from_url("s3://lab-data/immunoport?endpoint_url=http://minio:9000&region=eu")
    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    options = storage["OPTIONS"]
    assert options["bucket_name"] == "lab-data"
    assert options["location"] == "immunoport"
    assert options["endpoint_url"] == "http://minio:9000"
    assert options["region_name"] == "eu"
    assert options["file_overwrite"] is False


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://host/files", "is not usable"),
        ("s3://", "is not usable"),
        ("s3://bucket?endpoint=http://x", "unknown options \\['endpoint'\\]"),
    ],
)
def test_an_unusable_url_stops_the_start_naming_the_problem(url, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        storage_from_url(url)


def test_files_round_trip_through_the_s3_server(s3_storage):
    name = default_storage.save("workspaces/1/files/readme.txt", ContentFile(b"hello S3"))
    assert default_storage.exists(name)
    assert default_storage.size(name) == 8
    with default_storage.open(name) as stored:
        assert stored.read() == b"hello S3"
    # never overwritten: a second file of the same name gets a name of its own
    second = default_storage.save("workspaces/1/files/readme.txt", ContentFile(b"again"))
    assert second != name
    default_storage.delete(name)
    assert not default_storage.exists(name)
