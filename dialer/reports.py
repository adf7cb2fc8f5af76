"""What a campaign has done, as the law and a supervisor count it: the report behind
``callpact campaign status`` and the demo's summary.

The legal figures live here, not where they are printed: the abandon rate as Ofcom counts it
(the people AMD is estimated to have taken for machines count as abandoned), over the whole
campaign, the recent window and the worst clock hour. The CLI prints this report; the demo
and the tests read the same numbers.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from dialer.campaign import parse_campaign
from dialer.pacing.settings import amd_false_positives, ofcom_abandon_rate
from dialer.store.redis_store import Store
from dialer.windows import CallingWindows, zone


async def campaign_report(store: Store, name: str, now: float | None = None) -> dict[str, Any]:
    """One JSON-able mapping (``campaign status --json`` prints it as it is), so scripts, the
    printed table and the demo never compute a rate two ways."""
    now = time.time() if now is None else now
    cfg = parse_campaign(await store.campaign_text(name), f"campaign {name}")
    control = await store.control(name)
    stats = await store.stats(name)
    hopper = await store.hopper_sizes(name, now)
    hourly = await store.hourly_counts(name)
    horizon = now - cfg.pacing.abandon_window_s
    win_live = sum(v[0] for h, v in hourly.items() if h + 3600 > horizon)
    win_ab = sum(v[1] for h, v in hourly.items() if h + 3600 > horizon)
    live, abandoned = stats.get("live", 0), stats.get("abandoned", 0)
    # The rates as the law counts them: with AMD, the people it took for machines are abandoned calls.
    r = cfg.pacing.amd_false_machine_rate
    worst = max((ofcom_abandon_rate(v[0], v[1], r) for v in hourly.values() if v[0] >= 1), default=0.0)
    return {
        "campaign": name,
        "state": control.state,
        "dial_mode": cfg.dial_mode.value,
        "debtors": stats.get("debtors", 0),
        "hopper": hopper,
        "debtors_done": stats.get("status:done", 0),
        "debtors_exhausted": stats.get("status:exhausted", 0),
        "debtors_unreachable": stats.get("status:unreachable", 0),
        "attempts": stats.get("attempts", 0),
        "outcomes": {k.split(":", 1)[1]: v for k, v in sorted(stats.items()) if k.startswith("outcome:")},
        "live_answers": live,
        "abandoned": abandoned,
        "abandon_rate": ofcom_abandon_rate(live, abandoned, r),
        "abandon_rate_window": ofcom_abandon_rate(win_live, win_ab, r),
        "abandon_rate_seen": abandoned / live if live else 0.0,
        "amd_false_machine_rate": r,
        "amd_false_positives": round(amd_false_positives(live, r), 1),
        "abandon_window_hours": cfg.pacing.abandon_window_s / 3600,
        "worst_hour_abandon_rate": worst,
        "max_abandon_rate": cfg.pacing.max_abandon_rate,
        "hourly_cap": cfg.pacing.hourly_cap,
        **_window_report(cfg.windows, now),
        **_ivr_report(stats),
    }


def _window_report(windows: CallingWindows, now: float) -> dict[str, Any]:
    """The calling window in the campaign's own time zone (debtors in other zones may differ):
    "0 due now" on a Sunday is the law at work, and the operator should see so and when it ends."""
    tz = windows.default_timezone
    st = windows.state(now, tz)
    opens = None if st.opens_at is None else dt.datetime.fromtimestamp(st.opens_at, zone(tz)).isoformat()
    return {
        "window_open": st.open,
        "window_opens_at": opens,
        "window_timezone": tz,
        "window_closed_because": st.closed_because,
        "window_closed_by_law": st.closed_by_law,
        "jurisdiction": windows.jurisdiction.value,
    }


def _ivr_report(stats: dict[str, int]) -> dict[str, Any]:
    """What the IVR flows achieved and how callers back were routed (rule by rule)."""
    return {
        "ivr_outcomes": {k.split(":", 1)[1]: v for k, v in sorted(stats.items()) if k.startswith("ivr:")},
        "callbacks": stats.get("callbacks", 0),
        "callbacks_handled_by": {k.split(":", 1)[1]: v for k, v in sorted(stats.items())
                                 if k.startswith("callbacks:")},
        "callback_rules": {k.split(":", 1)[1]: v for k, v in sorted(stats.items())
                           if k.startswith("callback_rule:")},
    }
