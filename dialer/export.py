"""``callpact export``: every attempt of a campaign as CSV, one row per attempt, in dial order."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from dialer.model import ATTEMPT_TIMESTAMPS
from dialer.store import Store

COLUMNS = (
    "attempt_id", "campaign", "debtor_id", "phone", "attempt_no", "outcome", "state",
    *ATTEMPT_TIMESTAMPS, "agent", "detail",
)


def iso(epoch_text: str) -> str:
    """Stored epoch seconds as ISO 8601 UTC with milliseconds; empty stays empty."""
    if not epoch_text:
        return ""
    moment = dt.datetime.fromtimestamp(float(epoch_text), tz=dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def export_attempts(store: Store, campaign: str, out: Path) -> int:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    count = 0
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        async for row in store.iter_attempts(campaign):
            values = []
            for col in COLUMNS:
                value = row.get(col, "")
                values.append(iso(value) if col in ATTEMPT_TIMESTAMPS else value)
            if not row.get("outcome"):
                values[COLUMNS.index("outcome")] = ""
            writer.writerow(values)
            count += 1
    tmp.replace(out)
    return count
