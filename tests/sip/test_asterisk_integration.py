"""The Asterisk backend against a real Asterisk 22 (tools/asterisk-testbed), sipp as debtor and agent.

Slow: the first run builds Asterisk (minutes); later runs reuse the build.
"""

from __future__ import annotations

import asyncio
import math
import struct
import subprocess
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers.asterisk_testbed import (  # noqa: F401 - a fixture
    SIPP_DIR,
    Sipp,
    asterisk,
    messages_log_size,
    run_testbed,
    settings_for,
    sip_sent,
)
from helpers.sip_peers import free_udp_port

from audio.prompts import PromptRenderer
from audio.tts_config import TTSConfig
from dialer.campaign import parse_campaign
from dialer.core.records import Debtor, Outcome
from dialer.core.telephony import (
    AnsweredBy,
    Call,
    CallEvent,
    CallEventKind,
    HangupCause,
    Inbound,
    OriginateRequest,
    Prompt,
)
from dialer.engine import CampaignEngine
from dialer.scheduling import priority_score
from dialer.simulation.always_open import always_open_campaign
from dialer.store.redis_store import Store
from sip.asterisk.backend import AsteriskTelephony

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


def asterisk_cli(state: dict, command: str) -> str:
    """What the testbed Asterisk's CLI prints for one command (``asterisk -rx``)."""
    return subprocess.run([f"{state['prefix']}/sbin/asterisk", "-C", f"{state['dir']}/etc/asterisk.conf",
                           "-rx", command], capture_output=True, text=True, timeout=10).stdout


def agent_channel_variables(state: dict) -> str:
    """The variables of the agent's channel, as Asterisk's CLI shows them."""
    channels = asterisk_cli(state, "core show channels concise")
    names = [line.split("!")[0] for line in channels.splitlines() if line.startswith("PJSIP/agent1")]
    if not names:
        return ""
    return asterisk_cli(state, f"core show channel {names[0]}")


def request(attempt: str, ring_s: float = 20.0) -> OriginateRequest:
    return OriginateRequest(attempt_id=attempt, number="+31612345678", caller_id="0201234567",
                            ring_timeout_s=ring_s, variables={"campaign": "it"})


async def next_event(events: AsyncIterator[CallEvent], timeout_s: float = 30) -> CallEvent:
    try:
        return await asyncio.wait_for(events.__anext__(), timeout_s)
    except StopAsyncIteration:
        raise AssertionError("the call had already ended") from None


async def until_answered(events: AsyncIterator[CallEvent]) -> CallEvent:
    seen = []
    while True:
        event = await next_event(events)
        seen.append(event)
        if event.kind is CallEventKind.ANSWERED:
            return event
        assert event.kind is not CallEventKind.HANGUP, f"ended before an answer: {seen}"


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


@pytest.mark.parametrize("amd", ["dialplan", "audio"])
@pytest.mark.parametrize(("scenario", "by"), [("uas_machine", AnsweredBy.MACHINE),
                                              ("uas_human_hello", AnsweredBy.HUMAN)])
async def test_amd_tells_machine_from_person(asterisk: dict, scenario: str, by: AnsweredBy,  # noqa: F811
                                             amd: str) -> None:
    """Asterisk's AMD() in the dialplan, or callpact's own on the AudioSocket stream."""
    telephony = AsteriskTelephony(settings_for(asterisk, amd=amd))
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
        await until_answered(events)
        who = await call.connect_agent("collections", 15, {"debtor_id": "D-17", "campaign": "it"})
        during = backend.agents.snapshot()
        agent_vars = await asyncio.to_thread(agent_channel_variables, asterisk)
        hangup = await next_event(events, 20)   # the agent hangs up after 4 s; the debtor follows
    finally:
        await agent.stop()
        await debtor.stop()
    assert (before.logged_in, before.idle) == (1, 1)
    assert who == "Agent One"
    assert during.talking == 1 and during.idle == 0
    assert "CALLPACT_DEBTOR_ID=D-17" in agent_vars      # the agent's leg inherited the debtor's context
    assert hangup.kind is CallEventKind.HANGUP and hangup.cause is HangupCause.NORMAL


async def test_a_debtors_carrier_never_learns_who_the_agent_is(asterisk: dict,  # noqa: F811
                                                               backend: AsteriskTelephony) -> None:
    """At the bridge Asterisk updates the debtor's side with the agent as the connected party (a
    re-INVITE with P-Asserted-Identity "Agent One" <sip:agent1@...>): the carrier must only ever
    see the campaign's caller ID."""
    agent = await Sipp("uas_agent", port=asterisk["agent_port"]).start()
    debtor = await Sipp("uas_customer_wait", port=asterisk["debtor_port"]).start()
    since = messages_log_size(asterisk)
    try:
        for _ in range(50):
            if backend.agents.snapshot().idle:
                break
            await asyncio.sleep(0.1)
        call = await backend.originate(request("it-identity"))
        events = call.events()
        await until_answered(events)
        who = await call.connect_agent("collections", 15, {"debtor_id": "D-19"})
        hangup = await next_event(events, 20)   # the agent hangs up after 4 s; the debtor follows
        await asyncio.sleep(0.5)                # the last messages reach the log
    finally:
        await agent.stop()
        await debtor.stop()
    to_debtor = sip_sent(asterisk, since, asterisk["debtor_port"])
    assert who == "Agent One"
    assert hangup.kind is CallEventKind.HANGUP
    invite = next(m for m in to_debtor if m.lstrip().startswith("INVITE "))
    assert "0201234567" in invite.split("\r\n\r\n")[0]         # the campaign's caller ID is presented
    leaks = [m for m in to_debtor if "agent1" in m.lower() or "agent one" in m.lower()]
    assert leaks == [], leaks[0]
    after_invite = to_debtor[to_debtor.index(invite) + 1:]
    assert any(m.lstrip().startswith("BYE ") for m in after_invite)   # the trace covers the bridge


def queue_pause(state: dict, paused: bool) -> str:
    """Pause or unpause Agent One as a supervisor would, from Asterisk's CLI."""
    verb = "pause" if paused else "unpause"
    return asterisk_cli(state, f"queue {verb} member PJSIP/agent1 queue collections reason lunch")


async def test_an_agent_paused_during_a_call_is_away_until_unpaused(asterisk: dict,  # noqa: F811
                                                                  backend: AsteriskTelephony) -> None:
    # app_queue offers a paused member no call: the dialler must not count on them once they hang up.
    agent = await Sipp("uas_agent", port=asterisk["agent_port"]).start()
    debtor = await Sipp("uas_customer_wait", port=asterisk["debtor_port"]).start()

    async def snapshot_when(ok: Any) -> Any:
        for _ in range(60):
            snap = backend.agents.snapshot()
            if ok(snap):
                return snap
            await asyncio.sleep(0.05)
        return backend.agents.snapshot()

    try:
        await snapshot_when(lambda s: s.logged_in)
        call = await backend.originate(request("it-pause"))
        events = call.events()
        await until_answered(events)
        assert await call.connect_agent("collections", 15, {"campaign": "it"}) == "Agent One"
        await asyncio.to_thread(queue_pause, asterisk, True)
        paused = await snapshot_when(lambda s: s.away_talking_s)
        hangup = await next_event(events, 20)   # the agent hangs up after 4 s
        done = await snapshot_when(lambda s: not s.away_talking_s)
        await asyncio.to_thread(queue_pause, asterisk, False)
        back = await snapshot_when(lambda s: s.idle)
    finally:
        await asyncio.to_thread(queue_pause, asterisk, False)
        await agent.stop()
        await debtor.stop()
    assert (paused.logged_in, paused.talking, len(paused.away_talking_s), paused.staying) == (1, 0, 1, 0)
    assert hangup.kind is CallEventKind.HANGUP
    # done and still paused: neither idle nor busy, so pacing counts no agent for new calls
    assert (done.logged_in, done.idle, done.talking, done.wrapping, done.away) == (1, 0, 0, 0, 0)
    assert (back.idle, back.away) == (1, 0)


async def test_without_an_agent_the_call_comes_back_for_the_information_message(
        asterisk: dict, tmp_path: Path) -> None:  # noqa: F811
    renderer = PromptRenderer(TTSConfig(cache_dir=tmp_path))          # espeak-ng, the default voice
    telephony = AsteriskTelephony(settings_for(asterisk), render=renderer.render)
    await telephony.start()
    debtor = await Sipp("uas_customer_wait", port=asterisk["debtor_port"]).start()
    try:
        call = await telephony.originate(request("it-abandon"))
        events = call.events()
        await until_answered(events)
        who = await call.connect_agent("collections", 2, {"debtor_id": "D-18"})
        played = await call.play(Prompt("U wordt teruggebeld. Bel ons op nul twintig.", "nl"))
        leg = call.media.leg if call.media else None
        await call.hangup()
        hangup = await next_event(events, 10)
    finally:
        await debtor.stop()
        await telephony.close()
        renderer.close()
    assert who is None
    assert played is not None and played.completed
    assert leg is not None and leg.frames_out > 50          # over a second of speech went down the socket
    assert hangup.cause is HangupCause.LOCAL


async def test_a_key_press_cuts_a_prompt_short(asterisk: dict, backend: AsteriskTelephony) -> None:  # noqa: F811
    sipp = await Sipp("uas_human_dtmf", port=asterisk["debtor_port"]).start()
    try:
        call = await backend.originate(request("it-barge"))
        events = call.events()
        await until_answered(events)
        result = await call.play(Prompt("lang", audio=tone(10.0)), barge_in=True)
        await call.hangup()
    finally:
        await sipp.stop()
    assert result is not None and not result.completed
    assert (result.barge_in, result.digits) == ("dtmf", "5")


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
    assert inbound.dialled == "+31201234567"          # the DID as E.164, as campaigns' caller IDs are
    assert inbound.caller_name == "Jan Jansen"
    assert played is not None and played.completed
    assert rc == 0                             # sipp saw the call through to our BYE


def agent_talking(tmp_path: Path, seconds: int) -> Path:
    """The queue agent's phone (uas_agent) answering and talking ``seconds`` before hanging up."""
    scenario = (SIPP_DIR / "uas_agent.xml").read_text().replace('<pause milliseconds="4000"/>',
                                                              f'<pause milliseconds="{seconds * 1000}"/>')
    (tmp_path / "uas_agent_talking.xml").write_text(scenario)
    return tmp_path / "uas_agent_talking"


async def test_a_caller_back_put_through_to_an_agent_stays_on_until_someone_hangs_up(
        asterisk: dict, backend: AsteriskTelephony, tmp_path: Path) -> None:  # noqa: F811
    """The inbound handler returns once the agent has answered; the call is theirs from then on, so
    callpact must not hang it up (the caller used to be cut off within milliseconds of the answer)."""
    connected: asyncio.Queue = asyncio.Queue()

    async def handler(call: Call, inbound: Inbound) -> None:
        who = await call.connect_agent("collections", 20, {"campaign": "it"})
        await connected.put((call, who, time.monotonic()))

    backend.set_inbound_handler(handler)
    agent = await Sipp(str(agent_talking(tmp_path, 10)), port=asterisk["agent_port"]).start()
    since = messages_log_size(asterisk)
    caller = await Sipp("uac_inbound", port=free_udp_port(), remote=f"127.0.0.1:{asterisk['sip_port']}",
                        service="0201234567").start()
    try:
        call, who, answered_at = await asyncio.wait_for(connected.get(), 40)
        caller_rc = await caller.wait(30)          # the caller's sipp ends when it gets a BYE
        caller_gone_at = time.monotonic()
        events = call.events()
        last = await next_event(events, 10)
        while last.kind is not CallEventKind.HANGUP:
            last = await next_event(events, 10)
    finally:
        await caller.stop()
        await agent.stop()
    assert who == "Agent One"
    talked = caller_gone_at - answered_at
    assert talked >= 9.0, f"the caller was cut off {talked:.1f} s after the agent answered"
    assert caller_rc == 0
    to_agent = sip_sent(asterisk, since, asterisk["agent_port"])
    assert not [m for m in to_agent if m.lstrip().startswith("BYE ")]    # the agent's own BYE ended it
    assert last.cause is HangupCause.NORMAL       # not LOCAL: callpact did not hang up


async def test_asterisk_restart_ends_live_calls_once_and_dialling_resumes(asterisk: dict,  # noqa: F811
                                                                          backend: AsteriskTelephony) -> None:
    debtor = await Sipp("uas_customer_wait", port=asterisk["debtor_port"], calls=2).start()
    calls = []
    try:
        for i in range(2):
            call = await backend.originate(request(f"it-restart-{i}"))
            events = call.events()
            await until_answered(events)
            calls.append((call, events))
        await asyncio.to_thread(run_testbed, "restart", asterisk["dir_path"])
        hangups = [await next_event(events, 20) for _call, events in calls]
        server = next(iter(backend.servers.values()))
        for _ in range(600):                     # reconnect backoff: 1, 2, 4, 8 ... s (a loaded machine)
            if server.ami.logins >= 2 and server.ami.connected.is_set():
                break
            await asyncio.sleep(0.1)
    finally:
        await debtor.stop()
    assert [h.kind for h in hangups] == [CallEventKind.HANGUP, CallEventKind.HANGUP]
    assert all(call.ended for call, _ in calls)
    assert server.ami.logins == 2                     # one reconnect, logged in again
    assert not server.calls                           # nothing left over to be counted again
    debtor = await Sipp("uas_busy", port=asterisk["debtor_port"]).start()
    try:
        call = await backend.originate(request("it-after-restart"))
        got = [e async for e in call.events()]
    finally:
        await debtor.stop()
    assert got[-1].cause is HangupCause.BUSY


async def test_an_ami_drop_keeps_a_live_call_which_is_found_again_by_the_resync(
        asterisk: dict, backend: AsteriskTelephony, caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811
    debtor = await Sipp("uas_customer_wait", port=asterisk["debtor_port"]).start()
    server = next(iter(backend.servers.values()))
    try:
        call = await backend.originate(request("it-ami-drop"))
        events = call.events()
        await until_answered(events)
        caplog.set_level("WARNING", logger="callpact.asterisk")
        assert server.ami.manager is not None and server.ami.manager.protocol is not None
        server.ami.manager.protocol.transport.abort()          # the AMI TCP path dies; Asterisk lives
        for _ in range(200):
            if server.ami.logins >= 2 and "resynchronised" in caplog.text:
                break
            await asyncio.sleep(0.1)
        still_up = not call.ended
        played = await call.play(Prompt("nog steeds hier", audio=tone(0.3)))
        await call.hangup()
        hangup = await next_event(events, 10)
    finally:
        await debtor.stop()
    assert server.ami.logins >= 2
    assert "1 of our calls still up" in caplog.text          # CoreShowChannels (write=reporting) found it
    assert still_up and played is not None and played.completed
    assert hangup.kind is CallEventKind.HANGUP and hangup.cause is HangupCause.LOCAL    # AMI events again


CAMPAIGN = always_open_campaign(
    "it", dial_mode="agentless", caller_id="+31202101234", max_lines=2, calls_per_second=1,
    attempts={"max_per_day": 20, "max_per_week": 50, "max_total": 50, "min_gap": "60s"},
    retry={"no_answer": "1h", "busy": "1h", "machine": "1h", "failed": "1h", "abandoned": "72h"})


async def test_campaign_survives_an_asterisk_restart_without_losing_an_attempt(
        asterisk: dict, backend: AsteriskTelephony, store: Store) -> None:  # noqa: F811
    cfg = parse_campaign(CAMPAIGN, "test campaign")
    await store.save_campaign(cfg.name, CAMPAIGN)
    now = time.time()
    rows = []
    for i in range(8):
        d = Debtor(f"D{i}", f"Debtor {i}", (f"+3161234{i:04d}",), Decimal("25.00"))
        rows.append((d, now - 1, priority_score(d, cfg)))
    await store.upsert_debtors(cfg.name, rows)
    await store.set_state(cfg.name, "running")
    debtor = await Sipp("uas_customer_wait", port=asterisk["debtor_port"], calls=20).start()
    engine = CampaignEngine(store, backend, cfg, tick_s=0.2)
    runner = asyncio.create_task(engine.run())
    restarted_at = None
    try:
        while engine.counters.finished < 2:
            await asyncio.sleep(0.1)
        await asyncio.to_thread(run_testbed, "restart", asterisk["dir_path"])
        restarted_at = time.time()
        deadline = time.monotonic() + 150      # each answered call runs the campaign's IVR flow
        while time.monotonic() < deadline:
            debtors_tried = {row["debtor_id"] async for row in store.iter_attempts(cfg.name)}
            if len(debtors_tried) == 8 and engine.calls_in_flight == 0:
                break
            await asyncio.sleep(0.2)
    finally:
        engine.stop()
        await asyncio.wait_for(runner, 30)
        await debtor.stop()
    attempts = [row async for row in store.iter_attempts(cfg.name)]
    stats = await store.stats(cfg.name)
    outcomes = {k: v for k, v in stats.items() if k.startswith("outcome:")}
    assert await store.open_attempts(cfg.name) == []                    # nothing left open
    assert len({a["debtor_id"] for a in attempts}) == 8                  # every debtor was dialled
    assert sum(outcomes.values()) == len(attempts) == engine.counters.attempts   # one outcome each
    assert all(a.get("outcome") for a in attempts)
    after = [a for a in attempts if float(a["dialled_at"]) > restarted_at
             and a["outcome"] == Outcome.ANSWERED_HUMAN.value]
    assert after, "no call was answered after Asterisk came back"
    refused = [a for a in attempts if a.get("detail", "").startswith("originate refused")]
    assert refused == [], [a["detail"] for a in refused]   # placed during the restart: they waited


def pcma_scenario(tmp_path: Path, name: str, far_end: Any, hold_ms: int) -> Path:
    """A sipp debtor phone that answers in PCMA and plays ``far_end`` (an RtpStream) for ``hold_ms``."""
    from helpers.asterisk_testbed import SIPP_DIR
    from helpers.rtp_pcap import pcap_bytes

    pcap = tmp_path / f"{name}.pcap"
    pcap.write_bytes(pcap_bytes(far_end.packets))
    template = (SIPP_DIR / "uas_human_dtmf.xml").read_text()
    scenario = (template.replace("RTP/AVP 0 101", "RTP/AVP 8 101").replace("a=rtpmap:0 PCMU/8000",
                                                                          "a=rtpmap:8 PCMA/8000")
                .replace("../pcap/human_dtmf5.pcap", str(pcap)).replace('milliseconds="6000"',
                                                                       f'milliseconds="{hold_ms}"'))
    (tmp_path / f"{name}.xml").write_text(scenario)
    return tmp_path / name


async def one_campaign_call(asterisk: dict, store: Store, tmp_path: Path, scenario: Path,  # noqa: F811
                            **settings: object) -> dict[str, str]:
    """Run CAMPAIGN (agentless, the reminder flow, real TTS) for Jan de Vries through Asterisk, with
    ``scenario`` as his phone, until the one attempt is recorded; returns that attempt."""
    renderer = PromptRenderer(TTSConfig(cache_dir=tmp_path / "tts"))
    backend = AsteriskTelephony(settings_for(asterisk, **settings), render=renderer.render,
                                prerender=renderer.prerender)
    await backend.start()
    cfg = parse_campaign(CAMPAIGN, "test campaign")
    await store.save_campaign(cfg.name, CAMPAIGN)
    debtor = Debtor("D1", "Jan de Vries", ("+31612345678",), Decimal("125.50"))
    await store.upsert_debtors(cfg.name, [(debtor, time.time() - 1, priority_score(debtor, cfg))])
    await store.set_state(cfg.name, "running")
    sipp = await Sipp(str(scenario), port=asterisk["debtor_port"], timeout_s=60).start()
    engine = CampaignEngine(store, backend, cfg, tick_s=0.2)
    runner = asyncio.create_task(engine.run())
    try:
        deadline = time.monotonic() + 60
        while engine.counters.finished < 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
    finally:
        engine.stop()
        await asyncio.wait_for(runner, 30)
        await sipp.stop()
        await backend.close()
        renderer.close()
    [row] = [row async for row in store.iter_attempts(cfg.name)]
    return row


async def test_the_reminder_flow_runs_through_asterisk_and_hears_the_keypad(
        asterisk: dict, store: Store, tmp_path: Path) -> None:  # noqa: F811
    """The campaign's IVR flow on a call carried by Asterisk (AMI + AudioSocket): TTS prompts out,
    the debtor's RFC 4733 "2" (not me) back in, the outcome and path recorded — as over SIP."""
    from helpers.rtp_pcap import RtpStream
    from test_sip_pjsua2 import speech

    phone = pcma_scenario(tmp_path, "uas_not_me", RtpStream().silence(0.3).audio(speech("Hallo?"))
                          .silence(4.0).digit("2").silence(8.0), hold_ms=14000)
    row = await one_campaign_call(asterisk, store, tmp_path, phone)
    assert row["outcome"] == Outcome.ANSWERED_HUMAN.value, row
    assert row["ivr_outcome"] == "wrong-person", row
    assert row["ivr_path"].startswith("greet>wrong_person"), row
    assert '"digits":"2"' in row["ivr_inputs"]


async def test_a_voicemail_message_is_left_after_the_beep(asterisk: dict,  # noqa: F811
                                                          store: Store, tmp_path: Path) -> None:
    """callpact's own AMD on the AudioSocket stream hears a long greeting (a machine); the flow's
    voicemail node waits for the greeting's beep and only then speaks, so the message is recorded whole."""
    from helpers.rtp_pcap import RtpStream
    from test_sip_pjsua2 import speech

    greeting = speech("Hallo, u spreekt met de voicemail van Jan de Vries. Ik ben er op dit moment niet. "
                      "Spreek na de toon een bericht in, dan bel ik u zo snel mogelijk terug.")
    phone = pcma_scenario(tmp_path, "uas_voicemail", RtpStream().silence(0.3).audio(greeting).silence(0.3)
                          .audio(tone(0.6, 1000.0)).silence(20.0), hold_ms=30000)
    row = await one_campaign_call(asterisk, store, tmp_path, phone, amd="audio")
    assert row["outcome"] == Outcome.ANSWERED_MACHINE.value, row
    assert row["ivr_outcome"] == "voicemail", row
    assert row["voicemail_after_beep"] == "1", row
    assert row["message_heard"] == "0", row        # a voicemail is not the reminder heard by the debtor
