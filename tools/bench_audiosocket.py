#!/usr/bin/env python3
"""AudioSocket server benchmark: outgoing frame pacing and CPU per concurrent call, on loopback.

Each simulated Asterisk connects, sends its UUID and 20 ms slin frames (as Asterisk does), and records
when callpact's frames arrive while callpact streams a prompt back. Reported per load level: the
inter-frame gap at the receiver (median, p95, max), frames per second per call, and callpact's CPU
per call-second. The 1-call level of the same run is the baseline the others are compared with.

    .venv/bin/python tools/bench_audiosocket.py                     # 1, 25, 100 calls, 5 s each
    .venv/bin/python tools/bench_audiosocket.py --calls 1,10 --seconds 2
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dialer.core.media import FRAME_BYTES
from sip.asterisk.audiosocket import (
    KIND_AUDIO,
    KIND_UUID,
    AudioSocketServer,
    AudioSocketSession,
    FrameDecoder,
    encode,
)

PROMPT = bytes(range(256)) * (FRAME_BYTES * 500 // 256)      # 10 s of non-silent audio


async def fake_asterisk(port: int, seconds: float, gaps: list[float], counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(encode(KIND_UUID, uuid.uuid4().bytes))
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    decoder = FrameDecoder()

    async def send() -> None:
        frame = encode(KIND_AUDIO, bytes(FRAME_BYTES))
        next_at = loop.time()
        while loop.time() < end:
            writer.write(frame)
            next_at += 0.02
            await asyncio.sleep(max(0.0, next_at - loop.time()))

    sender = asyncio.create_task(send())
    last = None
    frames = 0
    while loop.time() < end:
        try:
            data = await asyncio.wait_for(reader.read(65536), max(0.01, end - loop.time()))
        except TimeoutError:
            break
        if not data:
            break
        now = loop.time()
        for kind, _payload in decoder.feed(data):
            if kind != KIND_AUDIO:
                continue
            frames += 1
            if last is not None:
                gaps.append(now - last)
            last = now
    sender.cancel()
    writer.close()
    counts.append(frames)


async def level(calls: int, seconds: float) -> dict[str, float]:
    def on_session(session: AudioSocketSession) -> None:
        session.leg.send(PROMPT)

    server = AudioSocketServer(on_session, "127.0.0.1", 0)
    await server.start()
    gaps: list[float] = []
    counts: list[int] = []
    cpu0, wall0 = time.process_time(), time.monotonic()
    await asyncio.gather(*(fake_asterisk(server.port, seconds, gaps, counts) for _ in range(calls)))
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    await server.close()
    gaps.sort()
    ms = [g * 1000 for g in gaps] or [0.0]
    return {
        "calls": calls,
        "median_ms": statistics.median(ms),
        "p95_ms": ms[int(len(ms) * 0.95) - 1] if len(ms) > 1 else ms[0],
        "max_ms": ms[-1],
        "fps": statistics.mean(counts) / seconds if counts else 0.0,
        # This process runs both ends; the fake Asterisk's share is about the same as callpact's.
        "cpu_ms_per_call_s": cpu * 1000 / (calls * wall),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", default="1,25,100", help="comma-separated concurrent calls per level")
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args(argv)
    levels = [int(x) for x in args.calls.split(",") if x.strip()]
    print(f"AudioSocket pacing on loopback, {args.seconds:.1f} s per level, {os.cpu_count()} CPUs "
          "(both ends in one process)")
    print(f"{'calls':>6} {'median gap':>11} {'p95 gap':>8} {'max gap':>8} {'frames/s':>9} "
          f"{'CPU ms/call-s':>14} {'vs 1 call':>10}")
    baseline = None
    for calls in levels:
        r = asyncio.run(level(calls, args.seconds))
        baseline = baseline or r
        ratio = r["cpu_ms_per_call_s"] / baseline["cpu_ms_per_call_s"] if baseline["cpu_ms_per_call_s"] else 0
        print(f"{calls:>6} {r['median_ms']:>9.2f}ms {r['p95_ms']:>6.2f}ms {r['max_ms']:>6.1f}ms "
              f"{r['fps']:>9.1f} {r['cpu_ms_per_call_s']:>14.2f} {ratio:>9.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
