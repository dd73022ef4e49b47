"""Property-based tests: the parser and the validator fed broken input.

Whatever bytes arrive, ``validate_files`` answers with a report and ``parse_file``
either parses or raises FileProblem; every finding names its file, says what is
wrong and how to fix it, and points at a line the file has.
"""

from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from immunoport.schema.templates import COLUMN_NAME, MARKER_TEXT, SEPARATOR_COLUMN, templates
from immunoport.validation.parser import LINE, FileProblem, TemplateFile, parse_file
from immunoport.validation.validator import Report, validate_files

PACKAGES = Path(__file__).resolve().parent / "packages"
BLANKS = PACKAGES / "immport-blanks" / "txt-templates"
WORKBOOKS = PACKAGES / "immport-blanks" / "excel-templates"
VALID = PACKAGES / "valid"

# real files to mutate: blanks of each layout, and the filled golden package
SEEDS = {
    name: (folder / name).read_bytes()
    for folder, names in [
        (
            BLANKS,
            [
                "protocols.txt",
                "basic_study_design.txt",
                "experimentSamples.ELISA.txt",
                "assessments.txt",
                "FCM_Derived_data.txt",
            ],
        ),
        (
            VALID,
            [
                "basic_study_design.txt",
                "bioSamples.txt",
                "experimentSamples.ELISA.txt",
                "subjectHumans.txt",
            ],
        ),
    ]
    for name in names
}
PACKAGE_FILES = sorted(p.name for p in VALID.iterdir())

# deterministic in CI: the same examples on every run, nothing kept between runs
FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

FILE_NAMES = st.sampled_from(
    [
        "protocols.txt",
        "basic_study_design.txt",
        "experimentSamples.ELISA.txt",
        "subjectHumans.txt",
        "notes.txt",
        "nested/folder/bioSamples.TXT",
    ]
)


def line_count(raw: bytes) -> int:
    """Lines as the parser counts them: LF, CRLF or a lone CR (classic Mac) ends one."""
    return raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").count(b"\n") + 1


def assert_sound_report(report: Report, files: dict[str, bytes]) -> None:
    findings = report.findings
    assert set(findings.columns) >= {"severity", "rule", "file", "line", "message", "fix"}
    assert findings["file"].null_count() == 0
    assert set(findings["file"].to_list()) <= set(files)
    assert set(findings["severity"].to_list()) <= {"error", "warning"}
    for text in ("rule", "message", "fix"):
        assert findings[text].null_count() == 0, text
        assert (findings[text].str.strip_chars().str.len_chars() > 0).all(), text
    for path, raw in files.items():
        lines = findings.filter(pl.col("file") == path)["line"].drop_nulls()
        assert lines.is_empty() or lines.min() >= 1, (path, lines.to_list())
        assert lines.is_empty() or lines.max() <= line_count(raw), (path, lines.to_list())
    assert {f.path for f in report.files} == set(files)


def assert_sound_parse(path: str, raw: bytes) -> TemplateFile | None:
    lines = line_count(raw)
    try:
        parsed = parse_file(path, raw)
    except FileProblem as error:
        problem = error
    else:
        problem = None
    if problem is not None:
        assert problem.message.strip()
        assert problem.fix.strip()
        assert problem.line is None or 1 <= problem.line <= lines
        return None
    for finding in parsed.findings:
        assert finding.file == path
        assert finding.message.strip()
        assert finding.fix.strip()
        assert finding.line is None or 1 <= finding.line <= lines
    frames = [s.data for s in parsed.sections.values()] if parsed.sections else [parsed.data]
    for frame in frames:
        if frame.height:
            assert frame[LINE].min() >= 1
            assert frame[LINE].max() <= lines
    return parsed


def check(path: str, raw: bytes) -> None:
    assert_sound_parse(path, raw)
    assert_sound_report(validate_files("fuzz", {path: raw}, [path, *PACKAGE_FILES]), {path: raw})


# --- strategies ------------------------------------------------------------------

PIECES = st.sampled_from(
    [
        "\t",
        "\n",
        "\r",
        "\r\n",
        "\ufeff",
        ";",
        " ",
        COLUMN_NAME,
        MARKER_TEXT,
        SEPARATOR_COLUMN,
        "Schema Version 3.36",
        "Schema Version 3.19",
        "Validation Level",
        "study",
        "arm_or_cohort",
        "User Defined ID",
        "Value Reported",
        "Analyte Reported",
        "Yes",
        "-1",
        "1e309",
        "NaN",
        "01-Mar-2021",
        "a@b.org",
        *sorted({t.name for t in templates().values()}),
    ]
)
TEXT = st.lists(st.one_of(PIECES, st.text(max_size=12)), max_size=80).map("".join)

TAB, NEWLINE = b"\t", b"\n"


@st.composite
def mutated(draw) -> tuple[str, bytes]:
    """A real template with one to four edits: cuts, tabs, line breaks, unicode."""
    name = draw(st.sampled_from(sorted(SEEDS)))
    raw = SEEDS[name]
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(raw)))
        edit = draw(
            st.sampled_from(
                [
                    "truncate",
                    "insert-tab",
                    "delete-tab",
                    "insert-newline",
                    "delete-newline",
                    "insert-text",
                    "delete-span",
                    "crlf",
                    "cr",
                    "latin-1",
                    "duplicate-line",
                ]
            )
        )
        if edit == "truncate":
            raw = raw[:at]
        elif edit == "insert-tab":
            raw = raw[:at] + TAB + raw[at:]
        elif edit == "delete-tab" and TAB in raw:
            index = raw.find(TAB, at) if raw.find(TAB, at) >= 0 else raw.rfind(TAB)
            raw = raw[:index] + raw[index + 1 :]
        elif edit == "insert-newline":
            raw = raw[:at] + draw(st.sampled_from([b"\n", b"\r\n", b"\r", b"\n\n"])) + raw[at:]
        elif edit == "delete-newline" and NEWLINE in raw:
            index = raw.find(NEWLINE, at) if raw.find(NEWLINE, at) >= 0 else raw.rfind(NEWLINE)
            raw = raw[:index] + raw[index + 1 :]
        elif edit == "insert-text":
            raw = raw[:at] + draw(TEXT).encode("utf-8") + raw[at:]
        elif edit == "delete-span":
            raw = raw[:at] + raw[at + draw(st.integers(1, 200)) :]
        elif edit == "crlf":
            raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        elif edit == "cr":
            raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r")
        elif edit == "latin-1":
            raw = raw[:at] + draw(st.binary(min_size=1, max_size=4)) + raw[at:]
        elif edit == "duplicate-line":
            lines = raw.split(NEWLINE)
            index = draw(st.integers(0, len(lines) - 1))
            raw = NEWLINE.join([*lines[: index + 1], *lines[index:]])
    keep_name = draw(st.booleans())
    return (name if keep_name else draw(FILE_NAMES)), raw


# --- properties ------------------------------------------------------------------


@FUZZ
@given(path=FILE_NAMES, raw=st.binary(max_size=3000))
def test_random_bytes_never_raise(path, raw):
    check(path, raw)


@FUZZ
@given(path=FILE_NAMES, text=TEXT, bom=st.booleans())
def test_random_text_with_tabs_and_line_breaks_never_raises(path, text, bom):
    check(path, (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))


@settings(FUZZ, max_examples=60)
@given(path=FILE_NAMES, body=TEXT)
def test_any_body_under_a_real_header_never_raises(path, body):
    for head in (SEEDS["protocols.txt"], SEEDS["basic_study_design.txt"]):
        check(path, head + body.encode("utf-8"))


@FUZZ
@given(case=mutated())
def test_mutated_templates_never_raise(case):
    check(*case)


def without_separator(raw: bytes) -> bytes:
    """A combined-result template with its Result Separator Column cut out."""
    lines = [line.split(TAB) for line in raw.split(NEWLINE)]
    at = lines[2].index(SEPARATOR_COLUMN.encode())
    return NEWLINE.join(TAB.join(c[:at] + c[at + 1 :]) for c in lines)


@FUZZ
@given(files=st.lists(mutated(), min_size=2, max_size=4, unique_by=lambda c: c[0]))
@example(
    files=[
        ("experimentSamples.ELISA.txt", without_separator(SEEDS["experimentSamples.ELISA.txt"])),
        ("protocols.txt", SEEDS["protocols.txt"]),
    ]
)
def test_mutated_packages_never_raise(files):
    """Several broken files at once: references and conditions run across them."""
    package = dict(files)
    report = validate_files("fuzz", package, [*package, *PACKAGE_FILES])
    assert_sound_report(report, package)


@FUZZ
@given(at=st.integers(0, len(SEEDS["protocols.txt"])))
def test_a_blank_cut_anywhere_gives_findings_not_a_traceback(at):
    raw = SEEDS["protocols.txt"][:at]
    check("protocols.txt", raw)
    report = validate_files("cut", {"protocols.txt": raw})
    # a blank template stays a blank at best: never "valid" with data
    assert report.findings.height >= 1


WORKBOOK = (WORKBOOKS / "publicRepositories.xlsx").read_bytes()


@settings(FUZZ, max_examples=60)
@given(
    at=st.integers(0, len(WORKBOOK) - 1),
    edit=st.sampled_from(["truncate", "flip", "insert"]),
    junk=st.binary(min_size=1, max_size=16),
)
def test_damaged_workbooks_give_a_file_finding(at, edit, junk):
    if edit == "truncate":
        raw = WORKBOOK[:at]
    elif edit == "flip":
        raw = WORKBOOK[:at] + bytes([WORKBOOK[at] ^ 0xFF]) + WORKBOOK[at + 1 :]
    else:
        raw = WORKBOOK[:at] + junk + WORKBOOK[at:]
    path = "publicRepositories.xlsx"
    try:
        parse_file(path, raw)
    except FileProblem as error:
        problem = error
    else:
        problem = None
    assert problem is None or problem.message.strip()
    assert problem is None or problem.fix.strip()
    report = validate_files("fuzz", {path: raw}, [path])
    assert report.findings["file"].to_list() == [path] * report.findings.height
    assert (report.findings["message"].str.len_chars() > 0).all()


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_every_seed_parses_cleanly(name):
    """The seeds themselves are sound, so every failure above comes from an edit."""
    parsed = assert_sound_parse(name, SEEDS[name])
    assert parsed is not None
    assert parsed.findings == []
