"""Signed webhook events against a real aiohttp server on 127.0.0.1 (a port chosen at run time)."""

from __future__ import annotations

import asyncio
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
