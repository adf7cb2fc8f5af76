"""``callpact import``: a debtor list into a campaign's hopper, batch by batch.

The reading and checking of rows is :mod:`dialer.debtor_list` (pure); this module
adds what needs the store: numbers already owned by other stored debtors are
flagged, each good row gets its first due instant and priority, and rows are
written in batches that are each one atomic Redis script — a row is stored
whole or not at all, and a failure part-way leaves every earlier batch stored
(re-running the import is safe: debtors are matched on their id).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dialer.campaign import CampaignConfig
from dialer.core.errors import StoreUnavailable
from dialer.core.records import Debtor
from dialer.debtor_list import (
    Accepted,
    FlagsWriter,
    ImportOptions,
    NumberFlag,
    Rejected,
    RejectsWriter,
    read_debtors,
)
from dialer.scheduling import first_due, priority_score
from dialer.store.redis_store import Store

BATCH = 1000


@dataclass
class ImportResult:
    path: Path
    accepted: int = 0
    rejected: int = 0
    flagged: int = 0
    created: int = 0
    unschedulable: int = 0
    seconds: float = 0.0
    rejects_path: Path | None = None
    flags_path: Path | None = None
    first_problems: list[str] = field(default_factory=list)

    @property
    def updated(self) -> int:
        return self.accepted - self.created


def count_data_lines(path: Path) -> int:
    """Physical lines after the header: the progress bar's total (cheap, bytes only)."""
    count = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            count += chunk.count(b"\n")
    return max(0, count - 1) if path.suffix.lower() not in (".jsonl", ".ndjson") else count


async def import_file(
    store: Store,
    cfg: CampaignConfig,
    path: Path,
    *,
    rejects_path: Path | None = None,
    flags_path: Path | None = None,
    now: float | None = None,
    encoding: str = "utf-8",
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    now = time.time() if now is None else now
    result = ImportResult(path=path)
    rejects_path = rejects_path or path.with_name(path.name + ".rejects.csv")
    flags_path = flags_path or path.with_name(path.name + ".flags.csv")
    options = ImportOptions(
        default_region=cfg.numbers.default_region,
        require_mobile=cfg.numbers.require_mobile,
        default_timezone=cfg.windows.default_timezone,
        encoding=encoding,
    )
    started = time.perf_counter()
    batch: list[Accepted] = []
    last_line = 0
    # Open (and sniff) the list first: a file refused as a whole leaves no empty rejects/flags files.
    reader = read_debtors(path, options)
    with reader, RejectsWriter(rejects_path) as rejects, FlagsWriter(flags_path) as flags:
        async def flush() -> None:
            await _store_batch(store, cfg, batch, now, result, flags)
            batch.clear()

        for item in reader:
            if isinstance(item, Rejected):
                rejects.write(item)
                result.rejected += 1
                if len(result.first_problems) < 10:
                    col = f", column {item.column}" if item.column else ""
                    result.first_problems.append(f"{path}, line {item.line}{col}: {item.reason}")
            else:
                flags.write_accepted(item)
                result.flagged += len(item.flags)
                batch.append(item)
                if len(batch) >= BATCH:
                    try:
                        await flush()
                    except StoreUnavailable as exc:
                        raise StoreUnavailable(
                            f"{exc.message}; {result.accepted} rows were stored before line {item.line}, "
                            "re-run the import to store the rest (already stored debtors are updated, "
                            "not duplicated)",
                            where=exc.where,
                        ) from None
            last_line = item.line
            if progress is not None:
                progress(last_line)
        await flush()
    result.seconds = time.perf_counter() - started
    result.rejects_path = rejects_path if result.rejected else None
    result.flags_path = flags_path if result.flagged else None
    for unused in (rejects_path, flags_path):
        if unused not in (result.rejects_path, result.flags_path):
            unused.unlink(missing_ok=True)
    return result


async def _store_batch(store: Store, cfg: CampaignConfig, batch: list[Accepted], now: float,
                       result: ImportResult, flags: FlagsWriter) -> None:
    if not batch:
        return
    numbers = sorted({phone for item in batch for phone in item.debtor.phones})
    owners = await store.phone_owners(cfg.name, numbers)
    rows: list[tuple[Debtor, float, float]] = []
    due_by_zone: dict[str, float | None] = {}
    for item in batch:
        debtor = item.debtor
        for phone in debtor.phones:
            others = [d for d in owners.get(phone, []) if d != debtor.debtor_id]
            if others:
                flags.write(NumberFlag(item.line, "phone", phone,
                                       f"also the number of stored debtor {', '.join(others[:3])}"),
                            debtor.debtor_id)
                result.flagged += 1
        # A fresh debtor's first due instant depends only on its time zone (same ``now``, no history).
        if debtor.timezone not in due_by_zone:
            due_by_zone[debtor.timezone] = first_due(debtor, cfg, now)
        due = due_by_zone[debtor.timezone]
        if due is None:
            result.unschedulable += 1
            due = float("inf")
        rows.append((debtor, due, priority_score(debtor, cfg)))
    result.created += await store.upsert_debtors(cfg.name, rows)
    result.accepted += len(rows)
