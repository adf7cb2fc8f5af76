"""The Asterisk backend against a real Asterisk 22 (tools/asterisk-testbed), sipp as debtor and agent.

Slow: the first run builds Asterisk (minutes); later runs reuse the build.
"""

from __future__ import annotations

import asyncio
import math
import struct
from collections.abc import AsyncIterator

import pytest
from asterisk_testbed import Sipp, asterisk, free_udp_port, settings_for  # noqa: F401 - a fixture

from sip.asterisk.backend import AsteriskTelephony
from sip.telephony import (
    AnsweredBy,
    Call,
    CallEvent,
    CallEventKind,
    HangupCause,
    Inbound,
    OriginateRequest,
    Prompt,
)

pytestmark = pytest.mark.slow


def tone(seconds: float, hz: float = 440.0) -> bytes:
    return b"".join(struct.pack("<h", int(6000 * math.sin(2 * math.pi * hz * n / 8000)))
                    for n in range(int(8000 * seconds)))


@pytest.fixture
async def backend(asterisk: dict) -> AsyncIterator[AsteriskTelephony]:  # noqa: F811
    telephony = AsteriskTelephony(settings_for(asterisk))
    await telephony.start()
    yield telephony
    await telephony.close()


def request(attempt: str, ring_s: float = 20.0) -> OriginateRequest:
    return OriginateRequest(attempt_id=attempt, number="+31612345678", caller_id="0201234567",
                            ring_timeout_s=ring_s, variables={"campaign": "it"})


async def next_event(events: AsyncIterator[CallEvent], timeout_s: float = 30) -> CallEvent:
    return await asyncio.wait_for(events.__anext__(), timeout_s)


async def test_answered_call_hears_our_audio_and_we_get_its_dtmf(asterisk: dict,  # noqa: F811
                                                                 backend: AsteriskTelephony) -> None:
    sipp = await Sipp("uas_human_dtmf", port=asterisk["debtor_port"]).start()
    try:
        call = await backend.originate(request("it-answer"))
        events = call.events()
        kinds = [(await next_event(events)).kind]
        answered = await next_event(events)
        kinds.append(answered.kind)
        played = await call.play(Prompt("hallo", audio=tone(0.5)))
        digits = await call.collect_dtmf(max_digits=1, timeout_s=10)
        hangup = await next_event(events, 15)
    finally:
        await sipp.stop()
    assert kinds == [CallEventKind.RINGING, CallEventKind.ANSWERED]
    assert answered.answered_by is AnsweredBy.HUMAN
    assert played is not None and played.completed
    assert digits == "5"
    assert hangup.kind is CallEventKind.HANGUP and hangup.cause is HangupCause.NORMAL


@pytest.mark.parametrize(("scenario", "ring_s", "cause"), [
    ("uas_busy", 20.0, HangupCause.BUSY),
    ("uas_ring_noanswer", 3.0, HangupCause.NO_ANSWER),
])
async def test_unanswered_calls_end_with_the_right_cause(asterisk: dict, backend: AsteriskTelephony,  # noqa: F811
                                                         scenario: str, ring_s: float,
                                                         cause: HangupCause) -> None:
    sipp = await Sipp(scenario, port=asterisk["debtor_port"]).start()
    try:
        call = await backend.originate(request(f"it-{scenario}", ring_s))
        got = [e async for e in call.events()]
    finally:
        await sipp.stop()
    assert [e.kind for e in got if e.kind is not CallEventKind.RINGING] == [CallEventKind.HANGUP]
    assert got[-1].cause is cause


@pytest.mark.parametrize(("scenario", "by"), [("uas_machine", AnsweredBy.MACHINE),
                                              ("uas_human_hello", AnsweredBy.HUMAN)])
async def test_dialplan_amd_tells_machine_from_person(asterisk: dict, scenario: str,  # noqa: F811
                                                      by: AnsweredBy) -> None:
    telephony = AsteriskTelephony(settings_for(asterisk, amd="dialplan"))
    await telephony.start()
    sipp = await Sipp(scenario, port=asterisk["debtor_port"]).start()
    try:
        call = await telephony.originate(request(f"it-amd-{scenario}"))
        events = call.events()
        answered = await next_event(events)
        if answered.kind is CallEventKind.RINGING:
            answered = await next_event(events)
        await call.hangup()
        hangup = await next_event(events, 10)
    finally:
        await sipp.stop()
        await telephony.close()
    assert answered.kind is CallEventKind.ANSWERED and answered.answered_by is by
    assert hangup.kind is CallEventKind.HANGUP and hangup.cause is HangupCause.LOCAL


async def test_live_answer_is_transferred_to_a_queue_agent(asterisk: dict,  # noqa: F811
                                                           backend: AsteriskTelephony) -> None:
    agent = await Sipp("uas_agent", port=asterisk["agent_port"]).start()
    debtor = await Sipp("uas_customer_wait", port=asterisk["debtor_port"]).start()
    try:
        for _ in range(50):                   # QueueStatus has been read at login
            if backend.agents.snapshot().logged_in:
                break
            await asyncio.sleep(0.1)
        before = backend.agents.snapshot()
        call = await backend.originate(request("it-queue"))
        events = call.events()
        while (await next_event(events)).kind is not CallEventKind.ANSWERED:
            pass
        who = await call.connect_agent("agents", 15, {"debtor_id": "D-17", "campaign": "it"})
        during = backend.agents.snapshot()
        hangup = await next_event(events, 20)   # the agent hangs up after 4 s; the debtor follows
    finally:
        await agent.stop()
        await debtor.stop()
    assert (before.logged_in, before.idle) == (1, 1)
    assert who == "Agent One"
    assert during.talking == 1 and during.idle == 0
    assert hangup.kind is CallEventKind.HANGUP and hangup.cause is HangupCause.NORMAL


async def test_without_an_agent_the_call_comes_back_for_the_information_message(
        asterisk: dict, backend: AsteriskTelephony) -> None:  # noqa: F811
    debtor = await Sipp("uas_customer_wait", port=asterisk["debtor_port"]).start()
    try:
        call = await backend.originate(request("it-abandon"))
        events = call.events()
        while (await next_event(events)).kind is not CallEventKind.ANSWERED:
            pass
        who = await call.connect_agent("agents", 2, {"debtor_id": "D-18"})
        played = await call.play(Prompt("U wordt teruggebeld", audio=tone(0.4)))
        await call.hangup()
        hangup = await next_event(events, 10)
    finally:
        await debtor.stop()
    assert who is None
    assert played is not None and played.completed
    assert hangup.cause is HangupCause.LOCAL


async def test_a_callback_reaches_the_inbound_handler_with_who_called(asterisk: dict,  # noqa: F811
                                                                      backend: AsteriskTelephony) -> None:
    seen: asyncio.Queue = asyncio.Queue()

    async def handler(call: Call, inbound: Inbound) -> None:
        result = await call.play(Prompt("welkom", audio=tone(0.3)))
        await seen.put((inbound, result))
        await call.hangup()

    backend.set_inbound_handler(handler)
    caller = await Sipp("uac_inbound", port=free_udp_port(), remote=f"127.0.0.1:{asterisk['sip_port']}",
                        service="0201234567").start()
    try:
        inbound, played = await asyncio.wait_for(seen.get(), 20)
        rc = await caller.wait(20)
    finally:
        await caller.stop()
    assert inbound.caller == "+31612345678"
    assert inbound.dialled == "0201234567"
    assert inbound.caller_name == "Jan Jansen"
    assert played is not None and played.completed
    assert rc == 0                             # sipp saw the call through to our BYE
