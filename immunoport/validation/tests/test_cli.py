"""`immunoport validate` as a data provider runs it: a real process and its exit status."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from immunoport.validation.render import as_html, as_text, report_schema
from immunoport.validation.validator import validate_package

VALID = Path(__file__).resolve().parent / "packages" / "valid"


def validate(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-m", "immunoport.cli", "validate", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.fixture
def broken_package(tmp_path) -> Path:
    package = tmp_path / "broken"
    shutil.copytree(VALID, package)
    subjects = package / "subjectHumans.txt"
    text = (
        subjects.read_text()
        .replace("\tFemale\t", "\tFemail\t")
        .replace("\t34\t34\t", "\tthirty\t34\t")
    )
    subjects.write_text(text)
    return package


def test_a_valid_package_exits_0_with_a_one_line_verdict():
    result = validate(str(VALID))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("valid: valid — 0 errors, 0 warnings in 7 files (21 rows)")


def test_errors_exit_1_and_say_where_and_how_to_fix(broken_package):
    result = validate(str(broken_package))
    assert result.returncode == 1
    assert "subjectHumans.txt (subjectHumans.txt, 2 rows)" in result.stdout
    assert (
        "line 4, column 'Gender': 'Femail' is not a term of lk_gender; "
        "did you mean 'Female' or 'Male'?" in result.stdout
    )
    assert "line 4, column 'Min Subject Age': 'thirty' is not a number" in result.stdout
    assert result.stdout.count("fix: ") == 2


def test_unusable_input_exits_2(tmp_path):
    result = validate(str(tmp_path / "missing"))
    assert result.returncode == 2
    assert "no such file or folder" in result.stderr
    garbage = tmp_path / "package.zip"
    garbage.write_bytes(b"PK\x03\x04 not a zip")
    result = validate(str(garbage))
    assert result.returncode == 2
    assert "not a readable zip archive" in result.stderr
    assert "Traceback" not in result.stderr


def test_json_report_follows_the_published_schema(broken_package, tmp_path):
    output = tmp_path / "report.json"
    result = validate(str(broken_package), "--format", "json", "--output", str(output))
    assert result.returncode == 1
    report = json.loads(output.read_text())
    jsonschema.validate(report, report_schema())
    assert report["summary"] == {"files": 7, "rows": 21, "errors": 2, "warnings": 0}
    assert {(f["line"], f["column"], f["value"], f["rule"]) for f in report["findings"]} == {
        (4, "Gender", "Femail", "vocabulary"),
        (4, "Min Subject Age", "thirty", "type"),
    }


def test_html_report_escapes_values(broken_package):
    subjects = broken_package / "subjectHumans.txt"
    subjects.write_text(subjects.read_text().replace("Femail", "<b>Femail</b>"))
    page = as_html(validate_package(broken_package))
    assert "&lt;b&gt;Femail&lt;/b&gt;" in page
    assert "<b>Femail</b>" not in page


def test_text_report_counts_what_it_does_not_show(tmp_path):
    package = tmp_path / "many"
    shutil.copytree(VALID, package)
    protocols = package / "protocols.txt"
    lines = protocols.read_text().splitlines()
    row = lines[3]
    extra = [row.replace("prot_serum", f"prot_{n}").replace("Bio Sample Preparation", "Nonsense")
             for n in range(30)]  # fmt: skip
    protocols.write_text("\n".join([*lines, *extra]) + "\n")
    text = as_text(validate_package(package))
    assert text.count("is not a term of lk_protocol_type") == 20
    assert "… and 10 more 'vocabulary' findings in this file" in text
