#!/usr/bin/env python3
"""CPU cost of the per-call audio analysis: N concurrent streams of 20 ms frames.

    .venv/bin/python tools/bench_audio.py                 # 20 streams x 10 s of audio
    .venv/bin/python tools/bench_audio.py --streams 50 --seconds 6

Every stream is one answered call: the far end says a short "hello?" (AMD runs
over the first 5 s), then half of the streams answer the question by voice (the
recogniser runs on those) and the other half stay silent on a quiet line. The
frames are interleaved across streams as a media clock would deliver them.
Rows, all measured in this run: DTMF alone (the baseline), DTMF + AMD, DTMF +
VAD, the whole analysis (VAD + DTMF + AMD + ASR on the speaking streams) and
the same through :class:`audio.session.MediaSession` with asyncio. The figure
is process CPU time over audio time per stream, against the aim of 0.5% of a
core per stream (so the SIP benchmark's call capacity is not eaten by analysis).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audio import labelled, tones
from audio.amd import TUNED, AnsweringMachineDetector
from audio.asr import PocketSphinxRecognizer
from audio.convert import decode, encode
from audio.dtmf import DtmfDetector
from audio.session import MediaSession
from audio.vad import VadEvent, VoiceActivityDetector
from dialer.core.media import SILENCE_FRAME, MediaLeg, split_frames
from dialer.core.telephony import Prompt
from dialer.core.virtual_time import run_virtual

AIM_PERCENT = 0.5
GRAMMAR = {"yes": ["yes"], "no": ["no"], "agent": ["agent"], "paid": ["paid"], "plan": ["payment plan"]}
ANSWERS = ["yes", "no", "agent", "paid", "payment plan"]


def line(pcm: bytes) -> bytes:
    return decode(encode(pcm, "ulaw"), "ulaw")


def make_streams(n: int, seconds: float) -> tuple[list[list[bytes]], list[bool]]:
    """n calls: hello, a quiet 2 s, then a spoken answer on even streams, a quiet line to the end."""
    hello = [labelled.espeak(t, voice=v) for v, t in labelled.HUMAN_GREETINGS[:4]]
    answers = [labelled.flite(a, "kal16") for a in ANSWERS]
    streams, speaks = [], []
    for i in range(n):
        floor = tones.noise(seconds * 1000, level_dbm0=-60, seed=i)
        pcm = tones.silence(300) + hello[i % len(hello)] + tones.silence(2000)
        if i % 2 == 0:
            pcm += answers[i % len(answers)]
        pcm = labelled.mix(pcm, floor)[: int(seconds * 8000) * 2]
        streams.append(split_frames(line(pcm)))
        speaks.append(i % 2 == 0)
    return streams, speaks


def measure(streams: list[list[bytes]], make: Callable[[int], Callable[[bytes], None]]) -> float:
    """CPU seconds to push every stream's frames, interleaved, through one analyser chain per stream."""
    chains = [make(i) for i in range(len(streams))]
    frames = max(len(s) for s in streams)
    started = time.process_time()
    for t in range(frames):
        for chain, stream in zip(chains, streams, strict=True):
            if t < len(stream):
                chain(stream[t])
    return time.process_time() - started


def chain_dtmf(_: int) -> Callable[[bytes], None]:
    return DtmfDetector().feed


def chain_dtmf_amd(_: int) -> Callable[[bytes], None]:
    dtmf, amd = DtmfDetector(), AnsweringMachineDetector(TUNED)

    def feed(frame: bytes) -> None:
        dtmf.feed(frame)
        if amd.result is None:
            amd.feed(frame)
    return feed


def chain_dtmf_vad(_: int) -> Callable[[bytes], None]:
    dtmf, vad = DtmfDetector(), VoiceActivityDetector()

    def feed(frame: bytes) -> None:
        dtmf.feed(frame)
        vad.feed(frame)
    return feed


Chain = Callable[[bytes], None]


def chain_full(recognizer: PocketSphinxRecognizer, asked: list[int]) -> Callable[[int], Chain]:
    def make(_: int) -> Callable[[bytes], None]:
        dtmf, amd, vad = DtmfDetector(), AnsweringMachineDetector(TUNED), VoiceActivityDetector()
        utterance: list[bytes] = []
        state = {"amd_done": False, "speaking": False}

        def feed(frame: bytes) -> None:
            dtmf.feed(frame)
            if not state["amd_done"]:
                state["amd_done"] = amd.feed(frame) is not None
                return                              # the question is asked after AMD decided
            for event in vad.feed(frame):
                if event is VadEvent.SPEECH_START:
                    state["speaking"] = True
                elif event is VadEvent.SPEECH_END and state["speaking"]:
                    state["speaking"] = False
                    recognizer.recognize(b"".join(utterance), GRAMMAR, language="en")
                    asked[0] += 1
                    utterance.clear()
            if state["speaking"]:
                utterance.append(frame)
        return feed
    return make


def measure_sessions(streams: list[list[bytes]], recognizer: PocketSphinxRecognizer) -> tuple[float, int]:
    """The same calls through MediaSession: AMD, a short prompt, then listen(grammar) on every leg."""
    heard = [0]

    async def one(stream: list[bytes]) -> None:
        leg = MediaLeg("bench")

        async def far_end() -> None:
            loop = asyncio.get_running_loop()
            start = loop.time()
            for tick, frame in enumerate(stream):
                leg.next_outgoing_frame()
                leg.frame_received(frame)
                await asyncio.sleep(max(0.0, start + (tick + 1) * 0.02 - loop.time()))
            leg.close()

        pacer = asyncio.create_task(far_end())
        async with MediaSession(leg, recognizers={"en": recognizer}) as media:
            await media.detect_machine(TUNED)
            await media.play(Prompt("", audio=SILENCE_FRAME * 10), barge_in=True)
            result = await media.listen(grammar=GRAMMAR, language="en", timeout_s=8)
            heard[0] += result.choice is not None
        await pacer

    async def main() -> None:
        await asyncio.gather(*(one(s) for s in streams))

    started = time.process_time()
    run_virtual(main())
    return time.process_time() - started, heard[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    if not 1 <= args.streams <= 500 or not 6.0 <= args.seconds <= 120.0:
        print("bench_audio: --streams must be 1..500 and --seconds 6..120", file=sys.stderr)
        return 2
    try:
        streams, speaks = make_streams(args.streams, args.seconds)
    except labelled.RenderError as exc:
        print(f"bench_audio: {exc}", file=sys.stderr)
        return 2
    recognizer = PocketSphinxRecognizer()
    audio_s = sum(len(s) for s in streams) * 0.02
    asked = [0]
    rows = [
        ("DTMF alone (baseline)", measure(streams, chain_dtmf)),
        ("DTMF + AMD", measure(streams, chain_dtmf_amd)),
        ("DTMF + VAD", measure(streams, chain_dtmf_vad)),
        ("VAD + DTMF + AMD + ASR", measure(streams, chain_full(recognizer, asked))),
    ]
    session_cpu, heard = measure_sessions(streams, recognizer)
    rows.append(("same via MediaSession", session_cpu))
    baseline = rows[0][1]
    print(f"{args.streams} streams x {args.seconds:.0f} s ({sum(speaks)} answer by voice; "
          f"recogniser asked {asked[0]} times directly, {heard} answers matched via MediaSession)")
    head = f"{'analysis':26s} {'CPU s':>7s} {'% core/stream':>14s} {'vs aim 0.5%':>12s} {'x baseline':>11s}"
    print(head)
    print("-" * len(head))
    for name, cpu in rows:
        per_stream = 100 * cpu / audio_s
        verdict = "ok" if per_stream <= AIM_PERCENT else f"{per_stream / AIM_PERCENT:.1f}x over"
        print(f"{name:26s} {cpu:7.2f} {per_stream:13.3f}% {verdict:>12s} {cpu / baseline:10.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
