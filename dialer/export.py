"""``callpact export``: every attempt of a campaign as CSV, one row per attempt, in dial order, with
what its IVR flow recorded; and the campaign's inbound calls back with the routing rule that fired."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

from dialer.core.csv_cells import escape_row
from dialer.core.records import ATTEMPT_TIMESTAMPS
from dialer.store.redis_store import Store

#: What the IVR flow recorded (empty for calls no flow ran on); see ivr_flows.interpreter.FlowResult.
IVR_COLUMNS = (
    "ivr_flow", "ivr_language", "ivr_outcome", "ivr_path", "ivr_inputs", "message_heard", "ivr_ended_by",
    "promise_date", "promise_amount", "plan_terms", "plan_requested", "link_sent", "dispute", "already_paid",
    "webhooks", "voicemail_after_beep",
)
COLUMNS = (
    "attempt_id", "campaign", "debtor_id", "phone", "attempt_no", "outcome", "state",
    *ATTEMPT_TIMESTAMPS, "agent", "detail", *IVR_COLUMNS,
)
CALLBACK_COLUMNS = (
    "call_id", "caller", "arrived_at", "ended_at", "rule", "route", "allow_transfer", "debtor_id",
    "candidates", "handled_by", "agent", "ivr_flow", "ivr_outcome", "ivr_path", "ivr_inputs", "message_heard",
    "promise_date", "promise_amount", "plan_terms", "link_sent", "dispute", "already_paid", "facts", "detail",
)


def iso(epoch_text: str) -> str:
    """Stored epoch seconds as ISO 8601 UTC with milliseconds; empty stays empty."""
    if not epoch_text:
        return ""
    moment = dt.datetime.fromtimestamp(float(epoch_text), tz=dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def _write(rows: AsyncIterator[dict[str, str]], columns: tuple[str, ...], instants: Iterable[str],
                 out: Path) -> int:
    """Write ``rows`` as CSV (stored epoch ``instants`` as ISO 8601) to ``out``, atomically; cells a
    spreadsheet would run as a formula (a debtor id ``=HYPERLINK(...)``) are escaped, see core.csv_cells."""
    instants = set(instants)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    count = 0
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        async for row in rows:
            cells = (iso(row.get(c, "")) if c in instants else row.get(c, "") for c in columns)
            writer.writerow(escape_row(cells))
            count += 1
    tmp.replace(out)
    return count


async def export_attempts(store: Store, campaign: str, out: Path) -> int:
    return await _write(store.iter_attempts(campaign), COLUMNS, ATTEMPT_TIMESTAMPS, out)


async def export_callbacks(store: Store, campaign: str, out: Path) -> int:
    """Every inbound call back with the routing rule that fired and what came of it; the caller's
    number unmasked, like the attempts export, so a caller no debtor matches can be rung back."""
    return await _write(store.iter_callbacks(campaign), CALLBACK_COLUMNS, ("arrived_at", "ended_at"), out)
