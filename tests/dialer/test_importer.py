"""Reading debtor lists: what is imported, what is rejected (and where), and what is flagged."""

from __future__ import annotations

import csv
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

from dialer.core.errors import ConfigError, InputError
from dialer.debtor_list import (
    Accepted,
    FlagsWriter,
    ImportOptions,
    ImportReport,
    NumberFlag,
    Rejected,
    RejectsWriter,
    read_debtors,
)

DATA = Path(__file__).parents[1] / "data"
HEADER = "debtor_id,name,phone,phone2,amount_due,currency,language,timezone,due_date,risk_score,segment"
GOOD = "D1,Jan de Vries,06 12345678,,45.20,EUR,nl,Europe/Amsterdam,2026-11-01,0.4,consumer"


def write(tmp_path: Path, text: str | bytes, name: str = "debtors.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


def read(path: Path, **options: object) -> list[Accepted | Rejected]:
    with read_debtors(path, ImportOptions(**options)) as rows:  # type: ignore[arg-type]
        return list(rows)


def accepted(items: list[Accepted | Rejected]) -> list[Accepted]:
    return [item for item in items if isinstance(item, Accepted)]


def rejected(items: list[Accepted | Rejected]) -> list[Rejected]:
    return [item for item in items if isinstance(item, Rejected)]


def one_row(tmp_path: Path, **changes: str) -> Accepted | Rejected:
    """The GOOD row (on line 2) with some cells changed."""
    cells = dict(zip(HEADER.split(","), GOOD.split(","), strict=True))
    cells.update(changes)
    out = tmp_path / "one.csv"
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(cells)
        writer.writerow(cells.values())
    (item,) = read(out)
    return item


# --- formats -----------------------------------------------------------------------------------


def test_dutch_excel_export_with_bom_semicolons_and_comma_decimals() -> None:
    items = read(DATA / "excel_nl.csv")
    assert [type(i) for i in items] == [Accepted, Accepted, Accepted]
    jan, fatima, ayse = (i.debtor for i in accepted(items))
    assert jan.debtor_id == "1001"  # the BOM is not part of the first column name
    assert jan.phones == ("+31201234567", "+31612345678")
    assert jan.amount_due == Decimal("45.20")
    assert jan.due_date == dt.date(2026, 11, 1)
    assert jan.custom == {"contract": "energie-2024"}
    assert fatima.amount_due == Decimal("1234.00")
    assert (fatima.language, fatima.due_date) == ("en", dt.date(2026, 10, 15))
    assert ayse.name == "Özdemir; Ayşe"
    assert ayse.phones == ("+31634567890",)
    assert ayse.language == "nl"  # blank: the default
    assert ayse.custom == {"contract": "huur; kamer 2"}
    assert [i.line for i in items] == [2, 3, 4]


def test_comma_csv_with_several_numbers_in_one_phones_cell(tmp_path: Path) -> None:
    path = write(tmp_path, 'id,name,phones,balance\n'
                           'A7,Kees Smit,"06 12345678; 020 123 4567 | +32 470 12 34 56",12\n')
    (item,) = read(path)
    assert isinstance(item, Accepted)
    assert item.debtor.phones == ("+31612345678", "+31201234567", "+32470123456")
    assert item.debtor.amount_due == Decimal("12.00")


def test_tab_separated_file(tmp_path: Path) -> None:
    path = write(tmp_path, "debtor_id\tname\tmobile\tamount\nT1\tNoor Bos\t0612345678\t9,95\n", "list.txt")
    (item,) = read(path)
    assert isinstance(item, Accepted) and item.debtor.amount_due == Decimal("9.95")


def test_excel_unicode_text_export_utf16_tabs(tmp_path: Path) -> None:
    text = "debtor_id\tname\tphone\tamount\r\nU1\tŞükrü Yılmaz\t0612345678\t12,50\r\n"
    (item,) = read(write(tmp_path, text.encode("utf-16"), "export.txt"))
    assert isinstance(item, Accepted) and item.debtor.name == "Şükrü Yılmaz"


def test_excel_sep_line_is_honoured(tmp_path: Path) -> None:
    path = write(tmp_path, "sep=;\ndebtor_id;name;phone;amount_due\nS1;Jan, jr.;0612345678;5\n")
    (item,) = read(path)
    assert isinstance(item, Accepted) and item.debtor.name == "Jan, jr." and item.line == 3


def test_json_lines_keep_amounts_exact_and_report_bad_lines() -> None:
    items = read(DATA / "debtors.jsonl")
    assert [(type(i).__name__, i.line) for i in items] == [
        ("Accepted", 1), ("Accepted", 3), ("Rejected", 4), ("Rejected", 5), ("Accepted", 6)
    ]
    sanne, mehmet, kees = (i.debtor for i in accepted(items))
    assert sanne.amount_due == Decimal("45.20") and sanne.risk_score == 0.35
    assert sanne.phones == ("+31612345678", "+31201234567")
    assert sanne.custom == {"contract": "zorg"}
    assert (mehmet.amount_due, mehmet.language, mehmet.timezone, mehmet.segment) == (
        Decimal("120.00"), "en", "Europe/Istanbul", "smb"
    )
    assert kees.debtor_id == "5"
    broken, not_object = rejected(items)
    assert broken.reason.startswith("not valid JSON") and broken.raw == '{"debtor_id": "J3", "name": "broken'
    assert "must be a JSON object" in not_object.reason


def test_json_lines_rows_too_deep_or_with_endless_numbers_are_rejected_and_the_rest_imported(
        tmp_path: Path) -> None:
    # Unguarded, the deep row ended the whole import in a RecursionError and the long number in
    # Python's bare "Exceeds the limit (4300 digits)" ValueError.
    def row(n: int, amount: str, **extra: str) -> str:
        fields = "".join(f', "{key}": {value}' for key, value in extra.items())
        return f'{{"id": "R{n}", "name": "A B", "phone": "06 1234567{n}", "amount": {amount}{fields}}}'

    lines = [
        row(1, '"45.20"'),
        row(2, "[" * 100_000 + "]" * 100_000),
        row(3, "7" * 5000),
        row(4, "7" * 5000 + ".00"),
        row(5, '"' + "7" * 5000 + '"'),
        row(6, "12", notes="[" * 100_000 + "]" * 100_000),
        row(7, '"9.99"', notes='"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["'),  # brackets in text are text
    ]
    items = read(write(tmp_path, "\n".join(lines) + "\n", "big.jsonl"))
    assert [(type(i).__name__, i.line) for i in items] == [
        ("Accepted", 1), ("Rejected", 2), ("Rejected", 3), ("Rejected", 4), ("Rejected", 5), ("Rejected", 6),
        ("Accepted", 7)]
    reasons = [item.reason for item in rejected(items)]
    assert reasons[0] == reasons[4] == "nested more than 32 levels deep"
    assert reasons[1] == "a number of 5,000 characters is too long (at most 100)"
    assert reasons[2] == "a number of 5,003 characters is too long (at most 100)"
    assert "has more than 15 digits before the decimal point" in reasons[3]
    assert [str(a.debtor.amount_due) for a in accepted(items)] == ["45.20", "9.99"]


def test_unknown_extension_is_sniffed(tmp_path: Path) -> None:
    line = '{"id": "X", "name": "A B", "phone": "0612345678", "amount": "1"}\n'
    jsonl = write(tmp_path, line, "export.dat")
    csv_file = write(tmp_path, f"{HEADER}\n{GOOD}\n", "export.out")
    assert isinstance(read(jsonl)[0], Accepted)
    assert isinstance(read(csv_file)[0], Accepted)


def test_columns_are_matched_case_insensitively_with_aliases(tmp_path: Path) -> None:
    path = write(tmp_path, "Customer-ID,NAME,Phone 1,Phone 2,Balance,Risk Score,Contract Nr\n"
                           "C1,Anouk Visser,0612345678,0201234567,€ 10,35,K-9\n".replace("€ 10", '"€ 10"'))
    (item,) = read(path)
    assert isinstance(item, Accepted)
    debtor = item.debtor
    assert (debtor.debtor_id, debtor.amount_due, debtor.risk_score) == ("C1", Decimal("10.00"), 35.0)
    assert debtor.phones == ("+31612345678", "+31201234567")
    assert debtor.custom == {"contract_nr": "K-9"}


def test_defaults_come_from_the_options(tmp_path: Path) -> None:
    path = write(tmp_path, "debtor_id,name,phone,amount_due\nB1,Lotte Peeters,0470 12 34 56,20\n")
    (item,) = read(path, default_region="BE", default_language="en", default_timezone="Europe/Brussels",
                   currency="eur")
    assert isinstance(item, Accepted)
    debtor = item.debtor
    assert (debtor.phones, debtor.language, debtor.timezone, debtor.currency) == (
        ("+32470123456",), "en", "Europe/Brussels", "EUR"
    )


# --- file-level problems ----------------------------------------------------------------------


def test_missing_required_column_names_it_and_lists_the_columns_found(tmp_path: Path) -> None:
    path = write(tmp_path, "debtor_id,name,phone\nD1,Jan,0612345678\n")
    with pytest.raises(InputError) as err:
        read_debtors(path, ImportOptions())
    message = str(err.value)
    assert str(path) in message
    assert "'amount_due' (or amount, balance)" in message
    assert "Columns found: 'debtor_id', 'name', 'phone'" in message


def test_missing_phone_column(tmp_path: Path) -> None:
    path = write(tmp_path, "debtor_id,name,amount\nD1,Jan,5\n")
    with pytest.raises(InputError, match="a phone column"):
        read_debtors(path, ImportOptions())


def test_data_without_header_is_called_out(tmp_path: Path) -> None:
    path = write(tmp_path, "D1,Jan de Vries,0612345678,45.20\n")
    with pytest.raises(InputError, match="does not look like a header row"):
        read_debtors(path, ImportOptions())


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("empty.csv", b"", "empty"),
        ("blank.csv", b"\n \n", "empty"),
        ("book.csv", b"PK\x03\x04\x14\x00\x06\x00", "Excel workbook"),
        ("image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        ("list.json", b'[{"debtor_id": "1"}]', "JSON array"),
        ("list.jsonl", b"debtor_id,name\n", "not JSON Lines"),
    ],
)
def test_files_that_are_no_debtor_list(tmp_path: Path, name: str, content: bytes, words: str) -> None:
    path = write(tmp_path, content, name)
    with pytest.raises(InputError, match=words) as err:
        read_debtors(path, ImportOptions())
    assert str(path) in str(err.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_debtors(tmp_path / "nope.csv", ImportOptions())


def test_bad_options_are_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, f"{HEADER}\n{GOOD}\n")
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        read_debtors(path, ImportOptions(default_timezone="Mars/Olympus"))


# --- row rejections ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "column", "words"),
    [
        ({"debtor_id": ""}, "debtor_id", "debtor_id is empty"),
        ({"name": "  "}, "name", "name is empty"),
        ({"amount_due": ""}, "amount_due", "empty"),
        ({"amount_due": "-45.20"}, "amount_due", "negative"),
        ({"amount_due": "0,00"}, "amount_due", "zero"),
        ({"amount_due": "1.234"}, "amount_due", "ambiguous: it could be 1234"),
        ({"amount_due": "1,234.56"}, "amount_due", "thousands separator"),
        ({"amount_due": "1.234,56"}, "amount_due", "thousands separator"),
        ({"amount_due": "0.125"}, "amount_due", "more than 2 decimals"),
        ({"amount_due": "veel"}, "amount_due", "not an amount"),
        ({"amount_due": "USD 10"}, "amount_due", "in USD but the currency is EUR"),
        ({"currency": "€"}, "currency", "3-letter code"),
        ({"language": "de"}, "language", "'de' is not supported; use nl or en"),
        ({"timezone": "Amsterdam"}, "timezone", "not a time zone name"),
        ({"due_date": "31-02-2026"}, "due_date", "not a real date"),
        ({"due_date": "next week"}, "due_date", "not a date"),
        ({"risk_score": "150"}, "risk_score", "outside 0..100"),
        ({"risk_score": "high"}, "risk_score", "not a number"),
        ({"phone": "06 1234"}, "phone", "'06 1234' is not a valid number for region NL"),
        ({"phone": "0900 1234567"}, "phone", "premium-rate"),
        ({"phone": ""}, "phone", "no phone number"),
        ({"phone": "onbekend", "phone2": "06 1"}, "phone", "no number the dialer can call"),
    ],
)
def test_each_unusable_value_rejects_its_row_naming_line_and_column(
    tmp_path: Path, changes: dict[str, str], column: str, words: str
) -> None:
    item = one_row(tmp_path, **changes)
    assert isinstance(item, Rejected)
    assert (item.line, item.column) == (2, column)
    assert words in item.reason
    assert isinstance(item.raw, dict) and item.raw["name"] == changes.get("name", "Jan de Vries")


def test_amounts_as_people_write_them(tmp_path: Path) -> None:
    for text, expected in [("45.20", "45.20"), ("45,2", "45.20"), ("1234", "1234.00"), ("€ 45,20", "45.20"),
                           ("EUR 45.20", "45.20"), ("45,20 €", "45.20"), (" 7 ", "7.00")]:
        item = one_row(tmp_path, amount_due=text)
        assert isinstance(item, Accepted), (text, item)
        assert str(item.debtor.amount_due) == expected


def test_dates_and_scores_as_people_write_them(tmp_path: Path) -> None:
    for text in ("2026-11-01", "01-11-2026", "01/11/2026", "1-11-2026"):
        item = one_row(tmp_path, due_date=text)
        assert isinstance(item, Accepted) and item.debtor.due_date == dt.date(2026, 11, 1)
    for text, expected in (("0.35", 0.35), ("35", 35.0), ("0,5", 0.5), ("100", 100.0)):
        item = one_row(tmp_path, risk_score=text)
        assert isinstance(item, Accepted) and item.debtor.risk_score == expected


def test_duplicate_debtor_id_rejects_the_later_row(tmp_path: Path) -> None:
    other = GOOD.replace("06 12345678", "06 87654321")
    items = read(write(tmp_path, f"{HEADER}\n{GOOD}\n\n{other}\n"))
    assert isinstance(items[0], Accepted)
    assert isinstance(items[1], Rejected)
    assert (items[1].line, items[1].column) == (4, "debtor_id")
    assert items[1].reason == "duplicate debtor_id 'D1', first on line 2"


def test_line_numbers_are_physical_lines_even_after_a_multiline_cell(tmp_path: Path) -> None:
    text = ('debtor_id,name,phone,amount,note\n'
            'A,Jan,0612345678,1,"line one\nline two"\n'
            'B,Piet,06 1,1,\n')
    items = read(write(tmp_path, text))
    assert isinstance(items[0], Accepted) and items[0].debtor.custom == {"note": "line one\nline two"}
    assert isinstance(items[1], Rejected) and items[1].line == 4


def test_row_with_wrong_number_of_fields(tmp_path: Path) -> None:
    items = read(write(tmp_path, f"{HEADER}\n{GOOD},extra\n{GOOD.replace('D1', 'D2')}\n"))
    bad = items[0]
    assert isinstance(bad, Rejected) and bad.column is None and bad.line == 2
    assert "12 fields but the header has 11" in bad.reason
    assert bad.raw == f"{GOOD},extra"
    assert isinstance(items[1], Accepted)


def test_trailing_delimiters_from_excel_are_harmless(tmp_path: Path) -> None:
    items = read(write(tmp_path, "debtor_id;name;phone;amount;\nE1;Els;0612345678;3;\n;;;;\n"))
    assert len(items) == 1 and isinstance(items[0], Accepted) and items[0].debtor.custom == {}


def test_a_row_with_broken_encoding_is_rejected_and_the_rest_read(tmp_path: Path) -> None:
    content = (f"{HEADER}\n{GOOD}\n".encode()
               + GOOD.replace("D1", "D2").replace("Jan de Vries", "Ren\xe9").encode("latin-1") + b"\n"
               + GOOD.replace("D1", "D3").replace("06 12345678", "06 23456789").encode() + b"\n")
    items = read(write(tmp_path, content))
    assert [type(i) for i in items] == [Accepted, Rejected, Accepted]
    bad = items[1]
    assert isinstance(bad, Rejected)
    assert (bad.line, bad.column) == (3, "name")
    assert bad.reason.startswith("not valid UTF-8 text: byte 0xe9")


def test_latin1_file_reads_with_the_encoding_option(tmp_path: Path) -> None:
    content = f"{HEADER}\n{GOOD}\n".replace("Jan de Vries", "René Dupré").encode("cp1252")
    (item,) = read(write(tmp_path, content), encoding="cp1252")
    assert isinstance(item, Accepted) and item.debtor.name == "René Dupré"


# --- number flags -----------------------------------------------------------------------------


def test_a_bad_second_number_is_flagged_and_the_debtor_kept(tmp_path: Path) -> None:
    item = one_row(tmp_path, phone2="0900 1234567")
    assert isinstance(item, Accepted)
    assert item.debtor.phones == ("+31612345678",)
    (flag,) = item.flags
    assert (flag.line, flag.column, flag.raw) == (2, "phone2", "0900 1234567")
    assert "premium-rate" in flag.reason


def test_same_number_twice_on_one_debtor_is_kept_once_silently(tmp_path: Path) -> None:
    item = one_row(tmp_path, phone2="+31 6 1234 5678")
    assert isinstance(item, Accepted)
    assert item.debtor.phones == ("+31612345678",) and item.flags == []


def test_number_shared_between_debtors_is_flagged_on_the_later_one(tmp_path: Path) -> None:
    household = GOOD.replace("D1", "D2").replace("Jan", "Els").replace("06 12345678", "+31612345678")
    first, second = read(write(tmp_path, f"{HEADER}\n{GOOD}\n{household}\n"))
    assert isinstance(first, Accepted) and first.flags == []
    assert isinstance(second, Accepted) and second.debtor.phones == ("+31612345678",)
    (flag,) = second.flags
    assert (flag.line, flag.column) == (3, "phone")
    assert flag.reason == "'+31612345678' is also the number of debtor D1 (line 2)"


def test_require_mobile_drops_landlines(tmp_path: Path) -> None:
    mixed = GOOD.replace(",,", ",020 1234567,")
    landline_only = GOOD.replace("D1", "D2").replace("06 12345678", "020 7654321")
    text = f"{HEADER}\n{mixed}\n{landline_only}\n"
    mixed, landline_only = read(write(tmp_path, text), require_mobile=True)
    assert isinstance(mixed, Accepted) and mixed.debtor.phones == ("+31612345678",)
    assert [f.column for f in mixed.flags] == ["phone2"] and "not a mobile number" in mixed.flags[0].reason
    assert isinstance(landline_only, Rejected) and landline_only.column == "phone"
    assert "not a mobile number (fixed)" in landline_only.reason


# --- writing rejects and flags ------------------------------------------------------------------


def test_rejects_file_can_be_fixed_and_imported_again(tmp_path: Path) -> None:
    source = write(tmp_path, "Debtor ID;Name;Phone;Amount;Contract\n"
                             "R1;Jan;0612345678;1.234;K1\n"
                             "R2;Piet;0623456789;10;K2\n"
                             "R3;Klaas;06 1;5;K3\n")
    items = read(source)
    out = tmp_path / "rejects.csv"
    with RejectsWriter(out) as rejects:
        rejects.write_all(items)
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["Debtor ID", "Name", "Phone", "Amount", "Contract", "_line", "_column",
                             "_reason"]
    where = [(r["Debtor ID"], r["_line"], r["_column"]) for r in rows]
    assert where == [("R1", "2", "Amount"), ("R3", "4", "Phone")]
    assert "ambiguous" in rows[0]["_reason"]
    # The user fixes the two cells and imports the same file again.
    rows[0]["Amount"], rows[1]["Phone"] = "1234", "06 34567890"
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    again = read(out)
    assert [type(i) for i in again] == [Accepted, Accepted]
    assert all(i.debtor.custom.keys() == {"contract"} for i in accepted(again))


def test_rejects_file_keeps_unparseable_lines_and_original_bytes(tmp_path: Path) -> None:
    content = (f"{HEADER}\n".encode()
               + GOOD.replace("Jan de Vries", "Ren\xe9").encode("latin-1") + b"\n"
               + f"{GOOD},extra\n".encode())
    out = tmp_path / "rejects.csv"
    with RejectsWriter(out) as rejects:
        rejects.write_all(read(write(tmp_path, content)))
    assert rejects.count == 2
    data = out.read_bytes()
    assert b"Ren\xe9" in data  # exactly what the user had, to fix in their own editor
    header = data.split(b"\n")[0].decode().strip()
    assert header.endswith("_line,_column,_reason,_raw")


def test_flags_file_lists_line_debtor_column_number_reason(tmp_path: Path) -> None:
    item = one_row(tmp_path, phone2="06 1234")
    assert isinstance(item, Accepted)
    out = tmp_path / "flags.csv"
    with FlagsWriter(out) as flags:
        flags.write_accepted(item)
        flags.write(NumberFlag(9, "phone", "+31612345678", "also the number of stored debtor X"), "D9")
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows == [
        ["line", "debtor_id", "column", "number", "reason"],
        ["2", "D1", "phone2", "06 1234", "'06 1234' is not a valid number for region NL"],
        ["9", "D9", "phone", "+31612345678", "also the number of stored debtor X"],
    ]


def test_report_summary(tmp_path: Path) -> None:
    report = ImportReport()
    for item in read(DATA / "debtors.jsonl"):
        report.add(item)
    assert (report.accepted, report.rejected) == (3, 2)
    assert report.summary().startswith("5 rows read: 3 imported, 2 rejected")
    assert "(whole row) 2" in report.summary()


def test_json_lines_rejects_become_csv_rows_that_import_again(tmp_path: Path) -> None:
    source = write(tmp_path, '{"id": "J1", "name": "Sanne", "phones": ["06 12345678", "020 1234567"], '
                             '"amount": 1.234, "tags": {"vip": true}}\n', "list.jsonl")
    out = tmp_path / "rejects.csv"
    with RejectsWriter(out) as rejects:
        rejects.write_all(read(source))
    with out.open(newline="", encoding="utf-8") as fh:
        (row,) = csv.DictReader(fh)
    assert row["phones"] == "06 12345678; 020 1234567"
    assert (row["amount"], row["tags"], row["_column"]) == ("1.234", '{"vip": true}', "amount")
    row["amount"] = "1234"
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(row))
        writer.writeheader()
        writer.writerow(row)
    (again,) = read(out)
    assert isinstance(again, Accepted)
    assert again.debtor.phones == ("+31612345678", "+31201234567")
    assert again.debtor.custom == {"tags": '{"vip": true}'}


def test_ids_and_names_a_person_cannot_see_or_that_run_on_are_rejected_and_the_rest_imported(
        tmp_path: Path) -> None:
    padding = [[f"P{i}", "Padding Row", f"06 2{i:07d}", "1"] for i in range(3000)]   # past the first 64 KiB
    bad = [
        (["N\x00UL", "Nul Id", "06 11111111", "1"], "debtor_id", "U+0000 (control character) at character 2"),
        (["B\x07", "Bell Id", "06 11111112", "1"], "debtor_id", "U+0007"),
        (["E1", "\x1b[31mRed\x1b[0m", "06 11111113", "1"], "name", "U+001B"),
        (["L1\nL2", "Newline Id", "06 11111114", "1"], "debtor_id", "U+000A"),
        (["R\u202e1", "Override Id", "06 11111115", "1"], "debtor_id", "U+202E (right-to-left override)"),
        (["R2", "Anna \u202eneK", "06 11111116", "1"], "name", "right-to-left override"),
        (["X" * 10_000, "Long Id", "06 11111117", "1"], "debtor_id",
         "is 10,000 characters long; at most 128"),
        (["Y1", "Y" * 10_000, "06 11111118", "1"], "name", "is 10,000 characters long; at most 200"),
    ]
    good = [["ACME:2024/17,b", "Zoë Çelik", "06 11111119", "1"],
            ["Ирина-7", "Ирина Петрова", "06 11111120", "1"],
            ["ف۱", "مهر\u200cناز", "06 11111121", "1"]]      # a zero-width non-joiner belongs in names
    path = tmp_path / "forms.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["debtor_id", "name", "phone", "amount"], *padding, *(r for r, _, _ in bad),
                                  *good])
    items = read(path)
    refused = rejected(items)
    assert [(r.column, r.raw["debtor_id"]) for r in refused] == [(c, row[0]) for row, c, _ in bad]
    for item, (_, _, words) in zip(refused, bad, strict=True):
        assert words in item.reason
    assert [a.debtor.debtor_id for a in accepted(items)][-3:] == [row[0] for row in good]
    assert [a.debtor.name for a in accepted(items)][-3:] == [row[1] for row in good]


def test_a_file_with_thousands_of_columns_is_refused_whole_and_a_json_row_with_thousands_of_keys_alone(
        tmp_path: Path) -> None:
    header = ["debtor_id", "name", "phone", "amount"] + [f"c{i}" for i in range(50_000)]
    with pytest.raises(InputError, match="the header has 50,004 columns; a debtor list has at most 1,000"):
        read(write(tmp_path, ",".join(header) + "\nD1,A B,0612345678,1" + "," * 50_000 + "\n"))
    wide = {"id": "W1", "name": "A B", "phone": "0612345678", "amount": "1"}
    wide |= {f"c{i}": i for i in range(50_000)}
    narrow = {"id": "N1", "name": "A B", "phone": "0612345679", "amount": "1"}
    items = read(write(tmp_path, json.dumps(wide) + "\n" + json.dumps(narrow) + "\n", "wide.jsonl"))
    assert [(type(i).__name__, i.line) for i in items] == [("Rejected", 1), ("Accepted", 2)]
    assert rejected(items)[0].reason == "the row has 50,004 keys; at most 1,000"
