"""The phone index (number -> debtors) against a real Redis: a caller back is matched to the debtor whose
number it is, whatever characters that debtor's id holds, in stores written now and by earlier versions."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

from dialer.campaign import parse_campaign
from dialer.core.records import Debtor
from dialer.hopper_import import import_file
from dialer.store.redis_store import Keys, Store

HEADER = ["debtor_id", "name", "phone", "amount_due", "currency", "timezone"]
A_B_PHONE, B_PHONE = "+31611111111", "+31622222222"


async def import_rows(store: Store, tmp_path: Path, rows: list[list[str]]) -> None:
    cfg = parse_campaign("name: c\n", "c.yaml")
    await store.save_campaign(cfg.name, "name: c\n")
    path = tmp_path / "debtors.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(rows)
    result = await import_file(store, cfg, path, now=1_800_000_000.0)
    assert result.accepted == len(rows), result.first_problems


async def callers(store: Store, number: str) -> list[str]:
    return sorted(d.debtor_id for d, _, _ in await store.callback_candidates("c", number, 0.0))


async def test_a_caller_back_on_a_comma_id_debtors_number_is_that_debtor_not_another(
        store: Store, tmp_path: Path) -> None:
    await import_rows(store, tmp_path, [
        ["A,B", "Anna Bakker", "06 11111111", "10.00", "EUR", "Europe/Amsterdam"],
        ["B", "Bram de Boer", "06 22222222", "20.00", "EUR", "Europe/Amsterdam"],
    ])
    assert await callers(store, A_B_PHONE) == ["A,B"]
    assert await callers(store, B_PHONE) == ["B"]
    assert await store.phone_owners("c", [A_B_PHONE]) == {A_B_PHONE: ["A,B"]}


async def test_ids_with_quotes_brackets_and_commas_sharing_a_number_stay_whole(store: Store,
                                                                               tmp_path: Path) -> None:
    odd = ['B","C', "[B]", "B\\,C", "B"]
    await import_rows(store, tmp_path, [
        [i, f"Debtor {n}", "06 22222222", "10.00", "EUR", "Europe/Amsterdam"] for n, i in enumerate(odd)
    ])
    await import_rows(store, tmp_path, [["B", "Debtor B", "06 22222222", "10.00", "EUR", "Europe/Amsterdam"]])
    assert await callers(store, B_PHONE) == sorted(odd)
    assert await store.phone_owners("c", [B_PHONE]) == {B_PHONE: odd}       # once each, in import order


async def test_a_store_written_by_the_comma_format_is_read_and_repaired_by_reimporting(
        store: Store, tmp_path: Path) -> None:
    keys = Keys("c")
    plain = [Debtor(i, f"Debtor {i}", (B_PHONE,), Decimal("1.00")) for i in ("D1", "D2")]
    await store.upsert_debtors("c", [(d, 100.0, 0.0) for d in plain])
    await store.r.delete(keys.phone_owners)
    # As an earlier callpact left them: comma-separated ids in cp:c:phones.
    await store.r.hset(keys.legacy_phones, mapping={B_PHONE: "D1,D2", A_B_PHONE: "A,B"})
    assert await callers(store, B_PHONE) == ["D1", "D2"]

    await import_rows(store, tmp_path, [
        ["A,B", "Anna Bakker", "06 11111111", "10.00", "EUR", "Europe/Amsterdam"],
        ["D3", "Debtor 3", "06 22222222", "10.00", "EUR", "Europe/Amsterdam"],
    ])
    assert await callers(store, A_B_PHONE) == ["A,B"]
    assert await store.phone_owners("c", [B_PHONE]) == {B_PHONE: ["D1", "D2", "D3"]}
    assert not await store.r.exists(keys.legacy_phones)                   # nothing left to migrate
