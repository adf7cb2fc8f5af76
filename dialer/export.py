"""``callpact export``: every attempt of a campaign as CSV, one row per attempt, in dial order, with
what its IVR flow recorded; and the campaign's inbound calls back with the routing rule that fired."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from dialer.model import ATTEMPT_TIMESTAMPS
from dialer.store import Store

#: What the IVR flow recorded (empty for calls no flow ran on); see ivr_flows.interpreter.FlowResult.
IVR_COLUMNS = (
    "ivr_flow", "ivr_language", "ivr_outcome", "ivr_path", "ivr_inputs", "message_heard", "ivr_ended_by",
    "promise_date", "promise_amount", "plan_terms", "plan_requested", "link_sent", "dispute", "already_paid",
    "webhooks",
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


async def export_callbacks(store: Store, campaign: str, out: Path) -> int:
    """Every inbound call back with the routing rule that fired and what came of it (caller masked)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    count = 0
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(CALLBACK_COLUMNS)
        async for row in store.iter_callbacks(campaign):
            writer.writerow([iso(row.get(c, "")) if c in ("arrived_at", "ended_at") else row.get(c, "")
                             for c in CALLBACK_COLUMNS])
            count += 1
    tmp.replace(out)
    return count
