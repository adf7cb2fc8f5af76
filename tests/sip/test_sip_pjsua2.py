"""The pjsua2 SIP backend against real SIP peers (sipp) on loopback.

Each test starts sipp with one of our scenarios (tests/sipp/), the far end's
audio being an RTP capture written by tests/helpers/rtp_pcap.py from real espeak-ng
speech, silence and RFC 4733 digits, and places or takes one real call.
sipp's own exit status is asserted too: the scenarios check our INVITE's
From, P-Asserted-Identity and attempt header, and that we sent CANCEL/BYE.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from helpers.rtp_pcap import RtpStream, pcap_bytes
from helpers.sip_peers import free_udp_port, free_udp_range, scenario, start_sipp

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
from sip.pjsua2 import backend as pjsua2_backend
from sip.pjsua2.backend import Pjsua2Telephony, pjsua2_available
from sip.pjsua2.settings import AmdConfig, CallerIdConfig, SipConfig, TrunkConfig

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not pjsua2_available(), reason="pjsua2 not built: run tools/build_pjsua2.sh"),
]

CALLER = "+31201234567"
DEBTOR = "+31612345678"


def speech(text: str, language: str = "nl") -> bytes:
    """Real speech: espeak-ng through sox to 8 kHz 16-bit mono PCM."""
    if shutil.which("espeak-ng") is None or shutil.which("sox") is None:
        pytest.fail("espeak-ng and sox are needed (make setup)")
    voice = subprocess.run(["espeak-ng", "-v", language, "--stdout", text], check=True,
                           capture_output=True).stdout
    return subprocess.run(["sox", "-t", "wav", "-", "-t", "raw", "-r", "8000", "-c", "1", "-b", "16",
                           "-e", "signed", "-L", "-"], input=voice, check=True, capture_output=True).stdout


def tone(seconds: float, freq: float = 440.0, amplitude: int = 8000) -> bytes:
    import math
    import struct
    n = int(8000 * seconds)
    samples = (int(amplitude * math.sin(2 * math.pi * freq * i / 8000)) for i in range(n))
    return struct.pack(f"<{n}h", *samples)


def write_pcap(path: Path, stream: RtpStream) -> Path:
    assert stream.packets is not None
    path.write_bytes(pcap_bytes(stream.packets))
    return path


def config(trunk_port: int, **changes: object) -> SipConfig:
    cfg = SipConfig(trunk=TrunkConfig(host="127.0.0.1", port=trunk_port),
                    caller_id=CallerIdConfig(number=CALLER, display_name="Incasso BV"),
                    bind_address="127.0.0.1", sip_port=0, rtp_port_start=free_udp_range(40),
                    rtp_port_count=40, max_calls=8, calls_per_second=50, amd=AmdConfig(enabled=False),
                    dead_air_s=10, log_level=int(__import__("os").environ.get("PJ_LOG", "1")))
    return replace(cfg, **changes)  # type: ignore[arg-type]


@pytest.fixture
async def backend_factory() -> AsyncIterator[object]:
    started: list[Pjsua2Telephony] = []

    async def make(cfg: SipConfig) -> Pjsua2Telephony:
        telephony = Pjsua2Telephony(cfg)
        await telephony.start()
        started.append(telephony)
        return telephony

    yield make
    for telephony in started:
        leaked = telephony.active_calls
        await telephony.close()
        assert leaked == 0, f"{leaked} calls still counted as in progress after the test"


def request(attempt: str = "att-1", ring_timeout_s: float = 10.0, number: str = DEBTOR) -> OriginateRequest:
    return OriginateRequest(attempt_id=attempt, number=number, caller_id=CALLER,
                            ring_timeout_s=ring_timeout_s)


async def events_of(call: Call, timeout_s: float = 20.0) -> list[CallEvent]:
    seen: list[CallEvent] = []

    async def collect() -> None:
        async for event in call.events():
            seen.append(event)

    await asyncio.wait_for(collect(), timeout_s)
    return seen


def uas(name: str, tmp_path: Path, pcap: Path | None = None, attempt: str = "att-1"):  # type: ignore[no-untyped-def]
    path = scenario(name, tmp_path, caller=re.escape(CALLER), attempt=attempt,
                    pcap=str(pcap) if pcap else "")
    return start_sipp(path, tmp_path)


async def test_answered_call_plays_prompt_and_hears_rfc4733_digit(tmp_path: Path, backend_factory) -> None:
    pcap = write_pcap(tmp_path / "digit.pcap", RtpStream().silence(0.6).digit("7").silence(2.0))
    sipp = uas("uas_answer_audio.xml", tmp_path, pcap)
    telephony = await backend_factory(config(sipp.port))
    call = await telephony.originate(request())
    kinds: list[CallEventKind] = []
    digits = ""
    async for event in call.events():
        kinds.append(event.kind)
        if event.kind is CallEventKind.ANSWERED:
            played = await call.play(Prompt("", audio=tone(0.3)))
            assert played is not None and played.completed
            digits = await call.collect_dtmf(max_digits=1, timeout_s=5.0)
            await call.hangup()
    assert kinds == [CallEventKind.RINGING, CallEventKind.ANSWERED, CallEventKind.HANGUP]
    assert digits == "7"
    assert call.stats.first_prompt_frame_at is not None      # the prompt went out on the wire
    assert sipp.wait() == 0, sipp.errors()                    # From, PAI, attempt header checked, BYE seen


async def test_busy_line_is_busy(tmp_path: Path, backend_factory) -> None:
    sipp = uas("uas_busy.xml", tmp_path)
    telephony = await backend_factory(config(sipp.port))
    events = await events_of(await telephony.originate(request()))
    assert events[-1].cause is HangupCause.BUSY
    assert "486" in events[-1].detail
    assert CallEventKind.ANSWERED not in [e.kind for e in events]
    assert sipp.wait() == 0, sipp.errors()


async def test_ringing_until_our_timeout_is_no_answer(tmp_path: Path, backend_factory) -> None:
    sipp = uas("uas_ring_no_answer.xml", tmp_path)
    telephony = await backend_factory(config(sipp.port))
    events = await events_of(await telephony.originate(request(ring_timeout_s=1.5)))
    assert [e.kind for e in events] == [CallEventKind.RINGING, CallEventKind.HANGUP]
    assert events[-1].cause is HangupCause.NO_ANSWER
    assert sipp.wait() == 0, sipp.errors()                   # sipp saw our CANCEL and sent 487


async def test_long_continuous_greeting_is_a_machine(tmp_path: Path, backend_factory) -> None:
    greeting = speech("Goedendag, u spreekt met het antwoordapparaat van de familie de Vries. "
                      "Wij zijn op dit moment niet bereikbaar, spreek na de piep een bericht in.")
    pcap = write_pcap(tmp_path / "greeting.pcap", RtpStream().silence(0.3).audio(greeting))
    sipp = uas("uas_answer_audio.xml", tmp_path, pcap)
    telephony = await backend_factory(config(sipp.port, amd=AmdConfig(enabled=True)))
    call = await telephony.originate(request())
    answered: list[AnsweredBy | None] = []
    async for event in call.events():
        if event.kind is CallEventKind.ANSWERED:
            answered.append(event.answered_by)
            await call.hangup()
    assert answered == [AnsweredBy.MACHINE]
    assert sipp.wait() == 0, sipp.errors()


async def test_hello_then_silence_is_a_person(tmp_path: Path, backend_factory) -> None:
    pcap = write_pcap(tmp_path / "hello.pcap", RtpStream().silence(0.3).audio(speech("Hallo?")).silence(3))
    sipp = uas("uas_answer_audio.xml", tmp_path, pcap)
    telephony = await backend_factory(config(sipp.port, amd=AmdConfig(enabled=True)))
    call = await telephony.originate(request())
    answered: list[tuple[AnsweredBy | None, float]] = []
    async for event in call.events():
        if event.kind is CallEventKind.ANSWERED:
            answered.append((event.answered_by, event.at))
            await call.hangup()
    assert [a for a, _ in answered] == [AnsweredBy.HUMAN]
    assert sipp.wait() == 0, sipp.errors()


async def test_trunk_answering_503_fails_the_call(tmp_path: Path, backend_factory) -> None:
    sipp = uas("uas_503.xml", tmp_path)
    telephony = await backend_factory(config(sipp.port))
    events = await events_of(await telephony.originate(request()))
    assert events[-1].cause is HangupCause.FAILED
    assert "503" in events[-1].detail
    assert sipp.wait() == 0, sipp.errors()


async def test_inbound_call_back_reaches_the_handler_with_the_callers_number(tmp_path: Path,
                                                                             backend_factory) -> None:
    telephony = await backend_factory(config(free_udp_port()))
    got: list[tuple[Inbound, str]] = []

    async def handler(call: Call, inbound: Inbound) -> None:
        got.append((inbound, await call.collect_dtmf(max_digits=1, timeout_s=5.0)))
        await call.hangup()

    telephony.set_inbound_handler(handler)
    pcap = write_pcap(tmp_path / "in.pcap", RtpStream().silence(0.5).digit("3").silence(2.0))
    path = scenario("uac_inbound.xml", tmp_path, from_user="0612345678", dialled=CALLER, pcap=str(pcap))
    sipp = start_sipp(path, tmp_path, remote=f"127.0.0.1:{telephony.local_port}")
    assert await asyncio.to_thread(sipp.wait) == 0, sipp.errors()
    assert len(got) == 1
    inbound, digit = got[0]
    assert inbound.caller == DEBTOR                  # national 06... read as E.164 in the NL region
    assert inbound.dialled == CALLER
    assert inbound.caller_name == "Jan de Vries"
    assert digit == "3"


async def test_answered_call_without_rtp_is_hung_up_as_dead_air(tmp_path: Path, backend_factory) -> None:
    sipp = uas("uas_dead_air.xml", tmp_path)
    telephony = await backend_factory(config(sipp.port, dead_air_s=1.5))
    events = await events_of(await telephony.originate(request()))
    assert [e.kind for e in events] == [CallEventKind.ANSWERED, CallEventKind.HANGUP]
    assert "dead air" in events[-1].detail
    assert sipp.wait() == 0, sipp.errors()


async def test_trunk_that_never_answers_fails_fast_and_malformed_sip_is_survived(
        tmp_path: Path, backend_factory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pjsua2_backend, "TRUNK_SILENCE_S", 1.0)
    dead_port = free_udp_port()                      # nothing listens there
    telephony = await backend_factory(config(dead_port))
    events = await events_of(await telephony.originate(request(ring_timeout_s=30)))
    assert events[-1].cause is HangupCause.FAILED
    assert "did not respond" in events[-1].detail   # our check, long before pjsua's own 32 s timeout
    # Garbage and a truncated INVITE at our SIP port: the stack drops them and keeps working.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for junk in (b"\x00\xff garbage", b"INVITE sip:x SIP/2.0\r\nVia: nonsense\r\n\r\n",
                     b"SIP/2.0 200\r\n\r\n" * 3):
            sock.sendto(junk, ("127.0.0.1", telephony.local_port))
    sipp = uas("uas_busy.xml", tmp_path, attempt="att-2")
    telephony.cfg = replace(telephony.cfg, trunk=replace(telephony.cfg.trunk, port=sipp.port))
    events = await events_of(await telephony.originate(request("att-2")))
    assert events[-1].cause is HangupCause.BUSY
    assert sipp.wait() == 0, sipp.errors()


def test_callpact_call_command_reports_outcome_and_digits(tmp_path: Path) -> None:
    """The admin's trunk test, as a user runs it: the real CLI in its own process."""
    # A person: "hallo?", then keys while the test prompt plays (barge-in), ended by #.
    pcap = write_pcap(tmp_path / "keys.pcap", RtpStream().silence(0.3).audio(speech("Hallo?")).silence(3.0)
                      .digit("4").silence(0.3).digit("2").silence(0.3).digit("#").silence(4.0))
    path = scenario("uas_answer_audio.xml", tmp_path, caller=re.escape(CALLER), attempt="test-[0-9]+",
                    pcap=str(pcap))
    sipp = start_sipp(path, tmp_path)
    callpact = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "callpact"
    command = [str(callpact), "call", "--to", "06 12345678", "--trunk", f"sip:127.0.0.1:{sipp.port}",
               "--caller-id", CALLER, "--ring-timeout", "10", "--json"]
    done = subprocess.run(command,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["outcome"] == "answered-human"
    assert report["digits"] == "42"
    assert report["number"] == "+31*******78"          # masked even in its own report
    assert report["answer_to_first_audio_ms"] is not None
    assert sipp.wait() == 0, sipp.errors()


def _heard_chunks(sent: bytes, heard: bytes, chunk: int = 2000, search: int = 2400) -> tuple[int, int]:
    """How many 0.25 s pieces of speech in ``sent`` appear in ``heard`` (correlation > 0.9), of how many.

    Piece by piece rather than as a whole: the far end's jitter buffer may shift the audio by a frame
    (a real network does that too), which is not the same as not hearing it.
    """
    import numpy as np
    a = np.frombuffer(sent, dtype="<i2").astype(np.float64)
    b = np.frombuffer(heard, dtype="<i2").astype(np.float64)
    matched = speech_pieces = 0
    for start in range(0, len(a) - chunk + 1, chunk):
        piece = a[start:start + chunk]
        if np.sqrt(np.mean(piece ** 2)) < 500:          # a pause between words
            continue
        speech_pieces += 1
        window = b[max(0, start - search): start + chunk + search]
        if len(window) < chunk:
            continue
        dots = np.correlate(window, piece, mode="valid")
        energy = np.cumsum(np.concatenate(([0.0], window ** 2)))
        norms = np.sqrt(energy[chunk:] - energy[:-chunk]) * np.linalg.norm(piece) + 1e-9
        if float(np.max(dots / norms)) > 0.9:
            matched += 1
    return matched, speech_pieces


async def start_far_end_ua(recording: Path, *args: str) -> tuple[subprocess.Popen[str], int]:
    """Start the second pjsua2 UA (tests/helpers/far_end_ua.py) recording into ``recording``; returns the
    process and its SIP port once it says READY (the caller ends the process)."""
    import sys
    far_end = Path(__file__).parents[1] / "helpers" / "far_end_ua.py"
    process = subprocess.Popen([sys.executable, str(far_end), str(recording), *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def wait_ready() -> str:
        for _ in range(50):           # pjlib prints its start-up lines first
            line = process.stdout.readline() if process.stdout else ""
            if not line or line.startswith("READY"):
                return line
        return ""
    try:
        ready = await asyncio.wait_for(asyncio.to_thread(wait_ready), 20)
        assert ready.startswith("READY"), process.stderr.read() if process.stderr else ready
    except BaseException:
        process.kill()
        process.wait(5)
        raise
    return process, int(ready.split()[1])


async def test_far_end_user_agent_hears_exactly_the_prompt_we_played(tmp_path: Path, backend_factory) -> None:
    """'Played' means heard: an independent pjsua2 UA records the call and we compare the audio."""
    import wave
    recording = tmp_path / "heard.wav"
    far_end, far_port = await start_far_end_ua(recording)
    try:
        telephony = await backend_factory(config(far_port))
        prompt = speech("Dit is een betalingsherinnering van Incasso BV. Toets een om te betalen.")
        call = await telephony.originate(request())
        played = None
        async for event in call.events():
            if event.kind is CallEventKind.ANSWERED:
                played = await call.play(Prompt("", audio=prompt))
                await call.hangup()
        assert played is not None and played.completed
        assert await asyncio.to_thread(far_end.wait, 20) == 0
    finally:
        if far_end.poll() is None:
            far_end.kill()
            far_end.wait(5)
    with wave.open(str(recording)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
        heard = wav.readframes(wav.getnframes())
    matched, pieces = _heard_chunks(prompt, heard)
    print(f"far end heard {matched} of {pieces} speech pieces of the prompt")
    assert pieces >= 10
    assert matched >= 0.9 * pieces, f"only {matched} of {pieces} pieces of the prompt were heard"
    # The check tells prompts apart: other speech is not "heard" in this recording.
    other = speech("Goedemiddag, u spreekt met de klantenservice.")
    other_matched, other_pieces = _heard_chunks(other, heard)
    assert other_matched <= 0.2 * other_pieces


CONTEXT = {"attempt_id": "att-1", "debtor_id": "D-42", "campaign": "nov"}


async def test_transfer_to_agent_by_refer_carries_the_debtor_context(tmp_path: Path, backend_factory) -> None:
    agent_uri = "sip:agent1@127.0.0.1:5099"
    path = scenario("uas_refer.xml", tmp_path, caller=re.escape(CALLER), attempt="att-1",
                    agent=re.escape(agent_uri), debtor_id="D-42")
    sipp = start_sipp(path, tmp_path)
    telephony = await backend_factory(config(sipp.port, agents={"collections": (agent_uri,)}))
    call = await telephony.originate(request())
    agent = None
    async for event in call.events():
        if event.kind is CallEventKind.ANSWERED:
            agent = await call.connect_agent("collections", 5.0, CONTEXT)
    assert agent == agent_uri
    assert sipp.wait() == 0, sipp.errors()          # REFER with the context seen, NOTIFY 200 sent, BYE seen
    await asyncio.sleep(0.1)
    assert telephony.agents.snapshot().idle == 1     # the agent is free again once our leg is gone


async def test_transfer_without_refer_bridges_a_second_leg_to_the_agent(tmp_path: Path,
                                                                        backend_factory) -> None:
    debtor_dir, agent_dir = tmp_path / "debtor", tmp_path / "agent"
    debtor_dir.mkdir()
    agent_dir.mkdir()
    debtor_pcap = write_pcap(debtor_dir / "d.pcap", RtpStream().silence(6.0))
    anna = speech("Goedemiddag, met Anna.")
    agent_pcap = write_pcap(agent_dir / "a.pcap", RtpStream().audio(anna).silence(3))
    debtor_sipp = start_sipp(scenario("uas_answer_audio.xml", debtor_dir, caller=re.escape(CALLER),
                                      attempt="att-1", pcap=str(debtor_pcap)), debtor_dir)
    agent_sipp = start_sipp(scenario("uas_agent.xml", agent_dir, debtor_id="D-42", campaign="nov",
                                     attempt="att-1", pcap=str(agent_pcap)), agent_dir)
    agent_uri = f"sip:agent1@127.0.0.1:{agent_sipp.port}"
    cfg = config(debtor_sipp.port, agents={"collections": (agent_uri,)})
    telephony = await backend_factory(replace(cfg, trunk=replace(cfg.trunk, allows_refer=False)))
    call = await telephony.originate(request())
    agent = None
    talking = None
    async for event in call.events():
        if event.kind is CallEventKind.ANSWERED:
            agent = await call.connect_agent("collections", 5.0, CONTEXT)
            talking = telephony.agents.snapshot().talking
            await asyncio.sleep(1.0)
            await call.hangup()                       # the debtor's side ends: the agent's leg follows
    assert agent == agent_uri
    assert talking == 1
    assert await asyncio.to_thread(agent_sipp.wait) == 0, agent_sipp.errors()   # context headers, BYE
    assert await asyncio.to_thread(debtor_sipp.wait) == 0, debtor_sipp.errors()


@pytest.mark.parametrize(("password", "cause"), [("s3cret", HangupCause.BUSY), ("wrong", HangupCause.FAILED)])
async def test_digest_credentials_answer_the_trunks_challenge(tmp_path: Path, backend_factory, password: str,
                                                              cause: HangupCause) -> None:
    path = scenario("uas_digest_auth.xml", tmp_path, username="callpact", password="s3cret")
    sipp = start_sipp(path, tmp_path)
    cfg = config(sipp.port)
    trunk = replace(cfg.trunk, username="callpact", password=password)
    telephony = await backend_factory(replace(cfg, trunk=trunk))
    events = await events_of(await telephony.originate(request()))
    assert events[-1].cause is cause             # busy: the trunk accepted our credentials
    assert sipp.wait() == 0, sipp.errors()


async def test_trunk_over_tcp(tmp_path: Path, backend_factory) -> None:
    sipp = start_sipp(scenario("uas_busy.xml", tmp_path, caller=re.escape(CALLER), attempt="att-1"), tmp_path,
                      transport="tcp")
    cfg = config(sipp.port)
    telephony = await backend_factory(replace(cfg, trunk=replace(cfg.trunk, transport="tcp")))
    events = await events_of(await telephony.originate(request()))
    assert events[-1].cause is HangupCause.BUSY
    assert sipp.wait() == 0, sipp.errors()


async def test_digit_sent_by_sip_info_is_heard(tmp_path: Path, backend_factory) -> None:
    sipp = start_sipp(scenario("uas_info_dtmf.xml", tmp_path, caller=re.escape(CALLER), attempt="att-1",
                               digit="9"), tmp_path)
    telephony = await backend_factory(config(sipp.port))
    call = await telephony.originate(request())
    digits = ""
    async for event in call.events():
        if event.kind is CallEventKind.ANSWERED:
            digits = await call.collect_dtmf(max_digits=1, timeout_s=5.0)
            await call.hangup()
    assert digits == "9"
    assert sipp.wait() == 0, sipp.errors()


@pytest.mark.parametrize(("password", "registered"), [("s3cret", True), ("wrong", False)])
async def test_registration_with_the_trunk(tmp_path: Path, password: str, registered: bool) -> None:
    registrar = scenario("uas_registrar.xml", tmp_path, username="callpact", password="s3cret")
    sipp = start_sipp(registrar, tmp_path)
    cfg = config(sipp.port)
    trunk = replace(cfg.trunk, username="callpact", password=password, register=True)
    telephony = Pjsua2Telephony(replace(cfg, trunk=trunk))
    await telephony.start()
    try:
        async with asyncio.timeout(10):
            while telephony.registration_status == 0 or telephony.registration_status == 401:
                await asyncio.sleep(0.05)
        assert telephony.registered.is_set() is registered
        assert telephony.registration_status == (200 if registered else 403)
    finally:
        await telephony.close()                       # un-REGISTERs when registered
    if registered:
        assert sipp.wait() == 0, sipp.errors()        # challenge, credentials, 200, un-REGISTER seen
    else:
        sipp.stop()


def test_callpact_call_runs_an_ivr_flow(tmp_path: Path) -> None:
    """`callpact call --flow`: the shipped reminder flow on a real call; the person says it is not them."""
    pcap = write_pcap(tmp_path / "no.pcap", RtpStream().silence(0.3).audio(speech("Hallo?")).silence(4.0)
                      .digit("2").silence(8.0))
    path = scenario("uas_answer_audio.xml", tmp_path, caller=re.escape(CALLER), attempt="test-[0-9]+",
                    pcap=str(pcap))
    sipp = start_sipp(path, tmp_path)
    callpact = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "callpact"
    debtor = json.dumps({"debtor_id": "D-7", "name": "Jan de Vries", "amount_due": "125.50"})
    command = [str(callpact), "call", "--to", "0612345678", "--trunk", f"sip:127.0.0.1:{sipp.port}",
               "--caller-id", CALLER, "--flow", "payment_reminder", "--debtor", debtor, "--json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["answered_by"] == "human"
    assert report["flow"] == "payment_reminder"
    assert report["flow_outcome"] == "wrong-person"
    assert report["flow_path"][:2] == ["greet", "wrong_person"]
    assert report["inputs"][0]["digits"] == "2"
    assert sipp.wait() == 0, sipp.errors()


async def test_inbound_call_without_a_handler_is_refused_with_480(tmp_path: Path, backend_factory) -> None:
    telephony = await backend_factory(config(free_udp_port()))
    path = scenario("uac_rejected.xml", tmp_path, from_user="0612345678", dialled=CALLER)
    sipp = start_sipp(path, tmp_path, remote=f"127.0.0.1:{telephony.local_port}")
    assert await asyncio.to_thread(sipp.wait) == 0, sipp.errors()      # sipp got its 480
    assert telephony.active_calls == 0


async def test_outbound_proxy_carries_the_call_to_the_trunk(tmp_path: Path, backend_factory) -> None:
    """With an outbound proxy, every request goes to the proxy, addressed to the trunk (loose routing)."""
    sipp = uas("uas_busy.xml", tmp_path)
    cfg = config(sipp.port)
    trunk = replace(cfg.trunk, host="carrier.invalid", port=5060, outbound_proxy=f"sip:127.0.0.1:{sipp.port}")
    telephony = await backend_factory(replace(cfg, trunk=trunk))
    events = await events_of(await telephony.originate(request()))
    assert events[-1].cause is HangupCause.BUSY   # the proxy (sipp) answered; the trunk name never resolves
    assert sipp.wait() == 0, sipp.errors()


def _self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (CN and subjectAltName), and its key."""
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True)
    return cert, key


@pytest.mark.parametrize("trusted", [True, False])
async def test_tls_trunk_is_verified_against_its_ca(tmp_path: Path, backend_factory, trusted: bool) -> None:
    """A TLS trunk (the far end is a second pjsua2 UA with its own certificate): with the trunk's CA
    the call goes through and is heard; with another CA the call fails before any INVITE is sent."""
    cert, key = _self_signed(tmp_path, "trunk")
    other_ca, _ = _self_signed(tmp_path, "other")
    recording = tmp_path / "heard.wav"
    far_end, far_port = await start_far_end_ua(recording, "--tls", str(cert), str(key))
    try:
        cfg = config(far_port)
        trunk = replace(cfg.trunk, transport="tls", tls_ca_file=str(cert if trusted else other_ca))
        telephony = await backend_factory(replace(cfg, trunk=trunk))
        call = await telephony.originate(request())
        kinds = []
        async for event in call.events():
            kinds.append(event.kind)
            if event.kind is CallEventKind.ANSWERED:
                await call.play(Prompt("", audio=speech("Goedemiddag.")))
                await call.hangup()
            if event.kind is CallEventKind.HANGUP:
                cause = event.cause
        if trusted:
            assert CallEventKind.ANSWERED in kinds
            assert await asyncio.to_thread(far_end.wait, 20) == 0
            assert recording.stat().st_size > 8000           # the far end recorded what it heard
        else:
            assert CallEventKind.ANSWERED not in kinds
            assert cause is HangupCause.FAILED
    finally:
        if far_end.poll() is None:
            far_end.kill()
            far_end.wait(5)


async def test_bridged_agent_is_heard_by_the_debtor(tmp_path: Path, backend_factory) -> None:
    """The bridge carries audio: the debtor (a pjsua2 UA recording the call) hears the agent (sipp
    playing a spoken greeting) once connect_agent bridged the two legs."""
    import wave
    agent_dir = tmp_path / "agent"
    agent_dir.mkdir()
    anna = speech("Goedemiddag, u spreekt met Anna van de klantenservice. Waarmee kan ik u helpen?")
    agent_pcap = write_pcap(agent_dir / "a.pcap", RtpStream().silence(0.5).audio(anna).silence(1.0))
    agent_sipp = start_sipp(scenario("uas_agent.xml", agent_dir, debtor_id="D-42", campaign="nov",
                                     attempt="att-1", pcap=str(agent_pcap)), agent_dir)
    recording = tmp_path / "debtor.wav"
    debtor, debtor_port = await start_far_end_ua(recording)
    try:
        agent_uri = f"sip:agent1@127.0.0.1:{agent_sipp.port}"
        cfg = config(debtor_port, agents={"collections": (agent_uri,)})
        telephony = await backend_factory(replace(cfg, trunk=replace(cfg.trunk, allows_refer=False)))
        call = await telephony.originate(request())
        async for event in call.events():
            if event.kind is CallEventKind.ANSWERED:
                assert await call.connect_agent("collections", 5.0, CONTEXT) == agent_uri
                await asyncio.sleep(len(anna) / 16000 + 1.5)
                await call.hangup()
        assert await asyncio.to_thread(debtor.wait, 20) == 0
        assert await asyncio.to_thread(agent_sipp.wait) == 0, agent_sipp.errors()
    finally:
        if debtor.poll() is None:
            debtor.kill()
            debtor.wait(5)
    with wave.open(str(recording)) as wav:
        heard = wav.readframes(wav.getnframes())
    matched, pieces = _heard_chunks(anna, heard, search=16000)     # the agent starts up to 2 s in
    print(f"debtor heard {matched} of {pieces} speech pieces of the agent")
    assert pieces >= 10
    assert matched >= 0.8 * pieces, f"the debtor heard only {matched} of {pieces} pieces of the agent"
