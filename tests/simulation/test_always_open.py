"""The always-open campaign of the tests, the simulator and the benchmark: loads, carries its options,
and is open at every hour of every day."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from dialer.campaign import DialMode, parse_campaign
from dialer.core.errors import ConfigError
from dialer.simulation.always_open import always_open_campaign
from dialer.windows import Jurisdiction

TIMEZONES = ("Europe/Amsterdam", "America/New_York", "Asia/Tokyo")


def test_the_options_given_arrive_in_the_loaded_campaign() -> None:
    text = always_open_campaign(
        "opts", dial_mode="ratio", caller_id="+31202101234", ivr_params={"max_promise_days": 10},
        webhook_url="http://127.0.0.1:8080/events", webhook_secret_env="HOOK_SECRET",
        ratio=2.5, max_lines=7, calls_per_second=3, ring_timeout="30s", max_abandon_rate=0.02,
        abandon_window="12h", max_dial_level=4.0, agent_patience=1.5,
        attempts={"max_per_day": 20, "max_per_week": 50, "max_total": 60, "min_gap": "60s"},
        retry={"no_answer": "10m", "busy": 120, "abandoned": "96h"})
    cfg = parse_campaign(text, "always open")
    assert (cfg.name, cfg.dial_mode, cfg.caller_id) == ("opts", DialMode.RATIO, "+31202101234")
    assert cfg.jurisdiction is Jurisdiction.NONE
    assert cfg.ivr_params == {"max_promise_days": 10}
    assert cfg.webhooks is not None
    assert (cfg.webhooks.url, cfg.webhooks.secret_env) == ("http://127.0.0.1:8080/events", "HOOK_SECRET")
    p = cfg.pacing
    assert (p.ratio, p.max_lines, p.calls_per_second, p.ring_timeout_s) == (2.5, 7, 3, 30)
    assert (p.max_abandon_rate, p.abandon_window_s, p.agent_patience_s) == (0.02, 12 * 3600, 1.5)
    assert (p.min_dial_level, p.max_dial_level) == (1.0, 4.0)
    a = cfg.attempts
    assert (a.max_per_day, a.max_per_week, a.max_total, a.min_gap_s) == (20, 50, 60, 60)
    assert (cfg.retry.no_answer, cfg.retry.busy, cfg.retry.abandoned) == (600, 120, 96 * 3600)
    assert cfg.text == text


def test_options_left_out_keep_the_loaders_defaults() -> None:
    cfg = parse_campaign(always_open_campaign("bare"), "always open")
    defaults = parse_campaign("name: bare\n", "plain")
    assert cfg.jurisdiction is Jurisdiction.NONE and defaults.jurisdiction is Jurisdiction.NL
    assert (cfg.dial_mode, cfg.caller_id, cfg.ivr_flow, cfg.webhooks, cfg.ivr_params) == \
        (defaults.dial_mode, None, defaults.ivr_flow, None, {})
    assert (cfg.pacing, cfg.attempts, cfg.retry) == (defaults.pacing, defaults.attempts, defaults.retry)


@pytest.mark.parametrize("tz", TIMEZONES)
def test_the_calling_window_is_open_at_every_moment_of_the_year(tz: str) -> None:
    """Every 30 minutes of a whole year, in the debtor's zone: weekends, both DST switches,
    Christmas and King's Day (closed days for a Dutch campaign) and the minute before midnight."""
    windows = parse_campaign(always_open_campaign("open"), "always open").windows
    zone = ZoneInfo(tz)
    start = dt.datetime(2026, 1, 1, tzinfo=zone).timestamp()
    closed = [t for t in range(int(start), int(start) + 366 * 86400, 1800) if not windows.is_open(t, tz)]
    assert closed == []
    for day in (dt.date(2026, 3, 29), dt.date(2026, 4, 27), dt.date(2026, 10, 25), dt.date(2026, 12, 25)):
        last_minute = dt.datetime.combine(day, dt.time(23, 59, 59), zone).timestamp()
        assert windows.is_open(last_minute, tz)
        assert windows.next_open(last_minute, tz) == last_minute


def test_a_misspelt_option_is_refused_by_the_campaign_loader() -> None:
    text = always_open_campaign("typo", retry={"no_anwser": "60s"})
    with pytest.raises(ConfigError, match="no_anwser"):
        parse_campaign(text, "always open")
