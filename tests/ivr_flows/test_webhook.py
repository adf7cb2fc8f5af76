"""Signed webhook events against a real aiohttp server on 127.0.0.1 (a port chosen at run time)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from ivr_flows.webhook import (
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookSender,
    signature,
    verify_signature,
)

pytestmark = pytest.mark.slow
SECRET = b"s3cret-shared-with-the-back-office"


class Receiver:
    """The back office: checks signature and age, records what it accepted."""

    def __init__(self) -> None:
        self.accepted: list[dict[str, Any]] = []
        self.refused = 0
        self.status = 200
        self.delay_s = 0.0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        ok = verify_signature(SECRET, request.headers.get(TIMESTAMP_HEADER, ""), body,
                              request.headers.get(SIGNATURE_HEADER, ""), now=time.time())
        if not ok:
            self.refused += 1
            return web.Response(status=401)
        self.accepted.append({"event": request.headers[EVENT_HEADER], **json.loads(body)})
        return web.Response(status=self.status)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/events", rec.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield rec, f"http://{host}:{port}/events"
    await runner.cleanup()


async def test_an_event_arrives_signed_with_its_payload(receiver: tuple[Receiver, str]) -> None:
    rec, url = receiver
    sender = WebhookSender(url, SECRET)
    try:
        ok = await sender.send("payment_link", {"amount": "245.50", "invoice": "F-1"}, 2.0,
                               {"attempt_id": "demo-7", "campaign": "demo"})
    finally:
        await sender.close()
    assert ok
    [event] = rec.accepted
    assert event["event"] == "payment_link" and event["data"] == {"amount": "245.50", "invoice": "F-1"}
    assert event["call"] == {"attempt_id": "demo-7", "campaign": "demo"} and len(event["id"]) == 32


async def test_a_wrong_secret_is_refused_by_the_receiver(receiver: tuple[Receiver, str]) -> None:
    rec, url = receiver
    sender = WebhookSender(url, b"not-the-secret")
    try:
        assert not await sender.send("already_paid", {}, 2.0, {})
    finally:
        await sender.close()
    assert rec.refused == 1 and not rec.accepted


async def test_an_error_status_is_a_failure(receiver: tuple[Receiver, str]) -> None:
    rec, url = receiver
    rec.status = 503
    sender = WebhookSender(url, SECRET)
    try:
        assert not await sender.send("promise_to_pay", {"promise_date": "2026-12-10"}, 2.0, {})
    finally:
        await sender.close()


async def test_a_slow_receiver_times_out_into_the_fallback(receiver: tuple[Receiver, str]) -> None:
    rec, url = receiver
    rec.delay_s = 3.0
    sender = WebhookSender(url, SECRET)
    try:
        assert not await asyncio.wait_for(sender.send("payment_link", {}, 0.3, {}), timeout=2.5)
    finally:
        await sender.close()


async def test_nobody_listening_is_a_failure_not_an_exception() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    sender = WebhookSender(f"http://127.0.0.1:{port}/events", SECRET)
    try:
        assert not await sender.send("payment_link", {}, 1.0, {})
    finally:
        await sender.close()


def test_signature_covers_timestamp_and_body_and_refuses_replays() -> None:
    body = b'{"event":"payment_link"}'
    sig = signature(SECRET, "1764579600", body)
    assert verify_signature(SECRET, "1764579600", body, sig, now=1764579600 + 60)
    assert not verify_signature(SECRET, "1764579600", body + b" ", sig, now=1764579600)     # tampered body
    assert not verify_signature(SECRET, "1764579601", body, sig, now=1764579600)            # moved timestamp
    assert not verify_signature(SECRET, "1764579600", body, sig, now=1764579600 + 3600)     # replayed later
    assert not verify_signature(SECRET, "soon", body, sig, now=1764579600)


async def test_a_campaign_with_webhooks_posts_each_choice_signed_to_its_receiver(
        receiver: tuple[Receiver, str], redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Real time, real Redis, real HTTP: the engine builds the sender from the campaign's webhooks."""
    from decimal import Decimal

    from dialer.campaign import parse_campaign
    from dialer.core.records import Debtor
    from dialer.engine import CampaignEngine, Clock
    from dialer.scheduling import first_due, priority_score
    from dialer.simulation.always_open import always_open_campaign
    from dialer.simulation.flow_respondent import FlowRespondent
    from dialer.store.redis_store import Store
    from ivr_flows.loader import shipped_flow
    from sip.distributions import Fixed
    from sip.simulated import NetworkProfile, SimulatedAgents, SimulatedNetwork

    rec, url = receiver
    monkeypatch.setenv("TEST_WEBHOOK_SECRET", SECRET.decode())
    text = always_open_campaign("hooks", dial_mode="agentless", webhook_url=url,
                                webhook_secret_env="TEST_WEBHOOK_SECRET", max_lines=5, calls_per_second=50)
    store = await Store.open(redis_url)
    try:
        cfg = parse_campaign(text, "hooks.yaml")
        await store.save_campaign(cfg.name, text)
        now = time.time()
        debtors = [Debtor(f"H{i}", f"Hook {i}", (f"+3162000000{i}",), Decimal("80.00")) for i in range(4)]
        await store.upsert_debtors(cfg.name, [(d, first_due(d, cfg, now), priority_score(d, cfg))
                                              for d in debtors])
        await store.set_state(cfg.name, "running")
        profile = NetworkProfile(answer_prob=1.0, machine_share=0.0, busy_prob=0.0, failed_prob=0.0,
                                 setup_s=Fixed(0.01), ring_s=Fixed(0.05), amd_s=Fixed(0.01),
                                 keypad_s=Fixed(0.01), prompt_words_per_s=2000.0, voice_share=0.0)
        wants_link = {"confirm": 1.0, "link": 1.0}
        respondent = FlowRespondent([shipped_flow("payment_reminder")], today=lambda: dt.date.today(),
                                    weights={**{c: 0.0 for c in ("deny", "promise", "plan", "agent", "paid",
                                                                 "dispute", "refused")}, **wants_link},
                                    voice_share=0.0)
        net = SimulatedNetwork(profile, SimulatedAgents(0, Fixed(1.0), Fixed(0.0)), seed=1,
                               respondent=respondent)
        engine = CampaignEngine(store, net, cfg, clock=Clock(), tick_s=0.05)
        await engine.run(until_epoch=time.time() + 2.0)
        assert engine.events is not None
        await engine.events.close()  # type: ignore[attr-defined]
        rows = [r async for r in store.iter_attempts(cfg.name)]
    finally:
        await store.close()
    assert len(rec.accepted) == 4 and rec.refused == 0
    assert {e["call"]["debtor_id"] for e in rec.accepted} == {"H0", "H1", "H2", "H3"}
    assert all(e["event"] == "payment_link" and e["data"]["amount"] == "80.00" for e in rec.accepted)
    assert sorted(r["ivr_outcome"] for r in rows) == ["payment-link"] * 4
    assert all(r["webhooks"] == "payment_link:ok" for r in rows)
