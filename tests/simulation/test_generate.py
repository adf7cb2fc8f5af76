"""Generated debtor lists: reproducible, realistic, and importable except where meant not to be."""

from __future__ import annotations

import datetime as dt
import importlib.util
from decimal import Decimal
from pathlib import Path

import phonenumbers

from dialer.debtor_list import Accepted, ImportOptions, Rejected, read_debtors
from dialer.simulation.debtor_generator import (
    BROKEN_NUMBERS,
    COLUMNS,
    generate_debtor_rows,
    write_debtors_csv,
)

TODAY = dt.date(2026, 11, 2)
TOOL = Path(__file__).resolve().parents[2] / "tools" / "gen_debtors.py"


def test_same_seed_same_list_other_seed_other_list() -> None:
    first = list(generate_debtor_rows(300, seed=4, today=TODAY))
    assert first == list(generate_debtor_rows(300, seed=4, today=TODAY))
    assert first != list(generate_debtor_rows(300, seed=5, today=TODAY))
    assert all(tuple(row) == COLUMNS for row in first)


def test_every_row_imports_except_the_intended_broken_ones(tmp_path: Path) -> None:
    path = tmp_path / "debtors.csv"
    assert write_debtors_csv(path, 3000, seed=2, invalid_share=0.05, today=TODAY) == 3000
    generated = generate_debtor_rows(3000, seed=2, invalid_share=0.05, today=TODAY)
    rows = {row["debtor_id"]: row for row in generated}
    broken = {i for i, row in rows.items() if row["phone"] in BROKEN_NUMBERS}
    assert 80 < len(broken) < 220  # about 5%
    with read_debtors(path, ImportOptions()) as items:
        for item in items:
            if isinstance(item, Rejected):
                assert isinstance(item.raw, dict)
                debtor_id = item.raw["debtor_id"]
                assert debtor_id in broken and not rows[debtor_id]["phone2"], item
                assert item.column == "phone"
            else:
                assert isinstance(item, Accepted)
                debtor_id = item.debtor.debtor_id
                if debtor_id in broken:  # it kept a good second number
                    assert [f.column for f in item.flags] == ["phone"], item
                else:
                    assert item.flags == [], item  # in particular: no number shared by accident
                    expected = 2 if rows[debtor_id]["phone2"] else 1
                    assert len(item.debtor.phones) == expected


def test_numbers_are_valid_dutch_numbers_and_unique() -> None:
    seen: set[str] = set()
    for row in generate_debtor_rows(2000, seed=3, invalid_share=0.0, today=TODAY):
        for raw in (row["phone"], row["phone2"]):
            if not raw:
                continue
            number = phonenumbers.parse(raw, "NL")
            assert phonenumbers.is_valid_number(number), raw
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            assert e164.startswith("+31") and e164 not in seen
            seen.add(e164)


def test_values_look_like_a_collections_portfolio() -> None:
    rows = list(generate_debtor_rows(2000, seed=1, today=TODAY))
    amounts = sorted(Decimal(row["amount_due"]) for row in rows)
    assert amounts[0] >= Decimal("25.00") and amounts[-1] <= Decimal("5000.00")
    assert all(row["amount_due"].split(".")[1].isdigit() and len(row["amount_due"].split(".")[1]) == 2
               for row in rows)
    assert amounts[len(amounts) // 2] < Decimal("500")  # most debts are small
    english = sum(row["language"] == "en" for row in rows) / len(rows)
    assert 0.10 < english < 0.20
    second = sum(bool(row["phone2"]) for row in rows) / len(rows)
    assert 0.06 < second < 0.14
    assert len({row["invoice"] for row in rows}) == len(rows)
    for row in rows:
        text = row["due_date"]
        due = dt.date.fromisoformat(text) if text[4] == "-" else dt.datetime.strptime(text, "%d-%m-%Y").date()
        assert 1 <= (TODAY - due).days <= 60
        assert 0 <= float(row["risk_score"]) <= 1
        assert row["segment"] in ("consumer", "smb") and row["contract"]


def test_cli_writes_the_requested_rows(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("gen_debtors", TOOL)
    assert spec and spec.loader
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out = tmp_path / "list.csv"
    assert tool.main(["--rows", "50", "--out", str(out), "--seed", "9", "--today", "2026-11-02"]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(COLUMNS) and len(lines) == 51
    again = tmp_path / "again.csv"
    tool.main(["--rows", "50", "--out", str(again), "--seed", "9", "--today", "2026-11-02"])
    assert again.read_bytes() == out.read_bytes()
