"""Golden tests of the validator: one valid package, then one broken copy per error class.

Each broken package is the valid one (packages/valid/) copied into tmp_path with one
or two cells or lines edited, and each test states the exact findings a data
provider should get: severity, rule, file, line, column and value, with a message
and a fix that name the column or the value. Tests marked xfail(strict=True) state
what the validator should do and does not yet; their reasons name the bug.
"""

import shutil
import stat
import zipfile
from pathlib import Path
from unittest.mock import ANY

import openpyxl
import polars as pl
import pytest

from immunoport.validation import checks, validator
from immunoport.validation.findings import UnusableInput
from immunoport.validation.validator import Report, validate_files, validate_package

PACKAGES = Path(__file__).resolve().parent / "packages"
VALID = PACKAGES / "valid"
BLANKS = PACKAGES / "immport-blanks"

E, W = "error", "warning"
PTL = "protocols.txt"
BSD = "basic_study_design.txt"
SUBJECTS = "subjectHumans.txt"
BIOSAMPLES = "bioSamples.txt"
ELISA = "experimentSamples.ELISA.txt"

# Header findings about columns name the header line (line 3 of a tabular template)
HEADER_LINE = 3

Row = tuple[str, str, str, int | None, str | None, str | None]


# --- helpers ----------------------------------------------------------------------


class Package:
    """A copy of the valid package to break, one edit at a time."""

    def __init__(self, root: Path):
        self.root = root
        shutil.copytree(VALID, root)

    def edit(self, name: str, old: str, new: str, *, count: int = 1) -> None:
        """Replace ``old`` (which must occur ``count`` times) by ``new`` in one file."""
        path = self.root / name
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == count, f"{old!r} occurs {text.count(old)} times in {name}"
        path.write_text(text.replace(old, new), encoding="utf-8")

    def write(self, name: str, content: str | bytes) -> None:
        path = self.root / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")

    def validate(self, **kwargs) -> Report:
        return validate_package(self.root, **kwargs)


@pytest.fixture
def package(tmp_path) -> Package:
    return Package(tmp_path / "package")


def rows(report: Report) -> list[Row]:
    return [
        (f["severity"], f["rule"], f["file"], f["line"], f["column"], f["value"])
        for f in report.findings.iter_rows(named=True)
    ]


def assert_findings(report: Report, *expected: Row, quoted: bool = True) -> None:
    """The report holds exactly ``expected``, in any order; every finding is explained."""
    actual = rows(report)
    unmatched = list(actual)
    missing = []
    for row in expected:
        if row in unmatched:
            unmatched.remove(row)  # == with ANY works from the expected side
        else:
            missing.append(row)
    assert (missing, unmatched) == ([], []), "expected findings missing, unexpected ones"
    assert_explained(report, quoted=quoted)


def assert_explained(report: Report, *, quoted: bool = True) -> None:
    """Every finding says what is wrong and how to fix it, naming where or what.

    The message or the fix names the finding's column or quotes its value (for a
    line 1 or 2 header problem it may name the line, for a version its number).
    """
    for finding in report.findings.iter_rows(named=True):
        message, fix = finding["message"], finding["fix"]
        assert (message or "").strip(), finding
        assert (fix or "").strip(), finding
        column, value, line = finding["column"], finding["value"], finding["line"]
        if not quoted or (column is None and value is None):
            continue
        names = [column, value, value and value.split()[-1]]
        if column == "A":
            names = ["column A", value]
        if finding["rule"] == "header" and line in (1, 2):
            names.append(f"line {line}")
        text = f"{message} {fix}"
        assert any(name and name in text for name in names), finding


def message_of(report: Report, rule: str) -> str:
    messages = report.findings.filter(report.findings["rule"] == rule)["message"].to_list()
    assert len(messages) == 1, messages
    return messages[0]


def zip_folder(folder: Path, archive: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        for file in sorted(folder.iterdir()):
            out.write(file, prefix + file.name)
    return archive


def tsv(*cells: str) -> str:
    return "\t".join(cells)


ELISA_COLUMNS = [
    "Expsample ID", "Biosample ID", "Experiment ID", "Reagent ID(s)", "Treatment ID(s)",
    "Expsample Name", "Expsample Description", "Additional Result File Names", "Study ID",
    "Protocol ID(s)", "Subject ID", "Planned Visit ID", "Type", "Subtype", "Biosample Name",
    "Biosample Description", "Study Time Collected", "Study Time Collected Unit",
    "Study Time T0 Event", "Study Time T0 Event Specify", "Experiment Name",
    "Experiment Description", "Measurement Technique", "Result Separator Column",
    "Analyte Reported", "Value Reported", "Unit Reported", "Comments",
    "Analyte Reported", "Value Reported", "Unit Reported", "Comments",
]  # fmt: skip


def elisa_row(values: dict[str, str]) -> str:
    """A data line of experimentSamples.ELISA.txt with one result, by column name."""
    unknown = set(values) - set(ELISA_COLUMNS)
    assert not unknown, f"not ELISA columns: {unknown}"
    cells = [values.get(name, "") if i < 28 else "" for i, name in enumerate(ELISA_COLUMNS)]
    return tsv("", *cells) + "\n"


# --- the valid package ------------------------------------------------------------


def test_the_valid_package_has_no_findings():
    report = validate_package(VALID)
    assert_findings(report)
    assert report.is_valid
    assert report.exit_code == 0
    assert {f.path: (f.template, f.rows) for f in report.files} == {
        BSD: (BSD, 10),
        BIOSAMPLES: (BIOSAMPLES, 3),
        ELISA: (ELISA, 3),
        PTL: (PTL, 1),
        "reagents.ELISA.txt": ("reagents.ELISA.txt", 1),
        SUBJECTS: (SUBJECTS, 2),
        "treatments.txt": ("treatments.txt", 1),
    }


@pytest.mark.parametrize("prefix", ["", "valid/"], ids=["flat", "in-a-folder"])
def test_the_valid_package_zipped_has_no_findings(tmp_path, prefix):
    report = validate_package(zip_folder(VALID, tmp_path / "valid.zip", prefix))
    assert_findings(report)
    assert len(report.files) == 7
    assert report.package == "valid.zip"


def test_the_valid_package_in_a_workspace_has_no_findings():
    assert_findings(validate_package(VALID, existing={"protocol": {"PTL123"}}))


def test_crlf_line_endings_and_a_byte_order_mark_change_nothing(package):
    for path in package.root.glob("*.txt"):
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    assert_findings(package.validate())


def test_cr_line_endings_are_read_or_named(package):
    """Read like LF, or refused with a message that names the line endings."""
    for path in package.root.glob("*.txt"):
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r"))
    messages = package.validate().findings["message"].str.to_lowercase().to_list()
    assert all("line ending" in m or "line break" in m for m in messages), messages


def workbook_from_text(text: str, path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = path.with_suffix(".txt").name
    for line in text.splitlines():
        sheet.append([cell or None for cell in line.split("\t")])
    book.save(path)


def test_a_workbook_reads_like_its_text_twin(package):
    subjects = package.root / SUBJECTS
    workbook_from_text(subjects.read_text(), package.root / "subjectHumans.xlsx")
    subjects.unlink()
    assert_findings(package.validate())

    text = (VALID / SUBJECTS).read_text().replace("\tFemale\t", "\tFemail\t")
    workbook_from_text(text, package.root / "subjectHumans.xlsx")
    assert_findings(
        package.validate(), (E, "vocabulary", "subjectHumans.xlsx", 4, "Gender", "Femail")
    )


# --- header -----------------------------------------------------------------------


def test_unknown_column(package):
    package.edit(PTL, "\tDescription\n", "\tDescriptoin\n")
    report = package.validate()
    assert_findings(
        report,
        (E, "header", PTL, HEADER_LINE, "Descriptoin", None),
        (E, "header", PTL, HEADER_LINE, "Description", None),
    )
    assert "'Descriptoin' is not a column of protocols.txt" in report.findings["message"]


def test_missing_column(package):
    package.edit(PTL, "\tType\tDescription\n", "\tType\n")
    package.edit(PTL, "\tVenous blood drawn into serum tubes", "")
    report = package.validate()
    assert_findings(report, (E, "header", PTL, HEADER_LINE, "Description", None))
    assert message_of(report, "header") == "the column 'Description' is missing from the header"


def test_duplicated_column(package):
    package.edit(PTL, "\tDescription\n", "\tDescription\tName\n")
    package.edit(PTL, "serum tubes\n", "serum tubes\tSerum collection\n")
    report = package.validate()
    assert_findings(report, (E, "header", PTL, HEADER_LINE, "Name", None))
    assert message_of(report, "header") == "the column 'Name' appears more than once"


def test_header_findings_name_the_header_line(package):
    package.edit(PTL, "\tDescription\n", "\tDescriptoin\tName\n")
    package.edit(PTL, "serum tubes\n", "serum tubes\tSerum collection\n")
    fcm = (BLANKS / "txt-templates" / "FCM_Derived_data.txt").read_text()
    package.write("FCM_Derived_data.txt", fcm.replace("\tComments\n", "\tComment\n"))
    assert_findings(
        package.validate(),
        (E, "header", PTL, 3, "Descriptoin", None),
        (E, "header", PTL, 3, "Description", None),
        (E, "header", PTL, 3, "Name", None),
        (E, "header", "FCM_Derived_data.txt", 4, "Comment", None),
        (E, "header", "FCM_Derived_data.txt", 4, "Comments", None),
        (W, "empty", "FCM_Derived_data.txt", None, None, None),
    )


def test_wrong_template_name_in_a1(package):
    package.edit(PTL, "protocols\tSchema Version", "protocol\tSchema Version")
    report = package.validate()
    assert rows(report) == [(E, "header", PTL, 1, ANY, "protocol")]
    assert rows(report)[0][4] in (None, "A")
    assert "'protocols'" in report.findings["message"][0] + report.findings["fix"][0]


def test_file_name_and_a1_disagree(package):
    """A1 names another template: the mismatch is the first finding."""
    package.edit(PTL, "protocols\tSchema Version", "treatments\tSchema Version")
    report = package.validate()
    assert (E, "header", PTL, 1, None, "treatments") in rows(report)
    message = report.findings.filter(report.findings["line"] == 1)["message"][0]
    assert message == (
        "the file is named like protocols.txt but cell A1 says 'treatments', "
        "the template treatments.txt"
    )


def test_file_name_and_a1_disagree_gives_one_finding(package):
    package.edit(PTL, "protocols\tSchema Version", "treatments\tSchema Version")
    assert_findings(package.validate(), (E, "header", PTL, 1, None, "treatments"))


def test_a_browser_suffix_breaks_the_file_name(package):
    (package.root / "treatments.txt").rename(package.root / "treatments (1).txt")
    report = package.validate()
    assert [(r[0], r[2]) for r in rows(report)] == [(E, "treatments (1).txt")]
    assert "treatments.txt" in report.findings["fix"][0]


def test_line_2_marker_missing(package):
    package.edit(PTL, "Please do not delete or edit this column\n", "")
    report = package.validate()
    assert_findings(report, (E, "header", PTL, 2, "A", "Column Name"))
    assert "Please do not delete or edit this column" in message_of(report, "header")


def test_older_schema_version_with_matching_columns_is_a_warning(package):
    package.edit(PTL, "Schema Version 3.36", "Schema Version 3.19")
    report = package.validate()
    assert_findings(report, (W, "header", PTL, 1, None, "Schema Version 3.19"))
    assert report.is_valid
    assert message_of(report, "header") == (
        "the file was made for schema 3.19; it was read as 3.36 because its columns match"
    )


def test_schema_version_with_different_columns_is_an_error(package):
    package.edit(PTL, "Schema Version 3.36", "Schema Version 3.19")
    package.edit(PTL, "\tType\tDescription\n", "\tType\n")
    package.edit(PTL, "\tVenous blood drawn into serum tubes", "")
    report = package.validate()
    assert_findings(
        report,
        (E, "header", PTL, 1, None, "Schema Version 3.19"),
        (E, "header", PTL, HEADER_LINE, "Description", None),
    )
    assert "columns differ from 3.36" in report.findings["message"].str.join(" ")[0]


def test_column_a_not_empty_means_shifted_values(package):
    """A row pasted one cell to the left: every value sits under the wrong column."""
    package.edit(PTL, "\n\tprot_serum\t", "\nprot_serum\t")
    assert_findings(
        package.validate(),
        (E, "header", PTL, 4, "A", "prot_serum"),
        # what the shifted cells then say, each true under its header
        (E, "file", PTL, 4, "File Name", "Serum collection"),
        (E, "vocabulary", PTL, 4, "Type", "Venous blood drawn into serum tubes"),
        (E, "reference", BSD, 48, "Protocol ID", "prot_serum"),
        (E, "reference", ELISA, 4, "Protocol ID(s)", "prot_serum"),
    )


def test_a_value_in_column_a(package):
    package.edit(PTL, "\n\tprot_serum", "\nx\tprot_serum")
    assert_findings(package.validate(), (E, "header", PTL, 4, "A", "x"))


def test_extra_cells_right_of_the_header(package):
    package.edit(PTL, "serum tubes\n", "serum tubes\textra\n")
    report = package.validate()
    assert_findings(report, (E, "header", PTL, 4, None, "extra"))
    assert message_of(report, "header") == (
        "the row has 6 cells after column A but the header names 5; "
        "the first stray cell holds 'extra'"
    )


def test_extra_cells_finding_quotes_the_stray_value(package):
    package.edit(PTL, "serum tubes\n", "serum tubes\textra\n")
    report = package.validate()
    finding = report.findings.row(0, named=True)
    assert "extra" in (finding["value"] or "") + finding["message"]


def test_extra_cells_in_a_tabular_section(package):
    package.edit(BSD, "\tPlacebo Comparator Arm\n", "\tPlacebo Comparator Arm\tstray\n")
    assert_findings(package.validate(), (E, "header", BSD, 32, ANY, ANY))


def test_a_required_section_missing(package):
    package.edit(
        BSD,
        "inclusion_exclusion\nUser Defined ID\tCriterion\tCriterion Category\n"
        "crit_1\tHealthy adult aged 18 to 65\tInclusion\n\n",
        "",
    )
    report = package.validate()
    assert_findings(report, (E, "header", BSD, None, None, "inclusion_exclusion"))


def test_an_unknown_field_in_a_vertical_section(package):
    package.edit(BSD, "Brief Title\t", "Brief Titel\t")
    report = package.validate()
    assert_findings(
        report,
        (E, "header", BSD, 8, "Brief Titel", None),
        # the real field is then missing; it is reported on the section's first line
        (E, "required", BSD, 7, "Brief Title", None),
    )


def test_two_values_on_a_single_value_line(package):
    package.edit(BSD, "Brief Title\tAntibody", "Brief Title\tFlu study\tAntibody")
    report = package.validate()
    assert_findings(
        report,
        (E, "list", BSD, 8, "Brief Title", "Antibody response to seasonal influenza vaccine"),
    )


# --- required ---------------------------------------------------------------------


@pytest.mark.parametrize("blank", ["", "   "], ids=["empty", "spaces"])
def test_empty_required_cell(package, blank):
    package.edit(PTL, "\tSerum collection\t", f"\t{blank}\t")
    report = package.validate()
    assert_findings(report, (E, "required", PTL, 4, "Name", None))
    assert message_of(report, "required") == "'Name' is required and this row leaves it empty"


def test_empty_required_field_in_a_vertical_section(package):
    package.edit(
        BSD, "Brief Title\tAntibody response to seasonal influenza vaccine", "Brief Title\t"
    )
    assert_findings(package.validate(), (E, "required", BSD, 8, "Brief Title", None))


def test_empty_required_cell_in_a_result_group(package):
    package.edit(ELISA, "\tTNFA\t3.1\t", "\tTNFA\t\t")
    assert_findings(package.validate(), (E, "required", ELISA, 4, "Value Reported", None))


# --- conditional-required ---------------------------------------------------------

# an expsample row of the ELISA template using the package's experiment and reagent
EXPSAMPLE = {
    "Experiment ID": "exp_elisa",
    "Reagent ID(s)": "rea_il6",
    "Treatment ID(s)": "trt_none",
    "Analyte Reported": "IL6",
    "Value Reported": "7.5",
    "Unit Reported": "pg/ml",
}
# the columns that describe a biosample defined inline, all but its Type
NEW_BIOSAMPLE = {
    "Study ID": "flu_vax_2021",
    "Subject ID": "sub_2",
    "Planned Visit ID": "pv_d28",
    "Study Time Collected": "28",
    "Study Time Collected Unit": "Days",
    "Study Time T0 Event": "Time of initial vaccine administration",
}


def add_elisa_rows(package: Package, *rows: dict[str, str]) -> None:
    path = package.root / ELISA
    path.write_text(path.read_text() + "".join(elisa_row(EXPSAMPLE | row) for row in rows))


def test_a_biosample_defined_inline_without_its_type(package):
    add_elisa_rows(
        package,
        # line 7 defines bs_new, without its Type
        {"Expsample ID": "es_3", "Biosample ID": "bs_new", **NEW_BIOSAMPLE},
        # line 8 uses bs_new again: nothing more to say about it
        {"Expsample ID": "es_4", "Biosample ID": "bs_new"},
    )
    report = package.validate()
    assert_findings(report, (E, "conditional-required", ELISA, 7, "Type", None))
    assert message_of(report, "conditional-required") == (
        "'Type' is required on this row because 'Biosample ID' names a new biosample"
    )


def test_a_biosample_defined_inline_with_its_type_is_valid(package):
    add_elisa_rows(
        package,
        {"Expsample ID": "es_3", "Biosample ID": "bs_new", **NEW_BIOSAMPLE, "Type": "Serum"},
        {"Expsample ID": "es_4", "Biosample ID": "bs_new"},
    )
    assert_findings(package.validate())


def test_a_biosample_of_the_workspace_needs_no_inline_definition(package):
    add_elisa_rows(package, {"Expsample ID": "es_3", "Biosample ID": "bs_9"})
    assert_findings(package.validate(existing={"biosample": {"BS_9"}}))
    # offline, bs_9 is a new biosample whose description is missing
    offline = package.validate()
    assert {(r[1], r[3]) for r in rows(offline)} == {("conditional-required", 7)}
    assert {r[4] for r in rows(offline)} == {"Type", *NEW_BIOSAMPLE}


def test_race_specify_when_race_is_other(package):
    package.edit(SUBJECTS, "\tWhite\t", "\tOther\t")
    report = package.validate()
    assert_findings(report, (E, "conditional-required", SUBJECTS, 4, "Race Specify", None))
    assert message_of(report, "conditional-required").startswith(
        "'Race Specify' is required on this row because 'Subject ID' names a new subject and "
        "'Race' is "
    )


# --- type -------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["nine", "9,75", "9.75 pg/ml"])
def test_not_a_number_in_value_reported(package, value):
    package.edit(ELISA, "\t9.75\t", f"\t{value}\t")
    report = package.validate()
    assert_findings(report, (E, "type", ELISA, 6, "Value Reported", value))
    assert message_of(report, "type") == f"'{value}' is not a number"


def test_negative_order_number(package):
    package.edit(BSD, "\tDay 28\t2\t", "\tDay 28\t-2\t")
    report = package.validate()
    assert_findings(report, (E, "range", BSD, 41, "Order Number", "-2"))
    assert "'Order Number'" in report.findings["fix"][0]


@pytest.mark.parametrize("value", ["2021-03-01", "03/01/2021", "1 March 2021"])
def test_bad_actual_start_date(package, value):
    package.edit(BSD, "01-Mar-2021", value)
    report = package.validate()
    assert_findings(report, (E, "type", BSD, 16, "Actual Start Date", value))
    assert "06-Feb-2005" in report.findings["fix"][0]


# --- length -----------------------------------------------------------------------


def test_over_max_length(package):
    package.edit(PTL, "\tSerum collection\t", "\t" + "x" * 251 + "\t")
    report = package.validate()
    assert_findings(report, (E, "length", PTL, 4, "Name", "x" * 251))
    assert message_of(report, "length") == "the value has 251 characters; 'Name' holds at most 250"


def test_at_max_length(package):
    package.edit(PTL, "\tSerum collection\t", "\t" + "x" * 250 + "\t")
    assert_findings(package.validate())


# --- vocabulary -------------------------------------------------------------------


def test_misspelled_controlled_term(package):
    package.edit(SUBJECTS, "\tFemale\t", "\tFemal\t")
    report = package.validate()
    assert_findings(report, (E, "vocabulary", SUBJECTS, 4, "Gender", "Femal"))
    assert message_of(report, "vocabulary") == (
        "'Femal' is not a term of lk_gender; did you mean 'Female' or 'Male'?"
    )


def test_misspelled_controlled_term_in_a_vertical_section(package):
    package.edit(BSD, "Research Focus\tVaccine Response", "Research Focus\tVacine Response")
    report = package.validate()
    assert_findings(report, (E, "vocabulary", BSD, 24, "Research Focus", "Vacine Response"))
    assert "did you mean 'Vaccine Response'" in message_of(report, "vocabulary")


def test_controlled_terms_match_in_any_letter_case(package):
    package.edit(SUBJECTS, "\tFemale\t", "\tfEMALE\t")
    package.edit(PTL, "Bio Sample Preparation", "bio sample preparation")
    package.edit(BSD, "Age Unit\tYears", "Age Unit\tYEARS")
    assert_findings(package.validate())


def test_free_text_in_a_preferred_vocabulary_is_kept_with_a_warning(package):
    package.edit(SUBJECTS, "\tvaccination\t", "\tjabbed\t")
    report = package.validate()
    assert_findings(
        report, (W, "preferred-vocabulary", SUBJECTS, 4, "Exposure Process Reported", "jabbed")
    )
    assert report.is_valid
    assert "kept as reported" in message_of(report, "preferred-vocabulary")


# --- references -------------------------------------------------------------------


def test_a_subject_nothing_defines(package):
    package.edit(BIOSAMPLES, "\tsub_2\t", "\tsub_3\t")
    report = package.validate()
    assert_findings(report, (E, "reference", BIOSAMPLES, 6, "Subject ID", "sub_3"))
    assert message_of(report, "reference") == "'sub_3' names no subject defined in this package"


def test_a_subject_of_the_workspace(package):
    package.edit(BIOSAMPLES, "\tsub_2\t", "\tsub_3\t")
    assert_findings(package.validate(existing={"subject": {"SUB_3"}}))


def test_subject_accessions_offline_and_in_a_workspace(package):
    package.edit(BIOSAMPLES, "\tsub_2\t", "\tSUB123\t")
    # offline, an accession can only be checked for its shape
    assert_findings(package.validate())
    assert_findings(package.validate(existing={"subject": {"SUB123"}}))
    report = package.validate(existing={"subject": {"SUB124"}})
    assert_findings(report, (E, "reference", BIOSAMPLES, 6, "Subject ID", "SUB123"))
    assert "in this package or the workspace" in message_of(report, "reference")


def test_an_arm_nothing_defines(package):
    package.edit(SUBJECTS, "\tarm_placebo\t", "\tarm_placbo\t")
    assert_findings(
        package.validate(), (E, "reference", SUBJECTS, 5, "Arm Or Cohort ID", "arm_placbo")
    )


# --- duplicate IDs ----------------------------------------------------------------


def test_the_same_id_twice_in_protocols(package):
    package.edit(
        PTL,
        "serum tubes\n",
        "serum tubes\n"
        + tsv("", "PROT_SERUM", "serum_protocol.pdf", "Serum again", "Other")
        + "\n",
    )
    report = package.validate()
    assert_findings(report, (E, "duplicate-id", PTL, 5, "User Defined ID", "PROT_SERUM"))
    assert message_of(report, "duplicate-id") == "the ID 'PROT_SERUM' was already used on line 4"


def test_the_same_id_twice_in_a_tabular_section(package):
    package.edit(
        BSD,
        "crit_1\tHealthy adult aged 18 to 65\tInclusion\n",
        "crit_1\tHealthy adult aged 18 to 65\tInclusion\n"
        "CRIT_1\tNo influenza vaccine this season\tExclusion\n",
    )
    report = package.validate()
    assert_findings(report, (E, "duplicate-id", BSD, 46, "User Defined ID", "CRIT_1"))
    assert message_of(report, "duplicate-id") == "the ID 'CRIT_1' was already used on line 45"


# --- files named by templates -----------------------------------------------------


def test_a_protocol_file_not_in_the_package(package):
    package.edit(PTL, "serum_protocol.pdf", "serum-protocol.pdf")
    report = package.validate()
    assert_findings(report, (E, "file", PTL, 4, "File Name", "serum-protocol.pdf"))
    assert message_of(report, "file") == (
        "the file 'serum-protocol.pdf' named here is not in the package"
    )


def test_a_protocol_file_missing_from_a_zip(package, tmp_path):
    (package.root / "serum_protocol.pdf").unlink()
    report = validate_package(zip_folder(package.root, tmp_path / "package.zip"))
    assert_findings(report, (E, "file", PTL, 4, "File Name", "serum_protocol.pdf"))


# --- privacy ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "drawn on 12/03/2021",
        "drawn on 2021-03-12",
        "drawn on 12 March 2021",
        "ask jane.doe@example.org",
        "call 555-123-4567",
        "call +1 555 123 4567",
    ],
)
def test_personal_details_in_a_description(package, text):
    package.edit(PTL, "serum tubes", f"serum tubes, {text}")
    report = package.validate()
    assert_findings(
        report,
        (W, "privacy", PTL, 4, "Description", f"Venous blood drawn into serum tubes, {text}"),
    )
    assert report.is_valid


def test_a_relative_day_is_no_calendar_date(package):
    package.edit(PTL, "serum tubes", "serum tubes on day 28 (visit 2 of 3), 10 ml")
    assert_findings(package.validate())


@pytest.mark.parametrize(
    "found", ["12/03/2021", "jane.doe@example.org", "555-123-4567"], ids=["date", "email", "phone"]
)
def test_privacy_findings_quote_what_matched(package, found):
    package.edit(PTL, "serum tubes", f"serum tubes, {found}")
    assert found in message_of(package.validate(), "privacy")


def test_an_age_of_95_years(package):
    package.edit(SUBJECTS, "\t34\t34\t", "\t95\t95\t")
    report = package.validate()
    assert_findings(
        report,
        (W, "privacy", SUBJECTS, 4, "Min Subject Age", "95"),
        (W, "privacy", SUBJECTS, 4, "Max Subject Age", "95"),
    )
    assert "95 years" in report.findings["message"][0]


def test_an_age_of_95_months_is_no_concern(package):
    package.edit(SUBJECTS, "\t34\t34\tYears\t", "\t95\t95\tMonths\t")
    assert_findings(package.validate())


# --- accessions of public repositories ----------------------------------------------

PUBLIC_REPOSITORIES = (
    "public_repositories\tSchema Version 3.36\n"
    "Please do not delete or edit this column\n"
    "Column Name\tExpsample ID\tRepository Name\tRepository Accession\n"
    "\tes_1_d0\tGEO\t{first}\n"
    "\tes_1_d28\tgeo\tGSM1234567\n"
)


def test_a_malformed_geo_accession(package):
    package.write("publicRepositories.txt", PUBLIC_REPOSITORIES.format(first="GSE-12345"))
    report = package.validate()
    assert_findings(
        report,
        (
            E,
            "repository-accession",
            "publicRepositories.txt",
            4,
            "Repository Accession",
            "GSE-12345",
        ),
    )
    assert message_of(report, "repository-accession") == (
        "'GSE-12345' is not shaped like a GEO accession"
    )


def test_a_well_formed_geo_accession(package):
    package.write("publicRepositories.txt", PUBLIC_REPOSITORIES.format(first="GSE12345"))
    assert_findings(package.validate())


# --- encoding ---------------------------------------------------------------------


def test_a_latin_1_file(package):
    text = (VALID / PTL).read_text().replace("Venous blood drawn", "Sang veineux prélevé")
    package.write(PTL, text.encode("latin-1"))
    report = package.validate()
    assert_findings(report, (W, "encoding", PTL, 4, None, None))
    assert "Latin-1" in message_of(report, "encoding")
    assert "UTF-8" in report.findings["fix"][0]


# --- lists ------------------------------------------------------------------------


def test_each_item_of_a_list_is_checked(package):
    package.edit(
        ELISA, "\tes_2_d0\tbs_2_d0\texp_elisa\trea_il6\ttrt_none\t\t\t\t",
        "\tes_2_d0\tbs_2_d0\texp_elisa\trea_il6; rea_tnf ;;\ttrt_none;trt_nope\t\t\t"
        "serum_protocol.pdf; missing.csv\t",
    )  # fmt: skip
    report = package.validate()
    assert_findings(
        report,
        (E, "reference", ELISA, 6, "Reagent ID(s)", "rea_tnf"),
        (E, "reference", ELISA, 6, "Treatment ID(s)", "trt_nope"),
        (E, "file", ELISA, 6, "Additional Result File Names", "missing.csv"),
    )


# --- empty templates --------------------------------------------------------------


def test_a_template_without_data_rows(package):
    blank = BLANKS / "txt-templates" / "adverseEvents.txt"
    package.write("adverseEvents.txt", blank.read_bytes())
    report = package.validate()
    assert_findings(report, (W, "empty", "adverseEvents.txt", None, None, None))
    assert message_of(report, "empty") == "the template has no data rows"


# --- inputs that cannot be read ---------------------------------------------------


def test_a_missing_path(tmp_path):
    with pytest.raises(UnusableInput, match="no such file or folder"):
        validate_package(tmp_path / "missing")


def test_a_garbage_zip(tmp_path):
    garbage = tmp_path / "package.zip"
    garbage.write_bytes(b"PK\x03\x04 this is no zip archive")
    with pytest.raises(UnusableInput, match=r"package\.zip: not a readable zip archive"):
        validate_package(garbage)


@pytest.mark.parametrize("member", ["../protocols.txt", "/etc/protocols.txt", "C:/protocols.txt"])
def test_a_zip_with_a_path_escaping_it(tmp_path, member):
    archive = tmp_path / "package.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("protocols.txt", (VALID / PTL).read_bytes())
        out.writestr(member, (VALID / PTL).read_bytes())
    with pytest.raises(UnusableInput, match="points outside it"):
        validate_package(archive)


def test_a_zip_with_a_symbolic_link(tmp_path):
    archive = tmp_path / "package.zip"
    link = zipfile.ZipInfo("protocols.txt")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr(link, "/etc/passwd")
    with pytest.raises(UnusableInput, match="points outside it"):
        validate_package(archive)


def test_a_zip_bomb(tmp_path):
    archive = tmp_path / "package.zip"
    header = (VALID / PTL).read_bytes()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("protocols.txt", header + b"\t" * (8 << 20))  # 8 MiB -> ~8 KiB
    with pytest.raises(UnusableInput) as refused:
        validate_package(archive)
    assert str(refused.value) == (
        "package.zip: protocols.txt expands more than 200 times; refused as a possible ZIP bomb"
    )


def test_a_zip_over_the_unpacked_size_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(validator, "MAX_UNPACKED_BYTES", 4096)
    archive = zip_folder(VALID, tmp_path / "package.zip")
    with pytest.raises(UnusableInput, match=r"package\.zip: unpacks to more than 4,096 bytes"):
        validate_package(archive)


# --- files that are no templates: one "file" finding each, never a traceback --------

HEADER = (VALID / PTL).read_bytes()
LINE_3 = HEADER.index(b"Column Name")


def workbook_bytes(tmp_path: Path) -> bytes:
    path = tmp_path / "book.xlsx"
    openpyxl.Workbook().save(path)
    return path.read_bytes()


@pytest.mark.parametrize(
    ("name", "content", "line", "says"),
    [
        ("protocols.txt", b"\x00\x01\x02\x03" * 64, None, "binary"),
        ("protocols.txt", HEADER.decode().encode("utf-16"), None, "UTF-16"),
        ("protocols.txt", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, None, "binary"),
        ("protocols.txt", "workbook", None, "is an Excel workbook"),
        ("protocols.xlsx", HEADER, None, "not an Excel workbook"),
        ("protocols.txt", b"", None, "empty"),
        ("protocols.txt", HEADER[:20], None, "cut short"),  # cut in line 1
        ("protocols.txt", HEADER[: LINE_3 - 10], None, "cut short"),  # cut in line 2
    ],
    ids=[
        "nul-bytes",
        "utf-16",
        "png",
        "workbook-named-txt",
        "text-named-xlsx",
        "empty",
        "cut-in-line-1",
        "cut-in-line-2",
    ],
)
def test_a_file_that_is_no_template(tmp_path, name, content, line, says):
    if content == "workbook":
        content = workbook_bytes(tmp_path)
    path = tmp_path / name
    path.write_bytes(content)
    report = validate_package(path)
    assert_findings(report, (E, "file", name, line, None, None))
    assert says in message_of(report, "file")
    assert report.exit_code == 1


@pytest.mark.parametrize(
    ("name", "cut"),
    [(PTL, LINE_3 + 35), (BSD, (VALID / BSD).read_bytes().index(b"\n")), (BSD, 60)],
    ids=["tabular-cut-in-the-header-line", "compound-cut-after-line-1", "compound-cut-in-line-2"],
)
def test_a_file_cut_in_its_header_gives_one_finding(tmp_path, name, cut):
    path = tmp_path / name
    path.write_bytes((VALID / name).read_bytes()[:cut])
    report = validate_package(path)
    assert [r[:3] for r in rows(report)] == [(E, "file", name)]


def test_validate_files_reports_a_broken_file_beside_good_ones():
    files = {p.name: p.read_bytes() for p in VALID.glob("*.txt")}
    files[PTL] = b"\x00" * 100
    report = validate_files("upload", files, [*files, "serum_protocol.pdf"])
    # the protocol can no longer be found: its users say so, on their lines
    assert_findings(
        report,
        (E, "file", PTL, None, None, None),
        (E, "reference", BSD, 48, "Protocol ID", "prot_serum"),
        (E, "reference", ELISA, 4, "Protocol ID(s)", "prot_serum"),
    )


def test_a_result_template_without_its_separator_column(package):
    text = (VALID / ELISA).read_text()
    lines = [line.split("\t") for line in text.splitlines()]
    at = lines[2].index("Result Separator Column")
    package.write(ELISA, "\n".join("\t".join(c[:at] + c[at + 1 :]) for c in lines) + "\n")
    report = package.validate()
    assert (E, "header", ELISA, HEADER_LINE, "Result Separator Column", None) in rows(report)


# --- ImmPort's blank templates ------------------------------------------------------

BLANK_FILES = sorted(
    (p.relative_to(BLANKS).as_posix() for p in BLANKS.glob("*-templates/*")),
)


def test_all_66_blanks_of_both_kinds_are_fixtures():
    assert len(BLANK_FILES) == 132
    assert {Path(p).suffix for p in BLANK_FILES} == {".txt", ".xlsx"}


@pytest.mark.parametrize("name", BLANK_FILES)
def test_a_blank_template_is_valid_but_empty(name):
    report = validate_package(BLANKS / name)
    file_name = Path(name).name
    assert_findings(report, (W, "empty", file_name, None, None, None))
    assert [f.template for f in report.files] == [Path(name).with_suffix(".txt").name]


def test_the_blank_text_templates_as_one_package():
    report = validate_package(BLANKS / "txt-templates")
    assert len(report.files) == 66
    assert rows(report) == [
        (W, "empty", name, None, None, None)
        for name in sorted(p.name for p in (BLANKS / "txt-templates").iterdir())
    ]


@pytest.mark.parametrize("text", ["nan", "inf", "-Infinity"])
def test_nan_and_infinity_are_no_numbers(package, text):
    package.edit(ELISA, "\t20.0\t", f"\t{text}\t")
    assert_findings(package.validate(), (E, "type", ELISA, 5, "Value Reported", text))


def test_only_the_most_frequent_wrong_terms_get_suggestions(package, monkeypatch):
    monkeypatch.setattr(checks, "_MAX_SUGGESTED", 1)
    text = (VALID / PTL).read_text()
    row = text.splitlines()[3]
    wrong = ["Assy", "Assy", "Clinicl"]
    extra = [row.replace("prot_serum", f"p{n}").replace("Bio Sample Preparation", t)
             for n, t in enumerate(wrong)]  # fmt: skip
    package.write(PTL, text + "\n".join(extra) + "\n")
    messages = package.validate().findings.filter(pl.col("rule") == "vocabulary")["message"]
    assert messages.to_list() == [
        "'Assy' is not a term of lk_protocol_type; did you mean 'Assay'?",
        "'Assy' is not a term of lk_protocol_type; did you mean 'Assay'?",
        "'Clinicl' is not a term of lk_protocol_type",
    ]
