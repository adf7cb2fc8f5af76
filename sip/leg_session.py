"""Minimal audio handling over a :class:`~sip.media.MediaLeg`, until ``audio/`` ships the real one.

The ``dsp`` work (``audio/session.py``: barge-in on speech, in-band DTMF,
machine detection, beep detection) replaces this; the pjsua2 backend prefers
it when it can be imported. What is here is what a real call needs to be
testable end to end: play rendered PCM with barge-in on keypad digits, collect
keypad digits, and tell a machine from a person by the length of the greeting
(a person says "hello?" and waits; an answering machine talks on).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import numpy as np

from sip.media import FRAME_MS, MediaLeg
from sip.sip_config import AmdConfig
from sip.telephony import AnsweredBy, PlayResult

#: Frame RMS above this is treated as speech (about -40 dBFS; line noise sits far lower).
SPEECH_RMS = 320.0


def frame_rms(frame: bytes) -> float:
    samples = np.frombuffer(frame, dtype="<i2").astype(np.float32)
    if not len(samples):
        return 0.0
    return float(np.sqrt(np.dot(samples, samples) / len(samples)))


@dataclass
class GreetingClassifier:
    """Greeting-length machine detection, fed one 20 ms frame at a time (pure logic).

    Returns a verdict as soon as one is possible: MACHINE when speech runs on
    longer than ``max_greeting_s`` (short pauses between words do not end it),
    HUMAN when a short greeting is followed by ``after_greeting_silence_s`` of
    silence, and HUMAN when nothing is decided within ``decide_within_s``
    (a person must never be treated as a machine by default).
    """

    cfg: AmdConfig
    elapsed_ms: int = 0
    speech_ms: int = 0               # length of the greeting so far (from its first word)
    silence_ms: int = 0              # silence since the last speech frame
    started: bool = False

    def feed(self, rms: float) -> AnsweredBy | None:
        self.elapsed_ms += FRAME_MS
        if rms >= SPEECH_RMS:
            self.started = True
            self.speech_ms += FRAME_MS + self.silence_ms   # pauses inside a greeting count towards it
            self.silence_ms = 0
        elif self.started:
            self.silence_ms += FRAME_MS
        if self.speech_ms >= self.cfg.max_greeting_s * 1000:
            return AnsweredBy.MACHINE
        if self.started and self.silence_ms >= self.cfg.after_greeting_silence_s * 1000:
            return AnsweredBy.HUMAN
        if self.elapsed_ms >= self.cfg.decide_within_s * 1000:
            return AnsweredBy.HUMAN
        return None


class LegSession:
    """Keypad digits and incoming frames of one leg, shared by play, collect and detection."""

    def __init__(self, leg: MediaLeg) -> None:
        self.leg = leg
        self._digits: list[str] = []
        self._digit_arrived = asyncio.Event()
        self._frame_watchers: list[asyncio.Queue[bytes | None]] = []
        self._tasks = [asyncio.create_task(self._pump_dtmf(), name=f"dtmf-{leg.call_id}"),
                       asyncio.create_task(self._pump_frames(), name=f"frames-{leg.call_id}")]

    async def _pump_dtmf(self) -> None:
        while (digit := await self.leg.read_dtmf()) is not None:
            self._digits.append(digit)
            self._digit_arrived.set()
        self._digit_arrived.set()

    async def _pump_frames(self) -> None:
        while (frame := await self.leg.read_frame()) is not None:
            for watcher in self._frame_watchers:
                watcher.put_nowait(frame)
        for watcher in self._frame_watchers:
            watcher.put_nowait(None)

    def close(self) -> None:
        for task in self._tasks:
            task.cancel()

    def _take_digits(self, limit: int | None = None) -> str:
        taken = self._digits[:limit] if limit is not None else list(self._digits)
        del self._digits[:len(taken)]
        if not self._digits:
            self._digit_arrived.clear()
        return "".join(taken)

    async def play(self, pcm: bytes, *, barge_in: bool) -> PlayResult:
        """Queue the audio and return once the backend has sent it all (or a digit cut it short)."""
        leg = self.leg
        if barge_in and self._digits:
            return PlayResult(completed=False, barge_in="dtmf", digits=self._take_digits())
        leg.send(pcm)
        while leg.queued_ms > 0 and not leg.closed:
            if barge_in and self._digits:
                leg.flush()
                return PlayResult(completed=False, barge_in="dtmf", digits=self._take_digits())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._digit_arrived.wait(), FRAME_MS / 1000 * 2)
        if leg.closed:
            return PlayResult(completed=False)
        await asyncio.sleep(FRAME_MS / 1000)     # the last frame is on the wire one tick later
        return PlayResult(completed=True)

    async def collect_dtmf(self, *, max_digits: int, timeout_s: float, terminator: str | None) -> str:
        got = ""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            while self._digits:
                digit = self._take_digits(1)
                if terminator is not None and digit == terminator:
                    return got
                got += digit
                if len(got) >= max_digits:
                    return got
            if self.leg.closed:
                return got
            remaining = deadline - loop.time()
            if remaining <= 0:
                return got
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._digit_arrived.wait(), remaining)

    def watch_frames(self) -> asyncio.Queue[bytes | None]:
        """Every incoming frame from now on (None at the end); stop with :meth:`unwatch`."""
        watcher: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._frame_watchers.append(watcher)
        return watcher

    def unwatch(self, watcher: asyncio.Queue[bytes | None]) -> None:
        with contextlib.suppress(ValueError):
            self._frame_watchers.remove(watcher)

    async def detect_machine(self, cfg: AmdConfig) -> AnsweredBy:
        watcher = self.watch_frames()
        classifier = GreetingClassifier(cfg)
        try:
            async with asyncio.timeout(cfg.decide_within_s + 2.0):
                while (frame := await watcher.get()) is not None:
                    verdict = classifier.feed(frame_rms(frame))
                    if verdict is not None:
                        return verdict
        except TimeoutError:
            pass
        finally:
            self.unwatch(watcher)
        return AnsweredBy.HUMAN
