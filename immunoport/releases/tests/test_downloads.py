"""A study's download ZIP read back as its users read it: pandas, polars, Frictionless."""

import datetime
import hashlib
import io
import zipfile

import pandas as pd
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from immunoport.releases.downloads import (
    StudyDocument,
    write_all_studies,
    write_study_download,
)

FOLDER = "SDY9001-DR3"
AWKWARD = 'Line one\tafter a tab\nline two with "quotes"\r\nand a CRLF'


def study_tables() -> dict[str, pl.DataFrame]:
    return {
        "study": pl.DataFrame(
            {
                "study_accession": ["SDY9001"],
                "brief_title": ["Influenza vaccine responses"],
                "description": [AWKWARD],
                "actual_start_date": [datetime.date(2019, 3, 4)],
                "dcl_id": [0],
                "clinical_trial": ["N"],
            }
        ),
        "arm_or_cohort": pl.DataFrame(
            {
                "arm_accession": ["ARM9001", "ARM9002"],
                "study_accession": ["SDY9001", "SDY9001"],
                "name": ["Vaccinated", "Placebo"],
                "type_reported": ["Experimental", None],
            }
        ),
        "subject": pl.DataFrame(
            {
                "subject_accession": ["SUB9001", "SUB9002", "SUB9003"],
                "gender": ["Female", "Male", "Not Specified"],
                "species": ["Homo sapiens"] * 3,
            }
        ),
        "arm_2_subject": pl.DataFrame(
            {
                "arm_accession": ["ARM9001", "ARM9001", "ARM9002"],
                "subject_accession": ["SUB9001", "SUB9002", "SUB9003"],
                "age_event": ["Age at enrollment"] * 3,
                "age_unit": ["Years"] * 3,
                "min_subject_age": [34.5, 90.0, 0.25],
                "max_subject_age": [34.5, None, 0.25],
            }
        ),
        "biosample": pl.DataFrame(
            {
                "biosample_accession": ["BS9001", "BS9002"],
                "subject_accession": ["SUB9001", "SUB9002"],
                "type": ["Serum", "PBMC"],
                "study_time_collected": [0.0, None],
                "description": [None, "tab\there"],
                "freezer_shelf": [3, None],  # not in the data model
            },
            schema_overrides={"freezer_shelf": pl.Int32},
        ),
        "lab_test": pl.DataFrame(
            schema={"lab_test_accession": pl.String, "result_value_preferred": pl.Float64}
        ),
    }


PROTOCOL = b"%PDF-1.4 a protocol\n" * 1000
FCS = bytes(range(256)) * 5000  # over a chunk: copied in more than one piece


def document(name: str, kind: str, content: bytes, md5: str | None = None) -> StudyDocument:
    return StudyDocument(
        name=name,
        kind=kind,
        size=len(content),
        md5=md5 or hashlib.md5(content).hexdigest(),
        open=lambda: io.BytesIO(content),
    )


def documents() -> list[StudyDocument]:
    return [document("sample 1.fcs", "fcs", FCS), document("protocol.pdf", "protocol", PROTOCOL)]


def build(path, **changes):
    arguments = {
        "study_accession": "SDY9001",
        "release": "DR3",
        "version": 2,
        "tables": study_tables(),
        "documents": documents(),
        "citation": "Influenza vaccine responses. immunoport study SDY9001, version 2.",
    }
    with path.open("w+b") as target:
        summary = write_study_download(target, **(arguments | changes))
    return summary


@pytest.fixture
def download(tmp_path):
    path = tmp_path / "SDY9001-DR3.zip"
    summary = build(path)
    with zipfile.ZipFile(path) as archive:
        yield path, summary, archive


def test_the_zip_holds_every_table_twice_documents_and_descriptions(download):
    path, summary, archive = download
    assert archive.testzip() is None
    tables = sorted(study_tables())
    assert archive.namelist() == sorted(
        [f"{FOLDER}/Parquet/{t}.parquet" for t in tables]
        + [f"{FOLDER}/Tab/{t}.txt" for t in tables]
        + [f"{FOLDER}/{name}" for name in ("README.txt", "data_dictionary.tsv")]
        + [f"{FOLDER}/{name}" for name in ("datapackage.json", "manifest.tsv")]
        + [f"{FOLDER}/files/fcs/sample 1.fcs", f"{FOLDER}/files/protocol/protocol.pdf"]
    )
    assert summary.members == archive.namelist()
    content = path.read_bytes()
    assert summary.size == len(content)
    assert summary.md5 == hashlib.md5(content).hexdigest()
    assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


@pytest.mark.parametrize("table", sorted(study_tables()))
def test_every_tab_table_reads_back_with_pandas(download, table):
    _, _, archive = download
    expected = study_tables()[table]
    with archive.open(f"{FOLDER}/Tab/{table}.txt") as handle:
        frame = pd.read_csv(handle, sep="\t")
    assert list(frame.columns) == [column.upper() for column in expected.columns]
    assert len(frame) == expected.height
    for column in expected.columns:
        read = [None if pd.isna(value) else value for value in frame[column.upper()]]
        given = expected[column].to_list()
        if expected.schema[column] == pl.Date:
            given = [value.isoformat() if value else None for value in given]
        assert read == given, column


@pytest.mark.parametrize("table", sorted(study_tables()))
def test_every_tab_table_reads_back_with_polars(download, table):
    _, _, archive = download
    expected = study_tables()[table]
    expected = expected.rename({column: column.upper() for column in expected.columns})
    read = pl.read_csv(
        archive.read(f"{FOLDER}/Tab/{table}.txt"), separator="\t", schema=expected.schema
    )
    assert_frame_equal(read, expected)


def test_the_awkward_text_keeps_its_tabs_line_breaks_and_quotes(download):
    _, _, archive = download
    text = archive.read(f"{FOLDER}/Tab/study.txt").decode()
    assert '"Line one\tafter a tab\nline two with ""quotes""\r\nand a CRLF"' in text
    assert "\t2019-03-04\t" in text


@pytest.mark.parametrize("table", sorted(study_tables()))
def test_parquet_keeps_the_types(download, table):
    _, _, archive = download
    expected = study_tables()[table]
    expected = expected.rename({column: column.upper() for column in expected.columns})
    read = pl.read_parquet(archive.read(f"{FOLDER}/Parquet/{table}.parquet"))
    assert_frame_equal(read, expected)  # dtypes included: Date, Int32, Float64, String


def test_the_manifest_lists_every_other_member_with_its_size_and_md5(download):
    _, _, archive = download
    manifest = pl.read_csv(archive.read(f"{FOLDER}/manifest.tsv"), separator="\t")
    assert manifest.columns == ["PATH", "SIZE", "MD5"]
    members = [name for name in archive.namelist() if name != f"{FOLDER}/manifest.tsv"]
    assert manifest["PATH"].to_list() == [name.removeprefix(f"{FOLDER}/") for name in members]
    for path, size, md5 in manifest.iter_rows():
        content = archive.read(f"{FOLDER}/{path}")
        assert (size, md5) == (len(content), hashlib.md5(content).hexdigest()), path
    listed = {path: (size, md5) for path, size, md5 in manifest.iter_rows()}
    for given in documents():
        assert listed[f"files/{given.kind}/{given.name}"] == (given.size, given.md5)
    assert archive.read(f"{FOLDER}/files/fcs/sample 1.fcs") == FCS


def test_the_data_dictionary_describes_every_column_written(download):
    _, _, archive = download
    dictionary = pl.read_csv(
        archive.read(f"{FOLDER}/data_dictionary.tsv"), separator="\t", infer_schema=False
    ).fill_null("")
    assert dictionary.columns == ["TABLE", "COLUMN", "TYPE", "DESCRIPTION"]
    written = [
        (table, column.upper())
        for table, frame in sorted(study_tables().items())
        for column in frame.columns
    ]
    assert list(dictionary.select("TABLE", "COLUMN").iter_rows()) == written
    rows = {(row[0], row[1]): row[2:] for row in dictionary.iter_rows()}
    assert rows["study", "STUDY_ACCESSION"] == ("VARCHAR(15)", "Primary key")
    assert rows["arm_2_subject", "MIN_SUBJECT_AGE"][0] == "FLOAT"
    assert rows["biosample", "FREEZER_SHELF"] == ("Int32", "")


def test_the_readme_says_what_the_download_is(download):
    _, _, archive = download
    readme = archive.read(f"{FOLDER}/README.txt").decode()
    assert readme.startswith("SDY9001: Influenza vaccine responses\n")
    assert "Version 2 of the study, as data release DR3 shares it." in readme
    assert "Influenza vaccine responses. immunoport study SDY9001, version 2." in readme
    assert "no user-defined IDs" in readme
    assert "ages over 89 shown as 90" in readme
    assert "files/<kind>/<name>" in readme


def test_the_data_package_validates_with_frictionless(download, tmp_path):
    _, _, archive = download
    frictionless = pytest.importorskip("frictionless", reason="frictionless is not installed")
    archive.extractall(tmp_path / "extracted")
    folder = tmp_path / "extracted" / FOLDER
    report = frictionless.validate(folder / "datapackage.json")
    assert report.valid, report.flatten(["taskNumber", "rowNumber", "fieldName", "note"])
    package = frictionless.Package(folder / "datapackage.json")
    assert package.profile == "tabular-data-package"
    assert package.version == "2"
    assert package.licenses
    assert [resource.path for resource in package.resources] == [
        f"Tab/{table}.txt" for table in sorted(study_tables())
    ]
    study = {field.name: field.type for field in package.get_resource("study").schema.fields}
    assert study["ACTUAL_START_DATE"] == "date"
    assert study["DCL_ID"] == "integer"
    ages = package.get_resource("arm_2_subject").schema
    assert ages.get_field("MIN_SUBJECT_AGE").type == "number"
    assert ages.primary_key == ["ARM_ACCESSION", "SUBJECT_ACCESSION"]
    rows = package.get_resource("study").read_rows()
    assert rows[0]["DESCRIPTION"] == AWKWARD
    assert rows[0]["ACTUAL_START_DATE"] == datetime.date(2019, 3, 4)


def test_a_document_whose_md5_differs_is_refused_by_name(tmp_path):
    damaged = document("protocol.pdf", "protocol", PROTOCOL, md5="0" * 32)
    with pytest.raises(ValueError, match=r"protocol\.pdf.*MD5"):
        build(tmp_path / "a.zip", documents=[damaged])
    shorter = StudyDocument("sample.fcs", "fcs", len(FCS) + 1, "0" * 32, lambda: io.BytesIO(FCS))
    with pytest.raises(ValueError, match=r"sample\.fcs.*bytes"):
        build(tmp_path / "b.zip", documents=[shorter])


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"study_accession": "SDY9001/../x"}, "Not a study accession"),
        ({"release": "DR3 final"}, "Not a data release"),
        ({"tables": {"../study": pl.DataFrame({"a": [1]})}}, "Not an ImmPort table name"),
        ({"tables": {"study": pl.DataFrame({"a": [1], "A": [2]})}}, "differ only in case"),
        ({"tables": {"study": pl.DataFrame({"a": [[1]]})}}, "has no place in a Tab file"),
        ({"documents": [document("../etc", "protocol", b"x")]}, "plain file names"),
        ({"documents": [document("a.pdf", "protocol", b"x")] * 2}, "Two documents"),
    ],
)
def test_unsafe_or_ambiguous_input_is_refused(tmp_path, changes, message):
    with pytest.raises(ValueError, match=message):
        build(tmp_path / "a.zip", **changes)


def test_the_same_input_builds_the_same_bytes(tmp_path):
    first, second = tmp_path / "first.zip", tmp_path / "second.zip"
    second.write_bytes(b"left over from before " * 100_000)  # written from its start
    build(first)
    build(second, documents=list(reversed(documents())))
    assert first.read_bytes() == second.read_bytes()


def all_studies() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "study_accession": ["SDY9001", "SDY9002"],
            "version": [2, 1],
            "title": ["Influenza vaccine responses", "A title\twith a tab"],
            "subjects": [3, 120],
            "results": [0, 4500],
        }
    )


def test_allstudies_is_a_small_zip_of_one_table(tmp_path):
    path = tmp_path / "ALLSTUDIES-DR3.zip"
    with path.open("w+b") as target:
        summary = write_all_studies(target, release="DR3", studies=all_studies())
    assert summary.md5 == hashlib.md5(path.read_bytes()).hexdigest()
    expected = all_studies().rename(str.upper)
    with zipfile.ZipFile(path) as archive:
        assert (
            archive.namelist()
            == summary.members
            == [
                "ALLSTUDIES-DR3/ALLSTUDIES.parquet",
                "ALLSTUDIES-DR3/ALLSTUDIES.tsv",
                "ALLSTUDIES-DR3/datapackage.json",
            ]
        )
        tsv = archive.read("ALLSTUDIES-DR3/ALLSTUDIES.tsv")
        assert_frame_equal(pl.read_csv(tsv, separator="\t"), expected)
        assert (
            pd.read_csv(io.BytesIO(tsv), sep="\t")["TITLE"].to_list() == expected["TITLE"].to_list()
        )
        parquet = archive.read("ALLSTUDIES-DR3/ALLSTUDIES.parquet")
        assert_frame_equal(pl.read_parquet(parquet), expected)
        archive.extractall(tmp_path / "extracted")
    again = tmp_path / "again.zip"
    with again.open("w+b") as target:
        write_all_studies(target, release="DR3", studies=all_studies())
    assert again.read_bytes() == path.read_bytes()
    frictionless = pytest.importorskip("frictionless", reason="frictionless is not installed")
    report = frictionless.validate(tmp_path / "extracted" / "ALLSTUDIES-DR3" / "datapackage.json")
    assert report.valid, report.flatten(["rowNumber", "fieldName", "note"])
