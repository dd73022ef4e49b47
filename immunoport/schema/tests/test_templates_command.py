from io import StringIO

from django.core.management import call_command

from immunoport.schema.blanks import blank_txt, export_blanks, xlsx_name
from immunoport.schema.templates import templates
from immunoport.validation.validator import validate_package


def test_export_writes_every_template_as_txt_and_xlsx(tmp_path):
    out = StringIO()
    call_command("templates", "export", str(tmp_path / "blanks"), stdout=out)
    written = sorted(p.name for p in (tmp_path / "blanks").iterdir())
    assert len(written) == 132
    for template in templates().values():
        txt = tmp_path / "blanks" / template.file_name
        assert txt.read_bytes() == blank_txt(template)
        assert (tmp_path / "blanks" / xlsx_name(template)).stat().st_size
    lines = out.getvalue().splitlines()
    assert lines[-1] == f"132 files written to {tmp_path / 'blanks'}"
    assert str(tmp_path / "blanks" / "subjectHumans.xlsx") in lines


def test_exported_blanks_validate_with_only_no_data_rows(tmp_path):
    export_blanks(tmp_path)
    report = validate_package(tmp_path)
    assert len(report.files) == 132
    assert report.findings["rule"].to_list() == ["empty"] * 132
    assert report.errors == 0
