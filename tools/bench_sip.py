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

from helpers.rtp_pcap import RtpStream, pcap_bytes  # noqa: E402
from helpers.sip_peers import scenario, start_sipp  # noqa: E402

from audio.amd import AmdVerdict  # noqa: E402
from audio.tones import dtmf as dtmf_tone  # noqa: E402
from dialer.core.telephony import CallEventKind, OriginateRequest, Prompt  # noqa: E402
from sip.pjsua2.backend import Pjsua2Telephony, amd_params, pjsua2_available  # noqa: E402
from sip.pjsua2.settings import AmdConfig, CallerIdConfig, SipConfig, TrunkConfig  # noqa: E402

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


def far_end_audio(hold_s: float) -> RtpStream:
    # A person: "hallo?", a key pressed as audible tones (in-band), then one sent as RFC 4733.
    return (RtpStream().silence(0.3).audio(speech("Hallo?")).silence(1.0).audio(dtmf_tone("4", 100))
            .silence(0.5).digit("5").silence(max(1.0, hold_s - 4)))


async def drive(trunk_port: int, calls: int, first: int, args: argparse.Namespace) -> dict[str, Any]:
    """One callpact process: ``calls`` calls into the trunk, with its CPU against its own idle baseline."""
    prompt = speech("Dit is een betalingsherinnering. Toets een om nu te betalen, "
                    "of twee voor een medewerker.")
    amd = AmdConfig(enabled=True)
    rtp_count = 4 * calls + 100
    cps = args.cps / args.processes
    cfg = SipConfig(trunk=TrunkConfig(host="127.0.0.1", port=trunk_port),
                    caller_id=CallerIdConfig(number=CALLER), bind_address="127.0.0.1", sip_port=0,
                    rtp_port_start=random.randrange(20000, 60000 - rtp_count, 2), rtp_port_count=rtp_count,
                    max_calls=min(512, calls + 8), calls_per_second=cps,
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
        tasks = [asyncio.create_task(one_call(telephony, first + i, prompt, args.hold, amd))
                 for i in range(calls)]
        ramp_s = calls / cps
        # Steady state: every call set up (ramp + 1 s) until the first ones are about to end.
        await asyncio.sleep(ramp_s + 1.0)
        steady_cpu0, steady_t0 = cpu_seconds(), time.monotonic()
        concurrent = telephony.active_calls
        await asyncio.sleep(max(2.0, args.hold - ramp_s - 2.0))
        steady_s = time.monotonic() - steady_t0
        steady_rate = (cpu_seconds() - steady_cpu0) / steady_s
        concurrent = min(concurrent, telephony.active_calls) if telephony.active_calls else concurrent
        results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True),
                                         timeout=max(10.0, args.timeout - (time.monotonic() - started)))
    finally:
        await telephony.close()
    good = [r for r in results if isinstance(r, CallResult)]
    return {
        "idle_rate": idle_rate, "steady_rate": steady_rate, "steady_s": steady_s, "concurrent": concurrent,
        "errors": [repr(r) for r in results if not isinstance(r, CallResult)][:5],
        "calls": [{"answered": r.answered, "first_audio_ms": r.first_audio_ms,
                   "verdict": r.verdict.value if r.verdict else None, "digits": r.digits,
                   "frames_received": r.frames_received, "frames_dropped": r.frames_dropped,
                   "late_ticks": r.late_ticks, "media": r.media} for r in good],
    }


async def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    far_end = far_end_audio(args.hold)
    assert far_end.packets is not None
    (workdir / "far_end.pcap").write_bytes(pcap_bytes(far_end.packets))
    path = scenario("uas_answer_audio.xml", workdir, caller=re.escape(CALLER), attempt="bench-[0-9]+",
                    pcap=str(workdir / "far_end.pcap"))
    sipp = start_sipp(path, workdir, calls=args.calls, timeout_s=int(args.timeout))
    shares = [args.calls // args.processes + (k < args.calls % args.processes) for k in range(args.processes)]
    firsts = [sum(shares[:k]) for k in range(args.processes)]
    sipp_cpu0, sipp_t0 = process_cpu_seconds(sipp.process.pid), time.monotonic()
    try:
        if args.processes == 1:
            parts = [await drive(sipp.port, args.calls, 0, args)]
        else:
            # One callpact process per core, each with its own pjsua, all into the same trunk.
            children = [await asyncio.create_subprocess_exec(
                sys.executable, __file__, "--child-of-trunk", str(sipp.port), "--calls", str(n),
                "--first", str(first), "--hold", str(args.hold), "--cps", str(args.cps),
                "--processes", str(args.processes), "--inband", args.inband, "--timeout", str(args.timeout),
                stdout=asyncio.subprocess.PIPE) for n, first in zip(shares, firsts, strict=True)]
            outputs = await asyncio.gather(*(child.communicate() for child in children))
            parts = [json.loads(out.decode().strip().splitlines()[-1]) for out, _ in outputs]
        sipp_rate = (process_cpu_seconds(sipp.process.pid) - sipp_cpu0) / (time.monotonic() - sipp_t0)
    finally:
        sipp_rc = await asyncio.to_thread(sipp.wait, 30)
    return summarise(args, parts, len(far_end.packets), sipp_rate, sipp_rc)


def summarise(args: argparse.Namespace, parts: list[dict[str, Any]], sent_per_call: int, sipp_rate: float,
              sipp_rc: int) -> dict[str, Any]:
    calls = [c for part in parts for c in part["calls"]]
    first_audio = [c["first_audio_ms"] for c in calls if c["first_audio_ms"] is not None]
    concurrent = sum(part["concurrent"] for part in parts)
    steady = sum(part["steady_rate"] for part in parts)
    idle = sum(part["idle_rate"] for part in parts)

    def media(key: str) -> int:
        return sum(c["media"].get(key, 0) for c in calls)

    return {
        "calls": args.calls, "processes": args.processes, "hold_s": args.hold, "cps": args.cps,
        "inband_dtmf": args.inband,
        "concurrent_in_steady_window": concurrent,
        "answered": sum(c["answered"] for c in calls),
        "errors": [e for part in parts for e in part["errors"]][:5],
        "cpu_idle_baseline_pct_of_core": round(idle * 100, 1),
        "cpu_steady_pct_of_core": round(steady * 100, 1),
        "cpu_steady_pct_of_core_per_process": [round(part["steady_rate"] * 100, 1) for part in parts],
        "cpu_per_call_pct_of_core": round((steady - idle) / max(1, concurrent) * 100, 3),
        "sipp_cpu_pct_of_core_whole_run": round(sipp_rate * 100, 1),
        "answer_to_first_audio_ms_p50": round(statistics.median(first_audio), 1) if first_audio else None,
        "answer_to_first_audio_ms_p95": round(percentile(first_audio, 0.95), 1) if first_audio else None,
        "answer_to_first_audio_ms_max": round(max(first_audio), 1) if first_audio else None,
        "far_end_rtp_packets_sent_per_call": sent_per_call,
        "far_end_rtp_packets_received_min": min((c["media"].get("rx_packets", 0) for c in calls), default=0),
        "frames_to_analysis_expected_per_call": int(args.hold * 50),
        "frames_to_analysis_min": min((c["frames_received"] for c in calls), default=0),
        "frames_dropped_by_slow_consumer": sum(c["frames_dropped"] for c in calls),
        "late_bridge_ticks_over_40ms": sum(c["late_ticks"] for c in calls),
        "rtp_lost": media("rx_lost"),
        "jitter_buffer_lost": media("jitter_buffer_lost"),
        "jitter_buffer_discarded": media("jitter_buffer_discarded"),
        "amd_verdicts": {v.value: sum(c["verdict"] == v.value for c in calls) for v in AmdVerdict},
        "calls_with_both_digits_received": sum(c["digits"] == "45" for c in calls),
        "calls_with_rfc4733_digit_received": sum("5" in c["digits"] for c in calls),
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
    parser.add_argument("--processes", type=int, default=1,
                        help="callpact processes sharing the calls (one per core sidesteps the GIL)")
    parser.add_argument("--child-of-trunk", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--first", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.child_of_trunk is not None:
        print(json.dumps(asyncio.run(drive(args.child_of_trunk, args.calls, args.first, args))))
        return 0
    if not pjsua2_available():
        print("bench_sip: pjsua2 is not installed (tools/build_pjsua2.sh .venv/bin/python)", file=sys.stderr)
        return 2
    if not 1 <= args.calls <= 500 or not 1 <= args.processes <= 8:
        print("bench_sip: --calls must be 1..500 and --processes 1..8", file=sys.stderr)
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
