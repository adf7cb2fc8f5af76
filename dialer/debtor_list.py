"""Reading a debtor list (CSV or JSON Lines) into :class:`~dialer.core.records.Debtor` records, row by row.

Debtor lists come from accounting exports and Excel: semicolons, a BOM, a
stray Windows-1252 byte, amounts written "€ 45,20". One bad row must never stop
a million good ones, so every row comes back either :class:`Accepted` or
:class:`Rejected` (with the physical line, the column and a reason a person can
act on), and only problems with the file as a whole raise
:class:`~dialer.core.errors.InputError`. Rejected rows can be written back to a CSV
(:class:`RejectsWriter`) that the user fixes and imports again.

Rows are streamed: memory stays constant apart from the two dictionaries that
detect duplicate debtor ids and numbers shared between debtors.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import math
import re
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import IO, Any
from zoneinfo import ZoneInfo, available_timezones

from dialer.core.csv_cells import escape_row, unescape_row
from dialer.core.errors import ConfigError, InputError
from dialer.core.phones import is_mobile, normalise_number
from dialer.core.records import Debtor

LANGUAGES = ("nl", "en")

# Column names after normalisation (lower case, spaces and dashes → underscores).
_ALIASES = {
    "id": "debtor_id",
    "debtor": "debtor_id",
    "customer_id": "debtor_id",
    "amount": "amount_due",
    "balance": "amount_due",
}
_FIELDS = frozenset(
    {"debtor_id", "name", "language", "timezone", "amount_due", "currency", "invoice", "due_date",
     "risk_score", "segment"}
)
#: The debtor fields a row may give by name (other columns are phones or custom fields).
DEBTOR_FIELDS = _FIELDS
_REQUIRED = ("debtor_id", "name", "amount_due")
_PHONE_COLUMN = re.compile(r"phones?|phone_?\d+|mobile(?:_?\d+)?")
# The bookkeeping columns RejectsWriter adds; ignored so that a fixed rejects file imports cleanly.
_RESERVED = frozenset({"_line", "_column", "_reason", "_raw"})
_PHONE_SPLIT = re.compile(r"[;|,]")
_SURROGATE = re.compile("[\udc80-\udcff]")
# Limits on one JSON Lines row: a debtor is a flat object with perhaps a list of phones, so these
# are far above any real row and far below a row that ties up memory or the stack.
MAX_ROW_CHARS = 1_000_000
MAX_ROW_DEPTH = 32
MAX_NUMBER_CHARS = 100        # Python itself refuses 4,300 digits, with a bare ValueError
# The forms an id and a name may take. An id is the user's key for a debtor: it is shown in every export,
# log line and rejects file and spoken to nobody, so printable text of at most 128 characters (accounting
# and CRM ids are 40 at most) with no character a person cannot see or type. A name may be read out by
# the TTS prompts and is shown to agents: 200 characters hold any real person's or company's name.
# Control and format characters (NUL, BEL, ESC, newlines, right-to-left overrides...) are refused in
# both: they rewrite terminals and spreadsheets, reverse what an agent reads and hide one id inside
# another. Names keep the zero-width joiner and non-joiner, which Persian and Indic scripts spell with.
MAX_ID_CHARS = 128
MAX_NAME_CHARS = 200
# An export has tens of columns and a spreadsheet at most 16,384; every column becomes work for every
# row, so a file wider than this is not a debtor list and is refused whole, with one error.
MAX_COLUMNS = 1_000
_UNSEEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_JOINERS = frozenset({"\u200c", "\u200d"})
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_JSON_BRACKET = re.compile(r"[\[\]{}]")


def _json_number(convert: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        if len(text) > MAX_NUMBER_CHARS:
            raise _RowTooLarge(f"a number of {len(text):,} characters is too long "
                               f"(at most {MAX_NUMBER_CHARS})")
        return convert(text)
    return parse


class _RowTooLarge(ValueError):
    """A row over one of the limits; its message is the Rejected reason."""


# The csv module refuses a cell over 128 KiB by default, and the importer then has an error but not the
# row, so a rejects file could not give it back. The line is in memory anyway: read any cell whole.
_FIELD_LIMIT = 2**31 - 1  # the largest a C long takes on every platform
# Floats as Decimal: a JSON 45.20 is read as exactly 45.20, never as a binary fraction.
_JSON = json.JSONDecoder(parse_float=_json_number(Decimal), parse_int=_json_number(int), parse_constant=str)

_LANGUAGE_NAMES = {"nl": "nl", "en": "en", "dutch": "nl", "nederlands": "nl", "english": "en", "engels": "en"}


# --- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportOptions:
    """How to read values a file leaves open (numbers without country code, missing language...)."""

    default_region: str = "NL"
    require_mobile: bool = False
    default_language: str = "nl"
    default_timezone: str = "Europe/Amsterdam"
    currency: str = "EUR"
    encoding: str = "utf-8"


@dataclass(frozen=True)
class NumberFlag:
    """A number that was dropped or needs a look; the debtor itself was kept (or rejected elsewhere)."""

    line: int
    column: str
    raw: str
    reason: str


@dataclass(frozen=True)
class Accepted:
    line: int
    debtor: Debtor
    flags: list[NumberFlag] = field(default_factory=list)


@dataclass(frozen=True)
class Rejected:
    """A row that was not imported. ``raw`` is the row by column, or the line text if it had no columns."""

    line: int
    column: str | None
    reason: str
    raw: dict[str, str] | str


@dataclass
class ImportReport:
    """Counts for the end-of-import summary a supervisor reads."""

    accepted: int = 0
    rejected: int = 0
    flags: int = 0
    rows_flagged: int = 0
    rejected_by_column: Counter[str] = field(default_factory=Counter)

    def add(self, item: Accepted | Rejected) -> None:
        if isinstance(item, Accepted):
            self.accepted += 1
            if item.flags:
                self.rows_flagged += 1
                self.flags += len(item.flags)
        else:
            self.rejected += 1
            self.rejected_by_column[item.column or "(whole row)"] += 1

    def summary(self) -> str:
        total = self.accepted + self.rejected
        text = f"{total} rows read: {self.accepted} imported, {self.rejected} rejected"
        if self.flags:
            text += f"; {self.flags} numbers flagged on {self.rows_flagged} imported rows"
        if self.rejected_by_column:
            parts = ", ".join(f"{col} {n}" for col, n in self.rejected_by_column.most_common())
            text += f"\nrejected by column: {parts}"
        return text


# --- value parsing -----------------------------------------------------------------------------


class _Bad(Exception):
    """One value is unusable; becomes a Rejected row naming the column (a field name or a column)."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


_CURRENCY_SIGNS = {"€": "EUR", "$": "USD", "£": "GBP"}
_AMOUNT_PARTS = re.compile(
    r"(?:(?P<pre>[€$£]|[A-Za-z]{3})\s*)?(?P<num>[^\s€$£A-Za-z](?:.*?[^\s€$£A-Za-z])?)"
    r"(?:\s*(?P<post>[€$£]|[A-Za-z]{3}))?"
)
_SIMPLE_AMOUNT = re.compile(r"\d{1,15}(?:[.,]\d\d)?")
_PLAIN = re.compile(r"(?P<int>\d*)(?:[.,](?P<frac>\d+))?")
_GROUPED = re.compile(r"\d{1,3}(?:[.,' ]\d{3})+(?:[.,]\d+)?|\d+[.,]\d+[.,]\d+")


def parse_amount(text: str) -> tuple[Decimal, str | None]:
    """An exact amount with 2 decimals, and the currency written next to it (if any).

    Thousands separators are refused rather than guessed: "1.234" is 1234 to a Dutch
    reader and 1.234 to an English one, and getting a debt amount wrong by a factor of
    a thousand is far worse than asking for a fixed file.
    """
    if _SIMPLE_AMOUNT.fullmatch(text):  # "45.20", "45,20", "1234": most rows of most files
        amount = Decimal(text.replace(",", ".") if len(text) > 3 and text[-3] in ".," else text + ".00")
        if amount:
            return amount, None
    value = text.strip().replace("\u00a0", " ").replace("\u202f", " ")
    if not value:
        raise ValueError("the amount is empty")
    parts = _AMOUNT_PARTS.fullmatch(value)
    if parts is None or (parts["pre"] and parts["post"]):
        raise ValueError(f"{text!r} is not an amount")
    mark = parts["pre"] or parts["post"]
    currency = _CURRENCY_SIGNS.get(mark, mark.upper()) if mark else None
    number = parts["num"]
    if number.startswith(("-", "\u2212")) or (number.startswith("(") and number.endswith(")")):
        raise ValueError(f"{text!r} is negative; an amount due must be more than 0")
    number = number.removeprefix("+")
    plain = _PLAIN.fullmatch(number)
    if plain is None or not (plain["int"] or plain["frac"]):
        if _GROUPED.fullmatch(number):
            raise ValueError(
                f"{text!r} uses a thousands separator; that is ambiguous ('.' and ',' mean the opposite "
                f"in Dutch and English), so write the amount without one, e.g. 1234.56"
            )
        raise ValueError(f"{text!r} is not an amount")
    whole, frac = plain["int"] or "0", plain["frac"] or ""
    if len(whole.lstrip("0")) > 15:     # no debt is that large; a 5,000-digit amount is a broken file
        raise ValueError(f"{text[:20]!r}... has more than 15 digits before the decimal point")
    if len(frac) == 3 and whole.strip("0"):
        sep = number[len(plain["int"])]
        raise ValueError(
            f"{text!r} is ambiguous: it could be {int(whole + frac)} (with {sep!r} as thousands separator) "
            f"or {whole}.{frac} (3 decimals); write amounts without thousands separators and with at most "
            f"2 decimals, e.g. {int(whole + frac)}.00"
        )
    if len(frac) > 2:
        raise ValueError(f"{text!r} has more than 2 decimals")
    amount = Decimal(f"{whole}.{frac.ljust(2, '0')}")
    if not amount:
        raise ValueError(f"{text!r} is zero; an amount due must be more than 0")
    return amount, currency


_ISO_DATE = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})")
_DMY_DATE = re.compile(r"(\d{1,2})([-/.])(\d{1,2})\2(\d{4})")


def parse_date(text: str) -> dt.date:
    """ISO (2026-11-01) or day-month-year (01-11-2026, 01/11/2026, 01.11.2026) as Dutch exports write it."""
    if len(text) == 10 and text[4] == "-" and text[7] == "-" and text.isascii():
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass  # explained below
    value = text.strip()
    iso = _ISO_DATE.fullmatch(value)
    if iso:
        year, month, day = int(iso[1]), int(iso[2]), int(iso[3])
    else:
        dmy = _DMY_DATE.fullmatch(value)
        if dmy is None:
            raise ValueError(f"{text!r} is not a date; write 2026-11-01 or 01-11-2026 (day-month-year)")
        day, month, year = int(dmy[1]), int(dmy[3]), int(dmy[4])
    try:
        return dt.date(year, month, day)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a real date ({exc})") from None


def _parse_risk(text: str) -> float:
    try:
        score = float(text)
    except ValueError:
        try:
            score = float(text.strip().removesuffix("%").strip().replace(",", "."))
        except ValueError:
            raise ValueError(f"{text!r} is not a number") from None
    if not math.isfinite(score) or not 0 <= score <= 100:
        raise ValueError(f"{text!r} is outside 0..100 (a risk score is 0..1 or 0..100)")
    return score


def _parse_language(text: str) -> str:
    if text in LANGUAGES:
        return text
    if not text.strip():
        raise ValueError("the language is empty")  # not reached from the importer: blank means default
    value = text.strip().lower().replace("_", "-").split("-")[0]
    language = _LANGUAGE_NAMES.get(value)
    if language is None:
        raise ValueError(f"language {text.strip()!r} is not supported; use {' or '.join(LANGUAGES)}")
    return language


@lru_cache(maxsize=1024)
def timezone_name(name: str) -> str | None:
    """The IANA name as zoneinfo spells it ("europe/amsterdam" → "Europe/Amsterdam"), or None if unknown."""
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # bad key, unknown zone (a KeyError), a directory name
        return _zone_names_by_lower().get(name.lower())
    return name


@lru_cache(maxsize=1)
def _zone_names_by_lower() -> dict[str, str]:
    return {zone.lower(): zone for zone in available_timezones()}


def _parse_currency(text: str) -> str:
    if text == "EUR":
        return text
    value = text.strip().upper()
    if len(value) != 3 or not value.isalpha() or not value.isascii():
        raise ValueError(f"currency {text.strip()!r} is not a 3-letter code like EUR")
    return value


def normalise_column(name: str) -> str:
    """The name a header means: case-insensitive, spaces and dashes as underscores, aliases resolved."""
    key = re.sub(r"[\s\-]+", "_", name.strip().lower())
    return _ALIASES.get(key, key)


# --- the reader --------------------------------------------------------------------------------


class _Row:
    """One row's cells sorted by role; column names are as the file writes them."""

    __slots__ = ("columns", "custom", "fields", "phones")

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}
        self.columns: dict[str, str] = {}
        self.phones: list[tuple[str, str]] = []
        self.custom: dict[str, str] = {}


@dataclass(frozen=True)
class _Column:
    index: int
    name: str  # as in the header
    role: str  # "field", "phone", "custom", "unnamed" (custom where not empty) or "ignore"
    key: str  # canonical field name or custom key


def read_debtors(path: str | Path, options: ImportOptions | None = None) -> DebtorReader:
    """Open a debtor list; file-level problems raise InputError here, row problems come back as Rejected."""
    return DebtorReader(path, options or ImportOptions())


class DebtorReader(Iterator[Accepted | Rejected]):
    """Iterates a debtor list row by row; also a context manager that closes the file.

    ``format`` ("csv" or "jsonl"), ``delimiter`` and ``columns`` (the header as written)
    describe what was found, e.g. for the import summary.
    """

    def __init__(self, path: str | Path, options: ImportOptions) -> None:
        self.path = Path(path)
        self.options = options
        self.where = str(path)
        self._check_options()
        self.delimiter: str | None = None
        self.columns: list[str] = []
        self._encoding_name = codecs.lookup(options.encoding).name
        self.checker = RowChecker(options)
        binary = self._open()
        try:
            self.format, encoding = self._sniff(binary)
            self._encoding_label = "UTF-8" if encoding.startswith("utf-8") else encoding
            self._text = io.TextIOWrapper(binary, encoding=encoding, errors="surrogateescape", newline="")
            if self.format == "csv":
                self._rows: Iterator[Accepted | Rejected] = self._read_csv()
            else:
                self._rows = self._read_jsonl()
        except BaseException:
            binary.close()
            raise

    # -- iterator / context manager

    def __iter__(self) -> DebtorReader:
        return self

    def __next__(self) -> Accepted | Rejected:
        return next(self._rows)

    def close(self) -> None:
        self._text.close()

    def __enter__(self) -> DebtorReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- opening

    def _check_options(self) -> None:
        opts = self.options
        where = "import options"
        try:
            codecs.lookup(opts.encoding)
        except LookupError:
            raise ConfigError(f"unknown encoding {opts.encoding!r}", where=where) from None
        if opts.default_language not in LANGUAGES:
            raise ConfigError(f"default_language must be one of {', '.join(LANGUAGES)}", where=where)
        if timezone_name(opts.default_timezone) != opts.default_timezone:
            raise ConfigError(
                f"default_timezone {opts.default_timezone!r} is not a known time zone", where=where
            )
        try:
            _parse_currency(opts.currency)
        except ValueError as exc:
            raise ConfigError(str(exc), where=where) from None

    def _open(self) -> IO[bytes]:
        try:
            return open(self.path, "rb")  # owned by the reader, closed in close()
        except FileNotFoundError:
            raise InputError("no such file", where=self.where) from None
        except IsADirectoryError:
            raise InputError("is a directory, not a debtor list", where=self.where) from None
        except OSError as exc:
            raise InputError(f"cannot open the file: {exc.strerror}", where=self.where) from None

    def _sniff(self, binary: IO[bytes]) -> tuple[str, str]:
        """The format and the text encoding to read with; refuses what is clearly not a debtor list."""
        head = binary.read(65536)
        binary.seek(0)
        encoding = self.options.encoding
        if head.startswith(b"PK\x03\x04"):
            raise InputError(
                "is an Excel workbook (or another zip file), not CSV; in Excel use Save as → CSV UTF-8",
                where=self.where,
            )
        if head.startswith(b"\xd0\xcf\x11\xe0"):
            raise InputError(
                "is an old Excel .xls workbook, not CSV; save it as CSV UTF-8", where=self.where
            )
        utf16 = _utf16_without_bom(head)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            encoding = "utf-16"  # Excel's "Unicode text" export
            text_head = head.decode("utf-16", errors="ignore")
        elif utf16 is not None:
            encoding = utf16  # the same, from tools that leave out the BOM
            text_head = head.decode(utf16, errors="ignore")
        else:
            if self._encoding_name == "utf-8" or head.startswith(codecs.BOM_UTF8):
                encoding = "utf-8-sig"  # a BOM says UTF-8 whatever the options guessed
            if b"\x00" in head:
                raise InputError("is a binary file, not CSV or JSON Lines", where=self.where)
            text_head = head.decode(encoding, errors="replace")
        first = next((line.strip() for line in text_head.splitlines() if line.strip()), "")
        if not first:
            raise InputError("the file is empty", where=self.where)
        suffix = self.path.suffix.lower()
        if suffix in (".jsonl", ".ndjson"):
            kind = "jsonl"
        elif suffix in (".csv", ".txt", ".tsv"):
            kind = "csv"
        else:
            kind = "jsonl" if first.startswith(("{", "[")) else "csv"
        if kind == "jsonl" and not first.startswith("{"):
            if first.startswith("["):
                raise InputError(
                    "is a JSON array, not JSON Lines; write one JSON object per line", where=self.where
                )
            raise InputError(
                f"is not JSON Lines: the first line starts with {first[:40]!r}, expected an object '{{'",
                where=self.where,
            )
        return kind, encoding

    # -- CSV

    def _read_csv(self) -> Iterator[Accepted | Rejected]:
        lines = iter(self._text)
        skipped = 0
        first = ""
        for first in lines:
            skipped += 1
            if first.strip():
                break
        sep = re.fullmatch(r"sep=(.)\s*", first)
        if sep:  # Excel's own hint line
            delimiter = sep[1]
            for first in lines:
                skipped += 1
                if first.strip():
                    break
            else:
                raise InputError("has no header row", where=self.where)
        else:
            delimiter = _sniff_delimiter(first)
        self.delimiter = delimiter
        if csv.field_size_limit() < _FIELD_LIMIT:
            csv.field_size_limit(_FIELD_LIMIT)  # process-wide, hence only ever raised
        reader = csv.reader(_chain_one(first, lines), delimiter=delimiter)
        header = unescape_row(next(reader))
        plan = self._plan(header, skipped + reader.line_num - 1)
        return self._csv_rows(reader, plan, len(header), skipped - 1)

    def _plan(self, header: list[str], header_line: int) -> list[_Column]:
        bad = _first_surrogate(header)
        if bad is not None:
            raise InputError(
                f"the header is not valid {self._encoding_label} text (column {bad + 1}); "
                "save the file as UTF-8 or set the encoding", where=f"{self.where}:{header_line}"
            )
        if len(header) > MAX_COLUMNS:
            raise InputError(
                f"the header has {len(header):,} columns; a debtor list has at most {MAX_COLUMNS:,}",
                where=f"{self.where}:{header_line}",
            )
        self.columns = [name.strip() for name in header]
        self.checker.first_phone_column = next(
            (c for c in self.columns if _PHONE_COLUMN.fullmatch(normalise_column(c))), "phone")
        plan: list[_Column] = []
        seen: dict[str, str] = {}
        for index, name in enumerate(self.columns):
            key = normalise_column(name)
            if not key:  # Excel's trailing delimiter; kept only where a row has something in it
                plan.append(_Column(index, name, "unnamed", f"column_{index + 1}"))
                continue
            if key in _RESERVED:
                plan.append(_Column(index, name, "ignore", key))
                continue
            if _PHONE_COLUMN.fullmatch(key):
                plan.append(_Column(index, name, "phone", key))
                continue
            if key in seen:
                raise InputError(
                    f"columns {seen[key]!r} and {name!r} both mean {key!r}; keep one",
                    where=f"{self.where}:{header_line}",
                )
            seen[key] = name
            plan.append(_Column(index, name, "field" if key in _FIELDS else "custom", key))
        missing = [_describe_required(key) for key in _REQUIRED if key not in seen]
        if not any(col.role == "phone" for col in plan):
            missing.append("a phone column (phone, phone1, phone2…, mobile or phones)")
        if missing:
            found = ", ".join(repr(c) for c in self.columns)
            hint = ""
            if not any(normalise_column(c) in _FIELDS or _PHONE_COLUMN.fullmatch(normalise_column(c))
                       for c in self.columns):
                hint = (" — the first line does not look like a header row (or the columns are separated "
                        f"by something other than {self.delimiter!r})")
            raise InputError(
                f"missing required column{'s' if len(missing) > 1 else ''}: {'; '.join(missing)}. "
                f"Columns found: {found}{hint}",
                where=self.where,
            )
        return plan

    def _csv_rows(
        self, reader: Any, plan: list[_Column], width: int, offset: int
    ) -> Iterator[Accepted | Rejected]:
        names = self.columns
        fields_plan = [(c.index, c.key, c.name) for c in plan if c.role == "field"]
        phones_plan = [(c.index, c.name) for c in plan if c.role == "phone"]
        custom_plan = [(c.index, c.key) for c in plan if c.role == "custom"]
        unnamed_plan = [(c.index, c.key) for c in plan if c.role == "unnamed"]
        columns = {key: name for _, key, name in fields_plan}
        try:
            while True:
                start = offset + reader.line_num + 1
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    yield Rejected(start, None, f"cannot read this row: {exc} (an unmatched '\"'?)", "")
                    continue
                if not row or not any(row):
                    continue  # blank line or a row of empty cells (Excel leaves those)
                row = unescape_row(row)  # a rejects file or an export read back: the values as written
                if len(row) != width:
                    if len(row) > width and not any(row[width:]):
                        row = row[:width]  # trailing delimiters
                    else:
                        yield Rejected(
                            start, None,
                            f"the row has {len(row)} fields but the header has {width} "
                            f"(a missing or extra {self.delimiter!r}, or an unmatched '\"'?)",
                            _join_row(row, self.delimiter or ","),
                        )
                        continue
                bad = _first_surrogate(row)
                if bad is not None:
                    raw = dict(zip(names, row, strict=True))
                    yield Rejected(start, names[bad], self._encoding_problem(row[bad]), raw)
                    continue
                cells = _Row()
                cells.columns = columns
                cells.fields = {key: row[i] for i, key, _ in fields_plan}
                cells.phones = [(name, row[i]) for i, name in phones_plan if row[i]]
                cells.custom = {key: row[i] for i, key in custom_plan}
                for i, key in unnamed_plan:
                    if row[i]:
                        cells.custom[key] = row[i]
                yield self.checker.check(start, cells, lambda row=row: dict(zip(names, row, strict=True)))
        finally:
            self._text.close()

    def _encoding_problem(self, value: str) -> str:
        bad = _SURROGATE.search(value)
        assert bad is not None
        byte = ord(bad[0]) - 0xDC00
        shown = _SURROGATE.sub("\ufffd", value[max(0, bad.start() - 30): bad.start() + 30])
        return (
            f"not valid {self._encoding_label} text: byte 0x{byte:02x} in {shown!r} "
            "(was the file saved as ANSI/Windows-1252? save it as UTF-8)"
        )

    # -- JSON Lines

    def _read_jsonl(self) -> Iterator[Accepted | Rejected]:
        mapping: dict[str, tuple[str, str]] = {}
        try:
            for line_no, line in enumerate(self._text, 1):
                text = line.strip()
                if not text:
                    continue
                if not text.isascii() and _SURROGATE.search(text):
                    yield Rejected(line_no, None, self._encoding_problem(text), text)
                    continue
                try:
                    obj = decode_row(text)
                except ValueError as exc:
                    yield Rejected(line_no, None, str(exc), text)
                    continue
                if not isinstance(obj, dict):
                    yield Rejected(
                        line_no, None, f"each line must be a JSON object {{...}}, not {_json_kind(obj)}", text
                    )
                    continue
                if len(obj) > MAX_COLUMNS:
                    reason = f"the row has {len(obj):,} keys; at most {MAX_COLUMNS:,}"
                    yield Rejected(line_no, None, reason, text)
                    continue
                yield self.checker.json_row(line_no, obj, mapping)
        finally:
            self._text.close()


def decode_row(text: str) -> Any:
    """One JSON Lines row, refused (ValueError with the reason) when it is not JSON or is over the
    size, depth or number-length limits: the C decoder recurses per level and would end in a
    RecursionError, and a 5,000-digit number in a bare ValueError, failing the whole import."""
    if len(text) > MAX_ROW_CHARS:
        raise ValueError(f"the line is {len(text):,} characters long; at most {MAX_ROW_CHARS:,}")
    if text.count("[") + text.count("{") > MAX_ROW_DEPTH and _json_depth(text) > MAX_ROW_DEPTH:
        raise ValueError(f"nested more than {MAX_ROW_DEPTH} levels deep")
    try:
        return _JSON.decode(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc.msg} at column {exc.colno}") from None


def _json_depth(text: str) -> int:
    """The deepest nesting of [ and { outside strings; only for the rare row with many brackets."""
    depth = deepest = 0
    for bracket in _JSON_BRACKET.findall(_JSON_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def check_row(row: dict[str, Any], options: ImportOptions | None = None) -> Accepted | Rejected:
    """One debtor given as a JSON object outside a file (``callpact call --debtor``), checked exactly as
    a JSON Lines row of an import is: the same amounts, dates and languages pass, the same reasons fail."""
    return RowChecker(options or ImportOptions()).json_row(1, row, {})


class RowChecker:
    """Turns one row's values into an :class:`Accepted` debtor or a :class:`Rejected` row.

    It remembers the debtor ids and numbers it has seen, so one checker per list finds the
    duplicates; a reader owns one, and :func:`check_row` uses a fresh one for a single row.
    """

    def __init__(self, options: ImportOptions) -> None:
        self.options = options
        self.first_phone_column = "phone"     # named when a row has no number (the header's first)
        self._ids: dict[str, int] = {}
        self._numbers: dict[int, str] = {}
        self._currency = options.currency.upper()

    def json_row(
        self, line: int, obj: dict[str, Any], mapping: dict[str, tuple[str, str]]
    ) -> Accepted | Rejected:
        def raw() -> dict[str, str]:
            return {key: _json_cell(key, value) for key, value in obj.items() if value is not None}

        cells = _Row()
        for name, value in obj.items():
            known = mapping.get(name)
            if known is None:
                key = normalise_column(name) or "column"
                if key in _RESERVED:
                    role = "ignore"
                elif _PHONE_COLUMN.fullmatch(key):
                    role = "phone"
                else:
                    role = "field" if key in _FIELDS else "custom"
                known = mapping[name] = (key, role)
            key, role = known
            if role == "ignore" or value is None:
                continue
            if role == "phone":
                values = value if isinstance(value, list) else [value]
                for item in values:
                    if isinstance(item, int) and not isinstance(item, bool):
                        item = str(item)  # read as a CSV cell "612345678" would be
                    if not isinstance(item, str):
                        reason = f"expected a phone number as text, got {_json_kind(item)}"
                        return Rejected(line, name, reason, raw())
                    if item:
                        cells.phones.append((name, item))
                continue
            if key in cells.columns or key in cells.custom:
                reason = f"{cells.columns.get(key, key)!r} and {name!r} both mean {key!r}"
                return Rejected(line, name, reason, raw())
            if role == "field":
                if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
                    return Rejected(line, name, f"expected text or a number, got {_json_kind(value)}", raw())
                cells.fields[key] = value if isinstance(value, str) else str(value)
                cells.columns[key] = name
            else:
                cells.custom[key] = _json_text(value)
        return self.check(line, cells, raw)

    # -- one row

    def check(self, line: int, cells: _Row, raw: Callable[[], dict[str, str]]) -> Accepted | Rejected:
        """Accepted, or Rejected with the row as the user wrote it (built only then: most rows are fine)."""
        try:
            return self._accept(line, cells)
        except _Bad as bad:
            return Rejected(line, cells.columns.get(bad.column, bad.column), bad.reason, raw())

    def _accept(self, line: int, cells: _Row) -> Accepted:
        """The debtor, or _Bad naming the first unusable value (checked in the order a user fixes them)."""
        opts = self.options
        get = cells.fields.get

        debtor_id = get("debtor_id", "").strip()
        if not debtor_id:
            raise _Bad("debtor_id", "the debtor_id is empty")
        problem = text_problem(debtor_id, MAX_ID_CHARS)
        if problem:
            raise _Bad("debtor_id", f"the debtor_id {problem}")
        first = self._ids.setdefault(debtor_id, line)
        if first != line:
            raise _Bad("debtor_id", f"duplicate debtor_id {debtor_id!r}, first on line {first}")
        name = get("name", "").strip()
        if not name:
            raise _Bad("name", "the name is empty")
        problem = text_problem(name, MAX_NAME_CHARS, allowed=_JOINERS)
        if problem:
            raise _Bad("name", f"the name {problem}")
        key = ""  # the field being read, for the message if it is unusable
        try:
            key, value = "currency", get("currency", "")
            currency = _parse_currency(value) if value else self._currency
            key, value = "amount_due", get("amount_due", "")
            amount, written = parse_amount(value)
            if written is not None and written != currency:
                raise ValueError(f"the amount is in {written} but the currency is {currency}")
            key, value = "language", get("language", "")
            language = _parse_language(value) if value else opts.default_language
            key, value = "timezone", get("timezone", "").strip()
            timezone = timezone_name(value) if value else opts.default_timezone
            if timezone is None:
                raise ValueError(f"{value!r} is not a time zone name like Europe/Amsterdam")
            key, value = "due_date", get("due_date", "")
            due_date = parse_date(value) if value else None
            key, value = "risk_score", get("risk_score", "")
            risk_score = _parse_risk(value) if value else None
        except ValueError as exc:
            raise _Bad(key, str(exc)) from None

        phones, flags = self._phones(line, cells.phones)
        if not phones:
            if not flags:
                raise _Bad(self.first_phone_column, "no phone number")
            if len(flags) == 1:
                raise _Bad(flags[0].column, flags[0].reason)
            reasons = "; ".join(f.reason for f in flags)
            raise _Bad(flags[0].column, f"no number the dialer can call: {reasons}")

        e164s: list[str] = []
        for column_name, raw, e164 in phones:
            key = int(e164[1:])
            other = self._numbers.get(key)
            if other is not None and other != debtor_id:
                flags.append(NumberFlag(
                    line, column_name, raw,
                    f"{raw.strip()!r} is also the number of debtor {other} (line {self._ids[other]})",
                ))
            else:
                self._numbers[key] = debtor_id
            e164s.append(e164)

        debtor = Debtor(
            debtor_id=debtor_id,
            name=name,
            phones=tuple(e164s),
            amount_due=amount,
            language=language,
            timezone=timezone,
            currency=currency,
            invoice=get("invoice", "").strip() or None,
            due_date=due_date,
            risk_score=risk_score,
            segment=get("segment", "").strip() or None,
            custom=cells.custom,
        )
        return Accepted(line, debtor, flags)

    def _phones(
        self, line: int, cells: list[tuple[str, str]]
    ) -> tuple[list[tuple[str, str, str]], list[NumberFlag]]:
        """The callable numbers (column, raw, e164) in file order, and flags for the ones dropped."""
        region = self.options.default_region
        require_mobile = self.options.require_mobile
        phones: list[tuple[str, str, str]] = []
        seen: set[str] = set()
        flags: list[NumberFlag] = []
        for column_name, cell in cells:
            parts = _PHONE_SPLIT.split(cell) if ("," in cell or ";" in cell or "|" in cell) else (cell,)
            for raw in parts:
                if not raw.strip():
                    continue
                check = normalise_number(raw, region)
                if check.problem is not None or check.e164 is None:
                    flags.append(NumberFlag(line, column_name, raw, check.problem or "not a phone number"))
                elif require_mobile and not is_mobile(check):
                    flags.append(NumberFlag(
                        line, column_name, raw,
                        f"{raw.strip()!r} is not a mobile number ({check.kind.replace('_', ' ')}) "
                        "and only mobile numbers are wanted",
                    ))
                elif check.e164 not in seen:
                    seen.add(check.e164)
                    phones.append((column_name, raw, check.e164))
        return phones, flags


def text_problem(text: str, limit: int, allowed: frozenset[str] = frozenset()) -> str | None:
    """What makes ``text`` no id or name ("is 300 characters long..."), or None if it is fine."""
    if len(text) > limit:
        return f"is {len(text):,} characters long; at most {limit}"
    if text.isascii() and text.isprintable():
        return None     # nearly every id and name: no need to look at each character
    for index, char in enumerate(text, 1):
        if unicodedata.category(char) in _UNSEEN_CATEGORIES and char not in allowed:
            what = unicodedata.name(char, "").lower() or "control character"
            return (f"contains U+{ord(char):04X} ({what}) at character {index}; "
                    "only visible text is allowed")
    return None


def _describe_required(key: str) -> str:
    aliases = [alias for alias, target in _ALIASES.items() if target == key]
    return f"{key!r} (or {', '.join(aliases)})" if aliases else repr(key)


def _utf16_without_bom(head: bytes) -> str | None:
    """The codec (utf-16-le or utf-16-be) where the first KiB is UTF-16 text without a BOM, else None.

    A debtor list's header and most of its cells are ASCII, which UTF-16 writes as the
    character's byte beside a NUL: NULs on most odd offsets (little-endian) or most even
    ones (big-endian), and almost none on the others. A binary file has NULs anywhere, and
    read as UTF-16 it has NUL characters or invalid code units, which text never has.
    """
    pairs = min(len(head), 1024) // 2
    if pairs < 2:
        return None
    sample = head[:pairs * 2]
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd >= pairs * 0.4 and even <= pairs * 0.05:
        codec = "utf-16-le"
    elif even >= pairs * 0.4 and odd <= pairs * 0.05:
        codec = "utf-16-be"
    else:
        return None
    text = sample.decode(codec, errors="replace")
    return None if "\x00" in text or "\ufffd" in text[:-1] else codec


def _sniff_delimiter(line: str) -> str:
    """The delimiter of a header line: whichever of , ; tab occurs most outside quotes."""
    unquoted = re.sub(r'"[^"]*"', "", line)
    counts = {sep: unquoted.count(sep) for sep in ("\t", ";", ",")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def _chain_one(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def _first_surrogate(values: list[str]) -> int | None:
    joined = "".join(values)
    if joined.isascii() or not _SURROGATE.search(joined):
        return None
    return next(i for i, value in enumerate(values) if _SURROGATE.search(value))


def _join_row(row: list[str], delimiter: str) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="").writerow(row)
    return out.getvalue()


def _json_text(value: object) -> str:
    """A JSON value as the text a CSV cell would hold: numbers as written, the rest as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return str(value)
    return json.dumps(value, ensure_ascii=False, default=float)


def _json_cell(key: str, value: object) -> str:
    """A JSON value for the rejects CSV; a list of numbers becomes a cell the CSV reader splits again."""
    if isinstance(value, list) and _PHONE_COLUMN.fullmatch(normalise_column(key)):
        return "; ".join(map(_json_text, value))
    return _json_text(value)


def _json_kind(value: object) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"{value!r}"


# --- writing rejects and flags -----------------------------------------------------------------


class RejectsWriter:
    """Writes rejected rows to a CSV the user can fix and import again.

    The original columns come first (the union over all rejected rows, in the order first
    seen), then ``_line``, ``_column``, ``_reason`` and, where some line could not be split
    into columns at all, ``_raw``. The importer ignores those four columns. Cells a spreadsheet
    would run as a formula are escaped, and the importer undoes that (dialer.core.csv_cells),
    so a fixed rejects file gives back the values as the user first wrote them. Rows are spooled
    to a temporary file because the full set of columns is known only at the end (JSON
    Lines rows need not share keys); bytes that were not valid text are written back
    unchanged, so nothing the user typed is lost.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.count = 0
        self._columns: dict[str, None] = {}
        self._has_raw = False
        self._spool = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def write(self, item: Rejected) -> None:
        if isinstance(item.raw, dict):
            for name in item.raw:
                self._columns.setdefault(name, None)
        else:
            self._has_raw = True
        self._spool.write(json.dumps([item.line, item.column, item.reason, item.raw]) + "\n")
        self.count += 1

    def write_all(self, items: Iterable[Accepted | Rejected]) -> None:
        for item in items:
            if isinstance(item, Rejected):
                self.write(item)

    def close(self) -> None:
        if self._spool.closed:
            return
        header = [*self._columns, "_line", "_column", "_reason"] + (["_raw"] if self._has_raw else [])
        self._spool.seek(0)
        with open(self.path, "w", encoding="utf-8", errors="surrogateescape", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(escape_row(header))
            for entry in self._spool:
                line, column, reason, raw = json.loads(entry)
                if isinstance(raw, dict):
                    cells = [raw.get(name, "") for name in self._columns]
                    tail = [""] if self._has_raw else []
                else:
                    cells = [""] * len(self._columns)
                    tail = [raw]
                writer.writerow(escape_row([*cells, line, column or "", reason, *tail]))
        self._spool.close()

    def __enter__(self) -> RejectsWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class FlagsWriter:
    """Writes number flags to a CSV (line, debtor_id, column, number, reason) for a data clean-up,
    its cells escaped as in every CSV callpact writes (a "number" may be ``=cmd()``)."""

    HEADER = ("line", "debtor_id", "column", "number", "reason")

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.count = 0
        self._file = open(self.path, "w", encoding="utf-8", errors="surrogateescape", newline="")  # noqa: SIM115
        self._writer = csv.writer(self._file)
        self._writer.writerow(self.HEADER)

    def write(self, flag: NumberFlag, debtor_id: str = "") -> None:
        self._writer.writerow(escape_row([flag.line, debtor_id, flag.column, flag.raw, flag.reason]))
        self.count += 1

    def write_accepted(self, item: Accepted) -> None:
        for flag in item.flags:
            self.write(flag, item.debtor.debtor_id)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> FlagsWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
