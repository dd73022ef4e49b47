"""A real study's download, opened as its users open it: pandas and Frictionless.

The demo's six ImmPort studies are imported and released as DR1; the downloads are
built into a storage folder of this module's own. SDY702's ZIP is unpacked and read.
"""

import hashlib
import zipfile
from pathlib import Path

import frictionless
import pandas as pd
import pytest
from django.core.files.storage import default_storage

from immunoport.releases import public

pytestmark = pytest.mark.django_db

ACCESSION = "SDY702"


@pytest.fixture(scope="module")
def released(demo_release):
    """SDY702 as DR1 holds it, with its download built."""
    return public.released_study(ACCESSION, demo_release)


@pytest.fixture(scope="module")
def unpacked(released, tmp_path_factory) -> Path:
    assert released.download, "the download was not built"
    target = tmp_path_factory.mktemp("download")
    with default_storage.open(released.download, "rb") as handle:
        zipfile.ZipFile(handle).extractall(target)
    folder = target / f"{ACCESSION}-{released.release.label}"
    assert folder.is_dir()
    return folder


def md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def test_the_download_is_the_one_recorded(released):
    with default_storage.open(released.download, "rb") as handle:
        content = handle.read()
    assert (hashlib.md5(content).hexdigest(), len(content)) == (
        released.download_md5,
        released.download_size,
    )


def test_every_tab_table_reads_with_pandas_with_the_released_row_counts(released, unpacked):
    rows = {}
    for path in sorted((unpacked / "Tab").glob("*.txt")):
        frame = pd.read_csv(path, sep="\t", keep_default_na=False, na_values=[""])
        assert all(column == column.upper() for column in frame.columns), path.name
        assert "USER_DEFINED_ID" not in frame.columns
        rows[path.stem] = len(frame)
    assert {table: n for table, n in rows.items() if n} == released.counts
    assert released.counts["subject"] > 0
    assert {path.stem for path in (unpacked / "Parquet").glob("*.parquet")} == set(rows)


def test_every_file_matches_the_manifest(unpacked):
    manifest = pd.read_csv(
        unpacked / "manifest.tsv", sep="\t", keep_default_na=False, dtype={"MD5": str}
    )
    listed = {row.PATH: (row.SIZE, row.MD5) for row in manifest.itertuples()}
    files = {
        path.relative_to(unpacked).as_posix(): path
        for path in unpacked.rglob("*")
        if path.is_file() and path.name != "manifest.tsv"
    }
    assert set(listed) == set(files)
    for name, path in files.items():
        assert listed[name] == (path.stat().st_size, md5(path)), name


def test_the_frictionless_package_opens_and_validates(unpacked):
    package = frictionless.Package(str(unpacked / "datapackage.json"))
    tables = sorted(path.stem for path in (unpacked / "Tab").glob("*.txt"))
    assert sorted(resource.name for resource in package.resources) == tables
    for resource in package.resources:
        with resource:  # opens the Tab file with the descriptor's dialect and schema
            header = list(resource.header)
            assert header == [field.name for field in resource.schema.fields]
            rows = sum(1 for _ in resource.row_stream)
            assert rows == len(pd.read_csv(unpacked / resource.path, sep="\t", dtype=str))
    report = frictionless.validate(str(unpacked / "datapackage.json"))
    assert report.valid, report.flatten(["resourceName", "rowNumber", "fieldName", "type", "note"])
