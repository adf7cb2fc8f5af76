"""The campaign that is never closed: for the tests, the simulator and the benchmark.

They drive the real engine at whatever clock time they run (virtual days that
start on some Tuesday morning, or CI's wall clock at 03:00 on a Sunday), so
their campaign must never be closed by calling hours: no jurisdiction, no public
holidays, every day 00:00-24:00. That part is written once here; each caller
says only what it varies. The text goes through the real campaign loader like
any supervisor's file, so a key or value it gets wrong is refused the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from dialer.windows import WEEKDAYS

__all__ = ["always_open_campaign"]

# A duration as a campaign file writes it: seconds, or text like "60s", "2h", "72h".
Duration = float | str

_WHOLE_DAY = "00:00-24:00"


def always_open_campaign(
    name: str,
    *,
    dial_mode: str | None = None,
    caller_id: str | None = None,
    ivr_flow: str | None = None,
    ivr_params: Mapping[str, Any] | None = None,
    webhook_url: str | None = None,
    webhook_secret_env: str | None = None,
    ratio: float | None = None,
    max_lines: int | None = None,
    calls_per_second: float | None = None,
    ring_timeout: Duration | None = None,
    max_abandon_rate: float | None = None,
    abandon_window: Duration | None = None,
    max_dial_level: float | None = None,
    agent_patience: Duration | None = None,
    amd_false_machine_rate: float | None = None,
    attempts: Mapping[str, int | Duration] | None = None,
    retry: Mapping[str, Duration] | None = None,
) -> str:
    """The campaign YAML text: open around the clock, plus the options given.

    An option left as None is not written, so the campaign loader's default applies.
    ``attempts`` and ``retry`` take the keys of the campaign file's sections
    (``{"max_per_day": 20, "min_gap": "60s"}``, ``{"no_answer": "60s"}``).
    """
    document: dict[str, Any] = {"name": name}
    _put(document, "dial_mode", None if dial_mode is None else str(dial_mode))
    _put(document, "caller_id", caller_id)
    _put(document, "ivr_flow", ivr_flow)
    document["jurisdiction"] = "none"
    _put(document, "ivr_params", _plain(ivr_params))
    if webhook_url is not None:
        document["webhooks"] = {"url": webhook_url}
        _put(document["webhooks"], "secret_env", webhook_secret_env)
    pacing: dict[str, Any] = {}
    for key, value in (("max_abandon_rate", max_abandon_rate), ("abandon_window", abandon_window),
                       ("ratio", ratio), ("max_lines", max_lines), ("calls_per_second", calls_per_second),
                       ("ring_timeout", ring_timeout), ("agent_patience", agent_patience),
                       ("amd_false_machine_rate", amd_false_machine_rate)):
        _put(pacing, key, value)
    if max_dial_level is not None:
        pacing["dial_level"] = {"max": max_dial_level}
    _put(document, "pacing", pacing or None)
    document["calling_hours"] = {"holidays": False, "weekly": {day: [_WHOLE_DAY] for day in WEEKDAYS}}
    _put(document, "attempts", _plain(attempts))
    _put(document, "retry", _plain(retry))
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=None, allow_unicode=True)


def _put(section: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        section[key] = value


def _plain(mapping: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A plain dict (what safe_dump writes), or None for no mapping or an empty one."""
    return dict(mapping) if mapping else None
