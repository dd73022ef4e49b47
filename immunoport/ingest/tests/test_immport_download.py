import datetime
import shutil
import tempfile
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from immunoport.core.accessions import issue_accessions
from immunoport.demo.services import DEMO_DATA
from immunoport.ingest.immport_download import (
    PackageContents,
    PackageError,
    import_package,
    import_packages,
    open_package,
    read_package,
)
from immunoport.ingest.tests.immport_files import database_counts, distinct_rows, row_counts
from immunoport.releases.models import SharingRequest
from immunoport.releases.services import shared_studies
from immunoport.studies.models import (
    ContractGrant,
    HaiResult,
    Program,
    Protocol,
    StudyDataRelease,
)
from immunoport.workspaces.models import Workspace

SDY208_TAB = DEMO_DATA / "SDY208" / "SDY208-DR16_Tab" / "Tab"
SDY702_MYSQL = DEMO_DATA / "SDY702" / "SDY702-DR34_MySQL" / "MySQL"


def copy_package(source: Path, target: Path) -> Path:
    """A writable copy of a package's table folder, under its download name."""
    folder = target / source.parent.name / source.name
    shutil.copytree(source, folder)
    return folder


def expected_counts(package: Path, *, published: bool) -> dict[str, int]:
    counts = row_counts(package)
    if published:  # a study the package never released is published on import
        counts.setdefault("study_data_release", 1)
    return counts


@pytest.mark.django_db
@pytest.mark.parametrize("study", ["SDY1389", "SDY139", "SDY208"])
def test_a_package_imports_every_row_of_its_files(workspace, study):
    report = import_package(DEMO_DATA / study, workspace, shared=True)

    expected = expected_counts(DEMO_DATA / study, published=bool(report.published))
    assert database_counts() == expected
    assert report.skipped == 0
    assert report.inserted == sum(expected.values()) - len(report.published)


@pytest.mark.django_db
def test_dr16_columns_land_in_their_current_names(workspace):
    import_package(DEMO_DATA / "SDY208", workspace, shared=True)

    grant = ContractGrant.objects.get(pk=1513)  # DR16 NAME, TITLE -> external_id, name
    assert grant.external_id == "HHSN266200700006C"
    assert grant.name.startswith("Influenza Pathogenesis & Immunology Research Center")
    assert grant.category == "Not Specified"  # required now, unknown then
    strains = set(HaiResult.objects.values_list("virus_strain_reported", flat=True))
    assert "A/California/04/09" in strains
    # DR16 names a protocol's file once; that name is the original file name.
    protocol = Protocol.objects.get(pk="PTL5880")
    assert protocol.original_file_name == protocol.file_name == "DK-JID-2011MATERIALSANDMETHODS.pdf"


@pytest.mark.django_db
def test_packages_of_one_immport_workspace_need_each_other(workspace):
    """SDY702, SDY1041 and SDY1097 name each other's reagent sets: only together they load."""
    with pytest.raises(PackageError) as refused:
        import_package(DEMO_DATA / "SDY702", workspace, shared=True)
    assert (
        "SDY702-DR34_MySQL/MySQL/reagent_set_2_reagent.txt line 85, "
        "column reagent_set_accession = 'ESR18905': no such reagent"
    ) in str(refused.value)
    assert database_counts() == {}

    packages = [DEMO_DATA / study for study in ("SDY702", "SDY1041", "SDY1097")]
    reports = import_packages(packages, workspace, shared=True)

    expected = {table: len(rows) for table, rows in distinct_rows(*packages).items()}
    assert database_counts() == expected
    assert sum(r.inserted for r in reports) == sum(expected.values())
    assert sum(r.skipped for r in reports) > 0  # shared subjects, reagents, grants


@pytest.mark.django_db
def test_a_dangling_reference_names_file_line_column_and_value(tmp_path, workspace):
    import_package(DEMO_DATA / "SDY139", workspace, shared=True)
    before = database_counts()
    broken = copy_package(SDY208_TAB, tmp_path)
    links = broken / "arm_2_subject.txt"
    links.write_text(links.read_text().replace("ARM885\tSUB120520", "ARM999999\tSUB120520"))

    with pytest.raises(PackageError) as refused:
        import_package(broken.parent, workspace, shared=True)

    message = str(refused.value)
    assert "nothing was imported" in message
    assert (
        "SDY208-DR16_Tab/Tab/arm_2_subject.txt line 3, column arm_accession = 'ARM999999': "
        "no such arm_or_cohort, neither in the package nor in the database; import the "
        "package that has it"
    ) in message
    assert database_counts() == before


@pytest.mark.django_db
def test_the_command_reports_a_refused_package_without_creating_the_workspace(tmp_path):
    broken = copy_package(SDY208_TAB, tmp_path)
    links = broken / "arm_2_subject.txt"
    links.write_text(links.read_text().replace("ARM885\t", "ARM999999\t"))

    with pytest.raises(CommandError, match=r"arm_2_subject\.txt line 3, column arm_accession"):
        call_command("import_immport", str(broken.parent), workspace="Broken lab")
    assert not Workspace.objects.filter(name="Broken lab").exists()
    with pytest.raises(CommandError, match="no such file or folder"):
        call_command("import_immport", str(tmp_path / "missing"), workspace="Broken lab")


@pytest.mark.django_db
def test_the_command_creates_the_workspace_and_prints_the_report(capsys):
    call_command("import_immport", str(DEMO_DATA / "SDY208"), workspace="Flu lab", shared=True)

    out = capsys.readouterr().out
    assert "SDY208-DR16_Tab -> workspace 'Flu lab': 644 rows inserted" in out
    assert "published SDY208" in out
    assert "tables with no place in the current model (rows not imported): " in out
    assert "subject_2_protocol 7" in out
    assert "subject.age_reported 7" in out
    assert Workspace.objects.get(name="Flu lab").pk == StudyDataRelease.objects.get().workspace_id


def test_a_truncated_file_is_refused(tmp_path):
    package = tmp_path / "SDY702-DR34_MySQL" / "MySQL"
    package.mkdir(parents=True)
    text = (SDY702_MYSQL / "study.txt").read_text()
    (package / "study.txt").write_text(text[: len(text) // 2])

    with open_package(package.parent) as opened, pytest.raises(PackageError) as refused:
        read_package(opened)
    assert "SDY702-DR34_MySQL/MySQL/study.txt: truncated" in str(refused.value)


def test_rows_with_the_wrong_number_of_fields_are_refused(tmp_path):
    package = copy_package(SDY208_TAB, tmp_path)
    subjects = package / "subject.txt"
    lines = subjects.read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace("\t", "", 1)
    subjects.write_text("".join(lines))

    with open_package(package) as opened, pytest.raises(PackageError) as refused:
        read_package(opened)
    assert "subject.txt line 3: 16 fields where 17 were expected" in str(refused.value)


def test_values_that_are_no_number_or_date_are_refused(tmp_path):
    package = tmp_path / "SDY702-DR34_MySQL" / "MySQL"
    package.mkdir(parents=True)
    text = (SDY702_MYSQL / "study.txt").read_text()
    broken = text.replace("~@~56~@~2013-07-01 00:00:00~@~", "~@~fifty~@~2013-13-45 00:00:00~@~")
    assert broken != text
    (package / "study.txt").write_text(broken)

    with open_package(package) as opened, pytest.raises(PackageError) as refused:
        read_package(opened)
    message = str(refused.value)
    assert "study.txt line 1, column actual_enrollment = 'fifty': is not a whole number" in message
    assert (
        "study.txt line 1, column actual_start_date = '2013-13-45 00:00:00': "
        "is not a date (YYYY-MM-DD)"
    ) in message


def test_values_are_typed_like_the_model():
    with open_package(DEMO_DATA / "SDY702") as package:
        contents = read_package(package)
    study = contents.frames["study"].row(0, named=True)
    assert study["brief_title"] == "Human T Cell Profile"
    assert study["actual_start_date"] == datetime.date(2013, 7, 1)
    assert study["actual_enrollment"] == 56
    assert study["description"] is not None
    assert study["actual_completion_date"] is None  # \N


@pytest.mark.django_db
def test_a_zipped_package_imports_like_its_folder(tmp_path, workspace):
    archive = tmp_path / "SDY208-DR16_Tab.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in SDY208_TAB.glob("*.txt"):
            zf.write(path, f"Tab/{path.name}")  # the package name comes from the zip

    import_package(archive, workspace, shared=True)

    assert database_counts() == expected_counts(DEMO_DATA / "SDY208", published=True)


@pytest.mark.parametrize("member", ["../escape.txt", "/etc/escape.txt", "Tab/../../escape.txt"])
def test_a_zip_reaching_outside_itself_is_refused(tmp_path, member):
    archive = tmp_path / "inner" / "SDY208-DR16_Tab.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("Tab/study.txt", "STUDY_ACCESSION\nSDY208\n")
        zf.writestr(member, "escaped")

    refused = pytest.raises(PackageError, match="refused, member .* points outside it")
    with refused, open_package(archive):
        pass
    assert not (tmp_path / "escape.txt").exists()


def test_a_zip_unpacking_beyond_the_limit_is_refused(tmp_path):
    archive = tmp_path / "SDY208-DR16_Tab.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("Tab/study.txt", "STUDY_ACCESSION\n" + "SDY208\n" * 10_000)

    refused = pytest.raises(PackageError, match="unpacks to more than 1,000 bytes")
    with refused, open_package(archive, max_bytes=1000):
        pass


def test_garbage_is_no_package(tmp_path):
    garbage = tmp_path / "SDY1-DR34_MySQL.zip"
    garbage.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(PackageError, match="not a readable zip archive"), open_package(garbage):
        pass
    with pytest.raises(PackageError, match="no MySQL/ or Tab/ folder"), open_package(tmp_path):
        pass


@pytest.mark.django_db
def test_a_package_imported_unshared_stays_private(workspace):
    report = import_package(DEMO_DATA / "SDY208", workspace, shared=False)

    assert not shared_studies().exists()
    assert not StudyDataRelease.objects.exists()
    assert "study_data_release not imported: SDY208 stays private" in "\n".join(report.lines())


@pytest.mark.django_db
def test_a_shared_package_is_approved_for_the_next_data_release(workspace):
    report = import_package(DEMO_DATA / "SDY208", workspace, shared=True)

    assert not shared_studies().exists()  # public once a release holds it
    sharing = SharingRequest.objects.get()
    assert (sharing.study_id, sharing.status) == ("SDY208", "approved")
    release = StudyDataRelease.objects.get()
    assert (release.data_release_version, release.status) == (16, "Imported")
    assert report.published == ["SDY208"]


@pytest.mark.django_db
def test_new_records_never_take_an_imported_accession_or_id(workspace):
    import_package(DEMO_DATA / "SDY208", workspace, shared=False)

    assert issue_accessions("SDY", 1) == ["SDY209"]
    assert issue_accessions("ESR", 1) == ["ESR10257"]  # after SDY208's reagents
    program = Program.objects.create(workspace=workspace, category="NIH", name="New")
    assert program.pk > 19  # ImmPort's program 19 came with the package


# Broken bytes and random rows for the period table (accession, name, order, study, workspace).
_fields = st.text(alphabet="P0123456789 ~@\\N\t\r\nab", max_size=8)
_rows = st.lists(st.lists(_fields, min_size=3, max_size=6), max_size=5)
_mysql_text = _rows.map(lambda rows: "".join("~@~".join(r) + "~@@~\n" for r in rows).encode())


def read_period_file(content: bytes) -> PackageContents | PackageError:
    with tempfile.TemporaryDirectory() as root:
        folder = Path(root) / "SDY1-DR34_MySQL" / "MySQL"
        folder.mkdir(parents=True)
        (folder / "period.txt").write_bytes(content)
        with open_package(folder.parent) as package:
            try:
                return read_package(package)
            except PackageError as error:
                return error


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=st.binary(max_size=200) | _mysql_text)
def test_any_broken_file_gives_a_package_error_or_typed_rows(content):
    result = read_period_file(content)
    if isinstance(result, PackageError):
        assert result.problems
    elif "period" in result.frames:
        assert result.frames["period"]["order_number"].dtype.is_integer()
