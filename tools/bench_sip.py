#!/usr/bin/env python3
"""Benchmark: N concurrent real SIP calls through the pjsua2 backend against sipp on loopback.

Every call: sipp answers and sends the far end's audio (a spoken "hallo?", a key as
audible DTMF tones, one as RFC 4733; real espeak-ng speech as PCMA RTP); callpact plays a
spoken prompt for the whole call and streams the far end's audio through audio/'s
MediaSession (in-band DTMF detector on every frame, AMD, RFC 4733 digits), then hangs up.

Figures: CPU of the callpact process per call (against an idle baseline measured in the
same run), late bridge ticks, lost and dropped frames, and the time from 200 OK to the
first RTP frame of the prompt (p50/p95). Bounded: at most --calls calls, each --hold
seconds, the whole run under --timeout seconds.

    .venv/bin/python tools/bench_sip.py --calls 200 --hold 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import resource
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from sip_peers import scenario, start_sipp  # noqa: E402

from audio.amd import AmdVerdict  # noqa: E402
from audio.tones import dtmf as dtmf_tone  # noqa: E402
from sip.pjsua2_backend import Pjsua2Telephony, amd_params, pjsua2_available  # noqa: E402
from sip.rtp_pcap import RtpStream, pcap_bytes  # noqa: E402
from sip.sip_config import AmdConfig, CallerIdConfig, SipConfig, TrunkConfig  # noqa: E402
from sip.telephony import CallEventKind, OriginateRequest, Prompt  # noqa: E402

CALLER = "+31201234567"


@dataclass
class CallResult:
    answered: bool = False
    first_audio_ms: float | None = None
    verdict: AmdVerdict | None = None
    digits: str = ""
    frames_received: int = 0
    frames_dropped: int = 0
    late_ticks: int = 0
    media: dict[str, int] = field(default_factory=dict)
    cause: str = ""


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def speech(text: str) -> bytes:
    import subprocess
    voice = subprocess.run(["espeak-ng", "-v", "nl", "--stdout", text], check=True,
                           capture_output=True).stdout
    return subprocess.run(["sox", "-t", "wav", "-", "-t", "raw", "-r", "8000", "-c", "1", "-b", "16", "-e",
                           "signed", "-L", "-"], input=voice, check=True, capture_output=True).stdout


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def analyse(call: Any, result: CallResult, amd: AmdConfig) -> None:
    """The far end's audio through callpact's pipeline (audio/session.py): AMD while in-band DTMF runs."""
    verdict = await call.media.detect_machine(amd_params(amd))
    result.verdict = verdict.verdict


async def one_call(telephony: Pjsua2Telephony, index: int, prompt: bytes, hold_s: float,
                   amd: AmdConfig) -> CallResult:
    result = CallResult()
    request = OriginateRequest(attempt_id=f"bench-{index}", number=f"+3161{index:07d}", caller_id=CALLER,
                               ring_timeout_s=20)
    call = await telephony.originate(request)
    async for event in call.events():
        if event.kind is CallEventKind.ANSWERED:
            result.answered = True
            analysis = asyncio.create_task(analyse(call, result, amd))
            loop = asyncio.get_running_loop()
            end = loop.time() + hold_s
            digits_task = asyncio.create_task(call.collect_dtmf(max_digits=2, timeout_s=hold_s,
                                                                terminator=None))
            while loop.time() < end and not call.ended:
                await asyncio.wait({asyncio.ensure_future(call.play(Prompt("", audio=prompt)))},
                                   timeout=max(0.0, end - loop.time()))
            call.leg.flush()
            result.media = await call.media_stats()
            result.digits = await digits_task if digits_task.done() else ""
            digits_task.cancel()
            await call.hangup()
            analysis.cancel()
        elif event.kind is CallEventKind.HANGUP:
            result.cause = event.cause.value if event.cause else ""
    stats = call.stats
    if stats.confirmed_at is not None and stats.first_prompt_frame_at is not None:
        result.first_audio_ms = (stats.first_prompt_frame_at - stats.confirmed_at) * 1000
    result.frames_received = stats.frames_received
    result.frames_dropped = call.leg.frames_dropped
    result.late_ticks = stats.late_requests
    return result


async def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    hello = speech("Hallo?")
    # A person: "hallo?", a key pressed as audible tones (in-band), then one sent as RFC 4733.
    far_end = (RtpStream().silence(0.3).audio(hello).silence(1.0).audio(dtmf_tone("4", 100)).silence(0.5)
               .digit("5").silence(max(1.0, args.hold - 4)))
    assert far_end.packets is not None
    (workdir / "far_end.pcap").write_bytes(pcap_bytes(far_end.packets))
    prompt = speech("Dit is een betalingsherinnering. Toets een om nu te betalen, "
                    "of twee voor een medewerker.")
    path = scenario("uas_answer_audio.xml", workdir, caller=re.escape(CALLER), attempt="bench-[0-9]+",
                    pcap=str(workdir / "far_end.pcap"))
    sipp = start_sipp(path, workdir, calls=args.calls, timeout_s=int(args.timeout))
    amd = AmdConfig(enabled=True)
    rtp_count = 4 * args.calls + 100
    cfg = SipConfig(trunk=TrunkConfig(host="127.0.0.1", port=sipp.port),
                    caller_id=CallerIdConfig(number=CALLER),
                    bind_address="127.0.0.1", sip_port=0,
                    rtp_port_start=random.randrange(20000, 60000 - rtp_count, 2), rtp_port_count=rtp_count,
                    max_calls=min(512, args.calls + 8), calls_per_second=args.cps,
                    amd=AmdConfig(enabled=False), inband_dtmf=args.inband,
                    dead_air_s=max(30.0, args.hold + 10), log_level=1)
    telephony = Pjsua2Telephony(cfg)
    await telephony.start()
    try:
        # Idle baseline: the stack running with no calls, same process, same run.
        idle_cpu0, idle_t0 = cpu_seconds(), time.monotonic()
        await asyncio.sleep(3.0)
        idle_rate = (cpu_seconds() - idle_cpu0) / (time.monotonic() - idle_t0)
        started = time.monotonic()
        tasks = [asyncio.create_task(one_call(telephony, i, prompt, args.hold, amd))
                 for i in range(args.calls)]
        ramp_s = args.calls / args.cps
        # Steady state: every call set up (ramp + 1 s) until the first ones are about to end.
        await asyncio.sleep(ramp_s + 1.0)
        steady_cpu0, steady_t0 = cpu_seconds(), time.monotonic()
        sipp_cpu0 = process_cpu_seconds(sipp.process.pid)
        concurrent = telephony.active_calls
        window = max(2.0, args.hold - ramp_s - 2.0)
        await asyncio.sleep(window)
        steady_s = time.monotonic() - steady_t0
        steady_rate = (cpu_seconds() - steady_cpu0) / steady_s
        sipp_rate = (process_cpu_seconds(sipp.process.pid) - sipp_cpu0) / steady_s
        concurrent = min(concurrent, telephony.active_calls) if telephony.active_calls else concurrent
        results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True),
                                         timeout=max(10.0, args.timeout - (time.monotonic() - started)))
    finally:
        await telephony.close()
        sipp_rc = await asyncio.to_thread(sipp.wait, 30)
    good = [r for r in results if isinstance(r, CallResult)]
    errors = [repr(r) for r in results if not isinstance(r, CallResult)]
    first_audio = [r.first_audio_ms for r in good if r.first_audio_ms is not None]
    per_call_pct = (steady_rate - idle_rate) / max(1, concurrent) * 100
    return {
        "calls": args.calls, "hold_s": args.hold, "cps": args.cps, "inband_dtmf": args.inband,
        "concurrent_in_steady_window": concurrent,
        "answered": sum(r.answered for r in good),
        "errors": errors[:5],
        "cpu_idle_baseline_pct_of_core": round(idle_rate * 100, 1),
        "cpu_steady_pct_of_core": round(steady_rate * 100, 1),
        "cpu_per_call_pct_of_core": round(per_call_pct, 3),
        "sipp_cpu_pct_of_core": round(sipp_rate * 100, 1),
        "answer_to_first_audio_ms_p50": round(statistics.median(first_audio), 1) if first_audio else None,
        "answer_to_first_audio_ms_p95": round(percentile(first_audio, 0.95), 1) if first_audio else None,
        "answer_to_first_audio_ms_max": round(max(first_audio), 1) if first_audio else None,
        "far_end_rtp_packets_sent_per_call": len(far_end.packets),
        "far_end_rtp_packets_received_min": min((r.media.get("rx_packets", 0) for r in good), default=0),
        "frames_to_analysis_expected_per_call": int(args.hold * 50),
        "frames_to_analysis_min": min((r.frames_received for r in good), default=0),
        "frames_dropped_by_slow_consumer": sum(r.frames_dropped for r in good),
        "late_bridge_ticks_over_40ms": sum(r.late_ticks for r in good),
        "rtp_lost": sum(r.media.get("rx_lost", 0) for r in good),
        "jitter_buffer_lost": sum(r.media.get("jitter_buffer_lost", 0) for r in good),
        "jitter_buffer_discarded": sum(r.media.get("jitter_buffer_discarded", 0) for r in good),
        "amd_verdicts": {v.value: sum(r.verdict is v for r in good) for v in AmdVerdict},
        "calls_with_both_digits_received": sum(r.digits == "45" for r in good),
        "calls_with_rfc4733_digit_received": sum("5" in r.digits for r in good),
        "sipp_exit_status": sipp_rc,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--hold", type=float, default=20.0, help="seconds each answered call lasts")
    parser.add_argument("--cps", type=float, default=50.0, help="call starts per second")
    parser.add_argument("--timeout", type=float, default=180.0, help="bound on the whole run")
    parser.add_argument("--inband", choices=["always", "auto"], default="always",
                        help="always: in-band DTMF detector on every frame of every call; auto: only where "
                             "telephone-event is not negotiated (the backend's default; sipp negotiates it)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not pjsua2_available():
        print("bench_sip: pjsua2 is not installed (tools/build_pjsua2.sh .venv/bin/python)", file=sys.stderr)
        return 2
    if not 1 <= args.calls <= 500:
        print("bench_sip: --calls must be 1..500", file=sys.stderr)
        return 2
    import tempfile
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-sip-") as tmp:
        figures = asyncio.run(run(args, Path(tmp)))
    figures["load_average_at_start"] = round(load[0], 2)
    figures["cpu_count"] = os.cpu_count()
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for key, value in figures.items():
            print(f"{key:40} {value}")
        p95 = figures["answer_to_first_audio_ms_p95"]
        enough = figures["concurrent_in_steady_window"] >= 200
        fast = p95 is not None and p95 <= 200
        print(f"target >= 200 concurrent: {'met' if enough else 'NOT met'}; "
              f"answer-to-first-audio p95 <= 200 ms: {'met' if fast else 'NOT met'}; "
              f"machine shared with other work (load average {figures['load_average_at_start']} at start)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
