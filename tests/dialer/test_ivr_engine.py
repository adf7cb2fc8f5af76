"""IVR campaigns end to end: real Redis, the simulated network, virtual time, the real shipped flows."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from test_engine import simulate

from dialer.campaign import CampaignConfig, parse_campaign
from dialer.core.records import Debtor
from dialer.core.telephony import AnsweredBy, OriginateRequest
from dialer.engine import CampaignEngine, Clock
from dialer.export import export_attempts, export_callbacks
from dialer.scheduling import first_due, priority_score
from dialer.simulation.always_open import always_open_campaign
from dialer.simulation.demo import BackOffice
from dialer.simulation.flow_respondent import FlowRespondent
from dialer.store.redis_store import Store
from ivr_flows.loader import shipped_flow
from sip.distributions import Fixed
from sip.simulated import Fate, FateKind, NetworkProfile, SimulatedAgents, SimulatedCall, SimulatedNetwork

AMS = ZoneInfo("Europe/Amsterdam")
DAY = dt.date(2026, 11, 24)
START = dt.datetime(2026, 11, 24, 9, 0, tzinfo=AMS).timestamp()   # a Tuesday

IVR = always_open_campaign(
    "ivr", dial_mode="agentless", caller_id="+31202101234", ivr_params={"max_promise_days": 10},
    max_lines=20, calls_per_second=50,
    attempts={"max_per_day": 20, "max_per_week": 50, "max_total": 50, "min_gap": "60s"},
    retry={"no_answer": "600s", "busy": "600s", "machine": "600s", "failed": "600s", "abandoned": "72h"})


def network(*, answer: float = 0.8, machine: float = 0.2, agents: int = 2, callback: float = 0.0,
            respondent: bool = True) -> SimulatedNetwork:
    profile = NetworkProfile(answer_prob=answer, machine_share=machine, busy_prob=0.0, failed_prob=0.0,
                             setup_s=Fixed(0.5), ring_s=Fixed(5.0), amd_s=Fixed(1.0), callback_prob=callback,
                             callback_delay_s=Fixed(900.0))
    flows = [shipped_flow(n) for n in ("payment_reminder", "callback", "general_menu", "thank_you")]
    return SimulatedNetwork(profile, SimulatedAgents(agents, Fixed(60.0), Fixed(0.0), seed=3), seed=3,
                            respondent=FlowRespondent(flows, today=lambda: DAY) if respondent else None)


async def load(store: Store, n: int, *, shared: bool = False) -> CampaignConfig:
    cfg = parse_campaign(IVR, "ivr.yaml")
    await store.save_campaign(cfg.name, IVR)
    rows = []
    for i in range(n):
        phone = "+31600000000" if shared and i < 2 else f"+316{i:08d}"
        d = Debtor(f"D{i:04d}", f"Debtor {i}", (phone,), Decimal("120.00") + i, due_date=DAY,
                   risk_score=(i % 10) / 10, language="en" if i % 3 == 0 else "nl")
        rows.append((d, first_due(d, cfg, START), priority_score(d, cfg)))
    await store.upsert_debtors(cfg.name, rows)
    await store.set_state(cfg.name, "running")
    return cfg


def rows_of(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_an_ivr_campaign_records_each_choice_and_exports_it(redis_url: str, tmp_path: Path) -> None:
    async def body(store: Store) -> tuple[dict[str, int], Counter[str]]:
        cfg = await load(store, 150)
        net = network()
        await net.start()
        office = BackOffice()
        engine = CampaignEngine(store, net, cfg, clock=Clock(START), events=office)
        await engine.run(until_epoch=START + 3 * 3600)
        await export_attempts(store, cfg.name, tmp_path / "attempts.csv")
        return await store.stats(cfg.name), office.events

    stats, events = simulate(redis_url, body)
    rows = rows_of(tmp_path / "attempts.csv")
    assert len(rows) == stats["attempts"]
    people = [r for r in rows if r["outcome"] in ("answered-human", "connected-to-agent")]
    machines = [r for r in rows if r["outcome"] == "answered-machine"]
    assert len(people) > 50 and machines
    assert all(r["ivr_flow"] == "payment_reminder" and r["ivr_outcome"] for r in people)
    assert all(r["ivr_outcome"] == "voicemail" and r["message_heard"] == "0" for r in machines)
    assert all(not r["ivr_outcome"] for r in rows if r["outcome"] in ("no-answer", "busy"))

    by_choice = Counter(r["ivr_outcome"] for r in people)
    assert {"payment-link", "promise-to-pay", "wrong-person"} <= set(by_choice)
    assert by_choice["payment-link"] == sum(1 for r in people if r["link_sent"] == "1")
    for r in people:
        if r["ivr_outcome"] == "promise-to-pay":        # checked against the campaign's 10 days
            days = (dt.date.fromisoformat(r["promise_date"]) - DAY).days
            assert 0 <= days <= 10 and Decimal(r["promise_amount"]) >= Decimal("120")
        if r["outcome"] == "connected-to-agent":
            assert r["agent"] and r["ivr_ended_by"] == "agent"
        assert r["ivr_path"].startswith("greet")
    english = [r for r in people if r["ivr_language"] == "en"]
    assert english and len(english) < len(people)
    assert any('"kind":"speech"' in r["ivr_inputs"] for r in people)      # some answered by voice
    assert any('"kind":"dtmf"' in r["ivr_inputs"] for r in people)        # some by keypad
    assert events["payment_link"] == by_choice["payment-link"]
    stored = {k.removeprefix("ivr:"): v for k, v in stats.items() if k.startswith("ivr:")}
    assert stored == Counter(r["ivr_outcome"] for r in rows if r["ivr_outcome"])   # counters agree


def test_events_with_no_webhooks_configured_are_exported_as_not_configured_not_failed(
        redis_url: str, tmp_path: Path) -> None:
    async def body(store: Store) -> None:
        cfg = await load(store, 40)
        assert cfg.webhooks is None
        net = network(answer=1.0, machine=0.0)
        await net.start()
        await CampaignEngine(store, net, cfg, clock=Clock(START)).run(until_epoch=START + 3600)
        await export_attempts(store, cfg.name, tmp_path / "attempts.csv")

    simulate(redis_url, body)
    sent = [e for r in rows_of(tmp_path / "attempts.csv") for e in r["webhooks"].split()]
    assert sent and all(e.endswith(":not-configured") for e in sent), sent


def test_callers_back_are_routed_recorded_and_exported(redis_url: str, tmp_path: Path) -> None:
    async def body(store: Store) -> tuple[dict[str, int], int, int]:
        cfg = await load(store, 60)
        net = network(answer=0.3, machine=0.5, callback=1.0)
        await net.start()
        engine = CampaignEngine(store, net, cfg, clock=Clock(START), events=BackOffice())
        await engine.run(until_epoch=START + 2 * 3600)     # the engine answers callers back meanwhile
        await net.drain_inbound()
        recorded = (await store.stats(cfg.name))["callbacks"]
        arrived = net.inbound_calls
        await asyncio.sleep(3600)                           # campaign over: later calls are refused
        await net.drain_inbound()
        await export_callbacks(store, cfg.name, tmp_path / "callbacks.csv")
        stats = await store.stats(cfg.name)
        assert stats["callbacks"] == recorded
        return stats, arrived, net.inbound_calls

    stats, arrived, arrived_later = simulate(redis_url, body)
    rows = rows_of(tmp_path / "callbacks.csv")
    assert len(rows) == stats["callbacks"] > 10
    assert arrived >= len(rows) and arrived_later > arrived    # those after the campaign: refused, not kept
    end = dt.datetime.fromtimestamp(START + 2 * 3600, dt.UTC).isoformat().replace("+00:00", "")
    assert all(r["arrived_at"] <= end + "Z" for r in rows)
    assert sum(stats.get(f"callbacks:{k}", 0) for k in ("auto", "agent", "no-agent-free")) == len(rows)
    assert Counter(r["handled_by"] for r in rows)["auto"] == stats["callbacks:auto"]
    assert all(r["rule"] and r["route"] for r in rows)
    rules = Counter(r["rule"] for r in rows)
    assert sum(v for k, v in stats.items() if k.startswith("callback_rule:")) == len(rows)
    assert rules["high-risk"] and rules["not-heard"]
    for r in rows:
        assert re.fullmatch(r"\+31\d{9}", r["caller"]), r["caller"]   # the user's own data: unmasked
        if r["route"] == "agent":
            assert not r["ivr_flow"]
        else:
            assert r["ivr_flow"] == r["route"] and r["ivr_outcome"]
        if r["rule"] == "high-risk":
            assert r["route"] == "agent" and r["handled_by"] in ("agent", "no-agent-free")
        if r["handled_by"] == "auto":
            assert not r["agent"] and r["ivr_outcome"] != "agent"


def test_a_shared_number_goes_to_the_general_menu(redis_url: str) -> None:
    async def body(store: Store) -> Any:
        cfg = await load(store, 3, shared=True)
        candidates = await store.callback_candidates(cfg.name, "+31600000000", START - 86400)
        lone = await store.callback_candidates(cfg.name, "+31600000002", START - 86400)
        nobody = await store.callback_candidates(cfg.name, "+31699999999", START - 86400)
        return candidates, lone, nobody

    candidates, lone, nobody = simulate(redis_url, body)
    assert sorted(d.debtor_id for d, _, _ in candidates) == ["D0000", "D0001"]
    assert [d.debtor_id for d, _, _ in lone] == ["D0002"] and nobody == []


def test_callback_lookup_only_sees_attempts_inside_the_look_back(redis_url: str) -> None:
    async def body(store: Store) -> tuple[int, int]:
        cfg = await load(store, 5)
        net = network(answer=0.0)
        await net.start()
        engine = CampaignEngine(store, net, cfg, clock=Clock(START))
        await engine.run(until_epoch=START + 1200)
        recent = await store.callback_candidates(cfg.name, "+31600000001", START - 60)
        later = await store.callback_candidates(cfg.name, "+31600000001", START + 7200)
        return len(recent[0][2]), len(later[0][2])

    recent, later = simulate(redis_url, body)
    assert recent >= 1 and later == 0


def test_a_caller_back_in_national_form_or_withheld_is_routed(redis_url: str) -> None:
    from dialer.core.telephony import Inbound
    from dialer.inbound import CallbackHandler

    async def body(store: Store) -> list[dict[str, str]]:
        cfg = await load(store, 3)
        net = network(answer=0.0)
        await net.start()
        handler = CallbackHandler(store, cfg, Clock(START).now)
        for n, caller in enumerate(["06 0000 0001", "0031600000002", "anonymous", ""]):
            request = OriginateRequest(f"in-{n}", caller or "anonymous", "+31202101234", 0.0)
            fate = Fate(FateKind.ANSWERED, 0.0, 0.0, 0.0, AnsweredBy.HUMAN, AnsweredBy.HUMAN, 30.0, 0, 0, 0)
            inbound = Inbound(f"in-{n}", caller, "+31202101234", 0.0)
            call = SimulatedCall(request, net, fate, 0.0, inbound)
            call.answered_at = asyncio.get_running_loop().time()
            await handler(call, inbound)
        return [r async for r in store.iter_callbacks(cfg.name)]

    rows = simulate(redis_url, body)
    assert [(r["rule"], r["debtor_id"]) for r in rows] == [
        ("low-risk", "D0001"), ("low-risk", "D0002"), ("unknown-caller", ""), ("unknown-caller", "")]


class _RenderingNetwork(SimulatedNetwork):
    """The simulated network, told it renders prompts itself (as the SIP and Asterisk backends do);
    it records what the engine asks it to render ahead, which is the behaviour under test."""

    renders_prompts = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prepared: list[tuple[float, list[str]]] = []

    async def prepare_prompts(self, prompts: Any) -> None:
        self.prepared.append((asyncio.get_running_loop().time(), [p.text for p in prompts]))


def test_prompts_are_rendered_ahead_the_fixed_ones_at_start_and_each_greeting_at_claim(
        redis_url: str) -> None:
    async def body(store: Store) -> tuple[_RenderingNetwork, int, float]:
        cfg = await load(store, 6)
        base = network()
        net = _RenderingNetwork(base.profile, base.agents, seed=3, respondent=base.respondent)
        await net.start()
        started = asyncio.get_running_loop().time()
        engine = CampaignEngine(store, net, cfg, clock=Clock(START))
        await engine.run(until_epoch=START + 120)
        return net, engine.counters.attempts, started

    net, attempts, started = simulate(redis_url, body)
    first_at, fixed = net.prepared[0]
    assert first_at - started < 1.0 and len(fixed) > 10          # the flow's fixed prompts, at once
    assert not any("Debtor" in text for text in fixed)            # nothing personal among them
    greetings = [texts for _, texts in net.prepared[1:]]
    assert len(greetings) == attempts                            # one per debtor dialled
    assert any("Debtor 1" in " ".join(texts) for texts in greetings)   # the right-party check by name
