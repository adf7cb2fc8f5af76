"""The one rule for CSV cells callpact writes, and its exact inverse for the cells the importer reads.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula (and a
leading tab or CR can hide one), so a debtor id like ``=HYPERLINK(...)`` in an export or a
rejects file would run on the supervisor's machine. OWASP's remedy is a leading single quote,
which spreadsheets show as text. The rule, everywhere callpact writes a CSV:

* a cell whose text, after any leading ``'``, starts with ``=``, ``+``, ``-``, ``@``, tab or CR
  gets one more ``'`` in front (so a value that really starts with ``'=`` is written ``''=``);
* except a plain number or phone number: a ``+`` or ``-`` followed only by digits, spaces and
  ``. , ( ) / - *`` (``+31612345678``, ``+31 6 1234 5678``, ``-12,50``, a masked ``+31*******78``).
  Such a cell has no letter, reference, string or ``|``, so a spreadsheet can at most read it
  as a number; it is left as it is so that exports stay readable and sortable.

The importer removes exactly one leading ``'`` from a cell the rule would have escaped, so an
export or a rejects file read back gives the original values, whatever they were.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-][0-9 .,()/*-]*[0-9][0-9 .,()/*-]*")


def _needs_quote(text: str) -> bool:
    """Whether ``text`` (with its leading quotes removed) is a cell a spreadsheet could run."""
    return text.startswith(_DANGEROUS) and _PLAIN_NUMBER.fullmatch(text) is None


def escape(value: object) -> str:
    """The cell to write for ``value`` (its ``str``; None as empty, as ``csv.writer`` does)."""
    text = value if isinstance(value, str) else "" if value is None else str(value)
    if text and (text[0] in "=+-@\t\r'") and _needs_quote(text.lstrip("'")):
        return "'" + text
    return text


def unescape(cell: str) -> str:
    """The value a cell written by :func:`escape` holds; every other cell is returned unchanged."""
    if cell.startswith("'") and _needs_quote(cell.lstrip("'")):
        return cell[1:]
    return cell


def escape_row(values: Iterable[object]) -> list[str]:
    return [escape(value) for value in values]


def unescape_row(cells: list[str]) -> list[str]:
    """``cells`` as :func:`unescape` reads them; the same list where no cell starts with a quote (most)."""
    for cell in cells:
        if cell.startswith("'"):
            return [unescape(c) for c in cells]
    return cells


def unescape_dict(row: dict[str, str]) -> dict[str, str]:
    """A ``csv.DictReader`` row of a CSV callpact wrote, with the values as they were before escaping."""
    return {key: unescape(value) if isinstance(value, str) else value for key, value in row.items()}
