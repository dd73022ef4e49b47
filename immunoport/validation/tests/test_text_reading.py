"""Reading .txt templates: polars' CSV reader and the line-by-line split agree.

``_read_cells`` reads a regular file in one pass; ``_split_text`` is the general
way, and the reference. Whatever the rows hold, both give the same frame.
"""

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from immunoport.validation.parser import (
    _head_lines,
    _lines,
    _read_cells,
    _split_text,
    parse_file,
)

VALID = Path(__file__).resolve().parent / "packages" / "valid"

HEADER = b"protocols\tSchema Version 3.36\nPlease do not delete or edit this column\n"
COLUMNS = ["Column Name", "User Defined ID", "File Name", "Name", "Type", "Description"]

CELLS = st.sampled_from(
    ["", "", "", " ", "  ", "a", " b ", "c d", "\u00a0", "\x0b", "\x0c", "é", "\r", '"q"']
)
ROWS = st.lists(CELLS, min_size=0, max_size=len(COLUMNS) + 2).map("\t".join)
FUZZ = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@FUZZ
@given(
    rows=st.lists(ROWS, max_size=12),
    trailing_tabs=st.integers(0, 2),
    blank_lines=st.integers(0, 2),
    newline=st.sampled_from(["\n", "\r\n"]),
    final_newline=st.booleans(),
)
def test_one_pass_reading_agrees_with_splitting_lines(
    rows, trailing_tabs, blank_lines, newline, final_newline
):
    header = "\t".join(COLUMNS) + "\t" * trailing_tabs
    lines = ["\n" * blank_lines + header, *rows]
    text = HEADER + newline.join(lines).encode() + (newline.encode() if final_newline else b"")
    head = [line.split("\t") for line in _head_lines(text)]
    header_index = next(i for i, cells in enumerate(head) if cells[0] == "Column Name")
    width = len(COLUMNS) - 1

    fast = _read_cells(text, header_index, len(head[header_index]), width)
    slow = _split_text(_lines(text.decode()), header_index, width)

    if fast is not None:
        assert_frame_equal(fast, slow)


def test_a_regular_file_is_read_in_one_pass():
    text = HEADER + ("\t".join(COLUMNS) + "\n\tp1\tp1.pdf\tP\t\t\n\n \t \n\tp2\n").encode()
    fast = _read_cells(text, 2, len(COLUMNS), len(COLUMNS) - 1)
    assert fast is not None
    assert fast["_line"].to_list() == [4, 7]
    assert fast["c1"].to_list() == ["p1", "p2"]


def test_empty_cells_right_of_the_header_are_no_stray_cells():
    # Excel pads every line to the widest one it ever used, the header line too
    lines = (VALID / "protocols.txt").read_text().rstrip("\n").split("\n")
    padded = "\n".join(line + "\t\t" if i >= 2 else line for i, line in enumerate(lines)) + "\n"
    parsed = parse_file("protocols.txt", padded.encode())
    assert parsed.findings == []
    assert parsed.row_count == len(lines) - 3
