"""The pacing engine end to end: real Redis, simulated network, virtual time."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dialer.campaign import CampaignConfig, parse_campaign, set_campaign_key
from dialer.core.records import Debtor, DebtorState
from dialer.core.telephony import Prompt
from dialer.core.virtual_time import real_io, run_virtual
from dialer.engine import CampaignEngine, Clock
from dialer.export import export_attempts
from dialer.scheduling import first_due, priority_score
from dialer.simulation.always_open import always_open_campaign
from dialer.store.redis_store import Store
from sip.distributions import Fixed
from sip.simulated import NetworkProfile, SimulatedAgents, SimulatedCall, SimulatedNetwork

AMS = ZoneInfo("Europe/Amsterdam")
START = dt.datetime(2026, 11, 24, 9, 0, tzinfo=AMS).timestamp()   # a Tuesday



def campaign(mode: str = "progressive", ratio: float = 1.5, lines: int = 50, name: str = "t") -> str:
    return always_open_campaign(
        name, dial_mode=mode, caller_id="+31202101234", ratio=ratio, max_lines=lines, calls_per_second=50,
        attempts={"max_per_day": 20, "max_per_week": 50, "max_total": 50, "min_gap": "60s"},
        retry={"no_answer": "60s", "busy": "60s", "machine": "60s", "failed": "60s", "abandoned": "72h"})


def network(*, agents: int = 1, answer: float = 1.0, machine: float = 0.0, talk: float = 100.0,
            wrap: float = 0.0, ring: float = 5.0, busy: float = 0.0, seed: int = 1) -> SimulatedNetwork:
    profile = NetworkProfile(answer_prob=answer, machine_share=machine, busy_prob=busy, failed_prob=0.0,
                             setup_s=Fixed(0.0), ring_s=Fixed(ring), amd_s=Fixed(0.0))
    return SimulatedNetwork(profile, SimulatedAgents(agents, Fixed(talk), Fixed(wrap), seed=seed), seed=seed)


async def load(store: Store, text: str, n: int, *, now: float = START) -> CampaignConfig:
    cfg = parse_campaign(text, "test campaign")
    await store.save_campaign(cfg.name, text)
    rows = []
    for i in range(n):
        d = Debtor(f"D{i:04d}", f"Debtor {i}", (f"+316{i:08d}",), Decimal("25.00"))
        rows.append((d, first_due(d, cfg, now), priority_score(d, cfg)))
    await store.upsert_debtors(cfg.name, rows)
    await store.set_state(cfg.name, "running")
    return cfg


def simulate(redis_url: str, body: Callable[[Store], Awaitable[Any]]) -> Any:
    """Run ``body`` on a virtual clock with its own store connection."""
    async def main() -> Any:
        store = await Store.open(redis_url, io_guard=real_io)
        try:
            return await body(store)
        finally:
            await store.close()
    return run_virtual(main())


def test_progressive_utilisation_matches_the_closed_form(redis_url: str) -> None:
    """Answer probability 1, ring 5 s, talk 100 s, no wrap: utilisation is 100/105 (ticks add <=0.5 s)."""
    async def body(store: Store) -> tuple[float, dict[str, int], int]:
        cfg = await load(store, campaign("progressive"), 200)
        net = network(agents=1)
        await net.start()
        engine = CampaignEngine(store, net, cfg, clock=Clock(START), tick_s=0.5)
        await engine.run(until_epoch=START + 105 * 40)
        return net.agents.stats().utilisation, await store.stats(cfg.name), engine.counters.abandoned

    utilisation, stats, abandoned = simulate(redis_url, body)
    assert 100 / 105.5 - 0.01 <= utilisation <= 100 / 105 + 1e-6
    assert abandoned == 0
    assert stats["outcome:connected-to-agent"] == stats["attempts"]
    assert 38 <= stats["attempts"] <= 41


def test_every_attempt_ends_with_one_outcome_and_the_export_agrees(redis_url: str, tmp_path: Any) -> None:
    async def body(store: Store) -> tuple[dict[str, int], dict[str, int], list[str]]:
        cfg = await load(store, campaign("ratio", ratio=2.0), 300)
        net = network(agents=3, answer=0.5, machine=0.3, busy=0.1, talk=60)
        await net.start()
        engine = CampaignEngine(store, net, cfg, clock=Clock(START))
        await engine.run(until_epoch=START + 3600)
        out = tmp_path / "attempts.csv"
        await export_attempts(store, cfg.name, out)
        return await store.stats(cfg.name), await store.hopper_sizes(cfg.name, START), \
            out.read_text().splitlines()

    stats, hopper, lines = simulate(redis_url, body)
    outcomes = {k: v for k, v in stats.items() if k.startswith("outcome:")}
    assert set(outcomes) >= {"outcome:connected-to-agent", "outcome:no-answer", "outcome:busy",
                             "outcome:answered-machine"}
    assert sum(outcomes.values()) == stats["attempts"] > 100
    assert hopper["open_attempts"] == 0 and hopper["claimed"] == 0
    assert len(lines) == stats["attempts"] + 1
    header = lines[0].split(",")
    assert header[:6] == ["attempt_id", "campaign", "debtor_id", "phone", "attempt_no", "outcome"]
    assert all(line.split(",")[5] for line in lines[1:])        # no attempt without an outcome


def test_an_abandoned_person_hears_the_message_and_is_left_alone_for_72_hours(
        redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    played: list[tuple[str, float]] = []
    original = SimulatedCall.play

    async def recording_play(self: SimulatedCall, prompt: Prompt) -> None:
        played.append((prompt.text, asyncio.get_running_loop().time() - (self.answered_at or 0.0)))
        await original(self, prompt)

    monkeypatch.setattr(SimulatedCall, "play", recording_play)

    async def body(store: Store) -> tuple[list[dict[str, str]], dict[str, DebtorState]]:
        cfg = await load(store, campaign("ratio", ratio=3.0), 30)
        net = network(agents=1, talk=300)
        await net.start()
        engine = CampaignEngine(store, net, cfg, clock=Clock(START))
        await engine.run(until_epoch=START + 1800)
        rows = [r async for r in store.iter_attempts(cfg.name)]
        states = {}
        for r in rows:
            found = await store.debtor(cfg.name, r["debtor_id"])
            assert found is not None
            states[r["debtor_id"]] = found[1]
        return rows, states

    rows, states = simulate(redis_url, body)
    abandoned = [r for r in rows if r["outcome"] == "abandoned"]
    assert abandoned, "three lines per agent with everyone answering must abandon some calls"
    assert len(played) == len(abandoned)
    assert all("+31202101234" in text for text, _ in played)        # says the number to call back
    assert all(delay <= 2.0 + 1e-6 for _, delay in played)           # within 2 s of the answer
    for r in abandoned:
        later = [x for x in rows if x["debtor_id"] == r["debtor_id"] and float(x["dialled_at"])
                 > float(r["dialled_at"])]
        assert not later, "an abandoned debtor was called again within 72 h"
        assert states[r["debtor_id"]].abandoned_at is not None


def test_pause_stops_new_calls_and_resume_continues(redis_url: str) -> None:
    async def body(store: Store) -> tuple[int, int, int]:
        cfg = await load(store, campaign("progressive"), 100)
        net = network(agents=2, talk=30)
        await net.start()
        engine = CampaignEngine(store, net, cfg, clock=Clock(START), control_every_s=1.0)
        task = asyncio.create_task(engine.run(until_epoch=START + 3000))
        await asyncio.sleep(600)
        await store.set_state(cfg.name, "paused")
        await asyncio.sleep(60)                     # calls in progress end, none start
        paused_at = (await store.stats(cfg.name))["attempts"]
        await asyncio.sleep(900)
        still = (await store.stats(cfg.name))["attempts"]
        await store.set_state(cfg.name, "running")
        await task
        return paused_at, still, (await store.stats(cfg.name))["attempts"]

    paused_at, still, end = simulate(redis_url, body)
    assert paused_at > 10
    assert still == paused_at
    assert end > still + 10


def test_pacing_settings_change_while_running(redis_url: str) -> None:
    async def body(store: Store) -> tuple[int, int]:
        text = campaign("ratio", ratio=3.0, lines=50)
        cfg = await load(store, text, 400)
        net = network(agents=4, answer=0.3, talk=60)
        await net.start()
        engine = CampaignEngine(store, net, cfg, clock=Clock(START), control_every_s=1.0)
        task = asyncio.create_task(engine.run(until_epoch=START + 1200))
        await asyncio.sleep(300)
        before = net.peak_lines
        await store.save_campaign(cfg.name, set_campaign_key(text, "t", "pacing.max_lines", "2"))
        await asyncio.sleep(120)                    # calls placed before the change end normally
        peak_after = 0
        for _ in range(700):
            await asyncio.sleep(1)
            peak_after = max(peak_after, net.lines_in_use)
        await task
        return before, peak_after

    before, after = simulate(redis_url, body)
    assert before > 2
    assert after <= 2


NL_WINDOW = """
name: nl
dial_mode: progressive
jurisdiction: NL
calling_hours:
  weekly: {mon: ["10:00-11:00"], tue: ["10:00-11:00"], wed: ["10:00-11:00"], thu: ["10:00-11:00"],
           fri: ["10:00-11:00"]}
attempts: {max_per_day: 20, max_per_week: 50, max_total: 50, min_gap: 60s}
retry: {no_answer: 60s, busy: 60s, machine: 60s, failed: 60s}
"""


def test_debtors_are_called_only_inside_their_calling_window(redis_url: str) -> None:
    async def body(store: Store) -> list[dict[str, str]]:
        cfg = await load(store, NL_WINDOW, 200, now=START - 3600)
        net = network(agents=2, answer=0.2, talk=60)
        await net.start()
        engine = CampaignEngine(store, net, cfg, clock=Clock(START - 3600))
        await engine.run(until_epoch=START + 26 * 3600)
        return [r async for r in store.iter_attempts(cfg.name)]

    rows = simulate(redis_url, body)
    days = set()
    for r in rows:
        local = dt.datetime.fromtimestamp(float(r["dialled_at"]), AMS)
        assert dt.time(10, 0) <= local.time() < dt.time(11, 0), local
        days.add(local.date())
    assert days == {dt.date(2026, 11, 24), dt.date(2026, 11, 25)}   # Tuesday and Wednesday, not at night


def test_high_call_rates_get_shorter_ticks_so_no_tick_launches_a_big_burst() -> None:
    from dialer.engine import tick_for

    def cfg(cps: int) -> CampaignConfig:
        return parse_campaign(campaign().replace("calls_per_second: 50", f"calls_per_second: {cps}"), "t")

    assert tick_for(cfg(5)) == 0.5                    # ordinary campaigns keep the 0.5 s tick
    assert tick_for(cfg(100)) == 0.25
    assert tick_for(cfg(250)) == 0.1                  # 25 launches per tick at most
    assert tick_for(cfg(1000)) == 0.1                 # never busier than ten ticks a second


def test_quiet_gc_mode_runs_a_campaign_and_gives_the_collector_back(redis_url: str) -> None:
    """The dialer process manages the collector itself while it runs; whoever embeds it gets it back."""
    import gc

    async def body(store: Store) -> tuple[dict[str, int], bool, int]:
        cfg = await load(store, campaign("ratio", ratio=2.0), 100)
        net = network(agents=3, answer=0.5, talk=30)
        await net.start()
        engine = CampaignEngine(store, net, cfg, clock=Clock(START), gc_mode="young")
        seen: list[bool] = []
        engine.on_tick = lambda e: seen.append(gc.isenabled())
        await engine.run(until_epoch=START + 600)
        return await store.stats(cfg.name), any(seen), gc.get_freeze_count()

    stats, enabled_during_run, frozen_after = simulate(redis_url, body)
    assert stats["attempts"] > 20 and sum(v for k, v in stats.items() if k.startswith("outcome:")) == \
        stats["attempts"]
    assert not enabled_during_run                     # no automatic (full) collections mid-campaign
    assert gc.isenabled() and frozen_after == 0
    with pytest.raises(ValueError, match="gc_mode"):
        CampaignEngine(None, None, parse_campaign(campaign(), "t"), gc_mode="off")  # type: ignore[arg-type]


# "K1:attempts" was the key of K1's attempt list; the others: that list's own list, other key suffixes
# and ids with the separators accounting exports use.
KEYLIKE_IDS = ["K1", "K1:attempts", "K1:attempts:attempts", "attempts", "K2:debtor:K1", "seq", "open",
               ":attempts", "a/b,c:d"]


def test_debtor_ids_that_look_like_key_names_are_all_called_and_every_attempt_ends(redis_url: str) -> None:
    async def body(store: Store) -> tuple[dict[str, list[dict[str, str]]], dict[str, int],
                                          list[dict[str, str]]]:
        text = campaign("ratio", ratio=1.0, lines=5)
        cfg = parse_campaign(text, "test campaign")
        await store.save_campaign(cfg.name, text)
        debtors = [Debtor(d, f"Debtor {i}", (f"+316{i:08d}",), Decimal("25.00"))
                   for i, d in enumerate(KEYLIKE_IDS)]
        await store.upsert_debtors(cfg.name, [(d, first_due(d, cfg, START), priority_score(d, cfg))
                                              for d in debtors])
        await store.set_state(cfg.name, "running")
        net = network(agents=len(debtors), answer=1.0, talk=10)
        await net.start()
        await CampaignEngine(store, net, cfg, clock=Clock(START)).run(until_epoch=START + 120)
        histories = {d.debtor_id: (await store.callback_candidates(cfg.name, d.phones[0], 0.0))[0][2]
                     for d in debtors}
        return histories, await store.hopper_sizes(cfg.name, START + 120), \
            [r async for r in store.iter_attempts(cfg.name)]

    histories, hopper, attempts = simulate(redis_url, body)
    assert sorted({a["debtor_id"] for a in attempts}) == sorted(KEYLIKE_IDS)     # everybody was called
    assert all(a["state"] == "closed" and a["outcome"] for a in attempts)
    assert hopper["open_attempts"] == 0 and hopper["claimed"] == 0
    for debtor_id, history in histories.items():     # callback routing sees each debtor's own calls
        assert history and {a["debtor_id"] for a in history} == {debtor_id}
