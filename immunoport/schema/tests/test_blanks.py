"""Blank templates against ImmPort's own blanks, and read back by our parser."""

from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils import range_boundaries

from immunoport.schema.blanks import DROPDOWN_ROWS, blank_txt, blank_xlsx
from immunoport.schema.reference import lookup_index, read_lookup_file
from immunoport.schema.templates import readable_condition, templates
from immunoport.validation.parser import parse_file

# ImmPort's 66 blanks as its generator wrote them (schema 3.36), copied unchanged
GOLDEN = Path(__file__).parent / "golden" / "txt-templates"
FILE_NAMES = list(templates())


def workbook(file_name: str):
    return load_workbook(BytesIO(blank_xlsx(templates()[file_name])))


def lookup_file_terms(name: str) -> list[str]:
    entry = next(entry for entry in lookup_index() if entry["table"] == name)
    frame = read_lookup_file(entry["file"])
    return frame[frame.columns[0]].to_list()


def validation_for(sheet, cell: str):
    return next(dv for dv in sheet.data_validations.dataValidation if cell in dv.sqref)


def range_values(book, formula: str) -> list[str]:
    sheet_name, cells = formula.split("!")
    min_col, min_row, max_col, max_row = range_boundaries(cells.replace("$", ""))
    assert min_col == max_col
    sheet = book[sheet_name]
    return [sheet.cell(row, min_col).value for row in range(min_row, max_row + 1)]


def test_the_golden_folder_holds_every_template():
    assert sorted(p.name for p in GOLDEN.iterdir()) == sorted(FILE_NAMES)
    assert len(FILE_NAMES) == 66


@pytest.mark.parametrize("file_name", FILE_NAMES)
def test_the_blank_txt_is_immports_blank_byte_for_byte(file_name):
    assert blank_txt(templates()[file_name]) == (GOLDEN / file_name).read_bytes()


@pytest.mark.parametrize("file_name", FILE_NAMES)
def test_both_blanks_parse_back_with_no_findings_and_no_rows(file_name):
    template = templates()[file_name]
    for path, content in (
        (file_name, blank_txt(template)),
        (file_name.removesuffix(".txt") + ".xlsx", blank_xlsx(template)),
    ):
        parsed = parse_file(path, content)
        assert parsed.template is template
        assert parsed.findings == []
        assert parsed.row_count == 0


def test_the_workbook_has_the_grid_a_frozen_header_and_a_lookup_sheet():
    book = workbook("subjectHumans.txt")
    assert book.sheetnames == ["subjectHumans.txt", "lookup"]
    assert all(sheet.sheet_state == "visible" for sheet in book.worksheets)
    sheet = book.worksheets[0]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(max_row=3)]
    assert rows[0][:2] == ["subjecthumans", "Schema Version 3.36"]
    assert rows[1][0] == "Please do not delete or edit this column"
    assert rows[2] == ["Column Name", *templates()["subjectHumans.txt"].header]
    assert sheet.freeze_panes == "A4"


def test_gender_offers_exactly_the_lk_gender_terms_from_the_lookup_sheet():
    book = workbook("subjectHumans.txt")
    sheet = book.worksheets[0]
    header = [cell.value for cell in sheet[3]]
    letter = sheet.cell(3, header.index("Gender") + 1).column_letter
    validation = validation_for(sheet, f"{letter}4")
    assert f"{letter}4:{letter}{3 + DROPDOWN_ROWS}" in {str(r) for r in validation.sqref.ranges}
    assert DROPDOWN_ROWS == 198  # rows 4 to 201, as in ImmPort's workbooks
    assert validation.type == "list"
    assert validation.errorStyle == "stop"
    assert validation.formula1.startswith("lookup!")
    assert range_values(book, validation.formula1) == lookup_file_terms("lk_gender")


def test_a_preferred_vocabulary_informs_instead_of_refusing():
    sheet = workbook("subjectHumans.txt").worksheets[0]
    header = [cell.value for cell in sheet[3]]
    letter = sheet.cell(3, header.index("Exposure Process Reported") + 1).column_letter
    assert validation_for(sheet, f"{letter}4").errorStyle == "information"


def test_a_large_lookup_is_a_range_on_the_lookup_sheet_never_an_inline_list():
    book = workbook("experimentSamples.ELISA.txt")
    sheet = book.worksheets[0]
    header = [cell.value for cell in sheet[3]]
    letter = sheet.cell(3, header.index("Analyte Reported") + 1).column_letter
    validation = validation_for(sheet, f"{letter}4")
    assert range_values(book, validation.formula1) == lookup_file_terms("lk_analyte")
    assert len(lookup_file_terms("lk_analyte")) > 900


@pytest.mark.parametrize("file_name", FILE_NAMES)
def test_every_workbook_names_its_sheet_notes_its_headers_and_refers_to_ranges(file_name):
    template = templates()[file_name]
    book = workbook(file_name)
    sheet = book.worksheets[0]
    # Excel allows 31 characters in a sheet name; ImmPort's workbooks cut the same way
    assert sheet.title == file_name[:31]
    assert book.sheetnames[1] == "lookup"
    noted = [cell for row in sheet.iter_rows() for cell in row if cell.comment]
    assert len(noted) == len(template.all_columns)
    assert all(cell.comment.text for cell in noted)
    vocabulary_columns = [c for c in template.all_columns if c.vocabulary]
    validations = sheet.data_validations.dataValidation
    assert sum(len(dv.sqref.ranges) for dv in validations) == len(vocabulary_columns)
    for validation in validations:
        assert validation.formula1.startswith("lookup!$")
        assert len(validation.formula1) < 255


def test_header_notes_say_what_the_column_holds():
    sheet = workbook("subjectHumans.txt").worksheets[0]
    notes = {cell.value: cell.comment.text for cell in sheet[3][1:]}
    assert notes["Gender"].splitlines() == [
        "Required when 'Subject ID' names a new subject.",
        "Text of at most 20 characters.",
        "Only terms of the lookup lk_gender are accepted (any letter case); "
        "pick one from the drop-down list.",
        "Loaded into subject.gender.",
    ]
    assert "Refers to a record of arm_or_cohort" in notes["Arm Or Cohort ID"]
    assert notes["Result Separator Column"].startswith("Leave empty.")


def test_compound_workbooks_put_drop_downs_beside_their_fields():
    book = workbook("basic_study_design.txt")
    sheet = book.worksheets[0]
    labels = [row[0].value for row in sheet.iter_rows()]
    row = labels.index("Research Focus") + 1
    assert sheet.cell(row, 1).comment is not None
    validation = validation_for(sheet, f"B{row}")
    assert range_values(book, validation.formula1) == lookup_file_terms("lk_research_focus")
    assert sheet.freeze_panes == "A4"


def test_conditions_read_with_template_column_names():
    elisa = templates()["experimentSamples.ELISA.txt"]
    assert readable_condition(elisa, elisa.column("Subtype")) == (
        "'Biosample ID' names a new biosample and 'Type' is 'other'"
    )
    assert readable_condition(elisa, elisa.column("Study ID")) == (
        "('Biosample ID' names a new biosample or 'Experiment ID' names a new experiment)"
    )
    assert readable_condition(elisa, elisa.column("Expsample ID")) is None
