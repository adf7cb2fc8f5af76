"""The media path of one answered call, shared by every real backend.

A backend (pjsua2 SIP, Asterisk AudioSocket) turns an answered call into a
:class:`dialer.core.media.MediaLeg` and hands it to a :class:`MediaSession`, which
provides what :class:`dialer.core.telephony.Call` needs on top of raw frames: prompts
with barge-in, answers by keypad or voice, answering-machine detection and the
voicemail beep. A backend's ``Call.play`` is then ``await self.media.play(...)``
and so on, and both backends behave the same in every IVR flow.

One reader task per leg takes every incoming frame once and fans it out to the
analysers active at that moment (in-band DTMF always, when enabled; AMD, beep,
voice activity and the utterance recorder only while something waits for
them), so an idle call costs a DTMF detector and nothing else. A second task
forwards out-of-band digits (RFC 4733, SIP INFO). A backend that receives
RFC 4733 should pass ``inband_dtmf=False``: otherwise a press carried both ways
(telephone-event plus audible tones) would count twice.

Speech recognition runs in a worker thread and is only asked once voice
activity saw speech, about an utterance that starts a little before the
detected start (``PREROLL_MS``) so the first phoneme is not cut.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from audio.amd import APP_AMD_DEFAULTS, AmdParams, AmdResult, AnsweringMachineDetector
from audio.asr import Recognizer
from audio.beep import BeepDetector, BeepParams
from audio.dtmf import DtmfDetector, DtmfParams
from audio.vad import VadEvent, VadParams, VoiceActivityDetector
from dialer.core.media import FRAME_MS, MediaLeg
from dialer.core.telephony import Grammar, Heard, HeardKind, PlayResult, Prompt

log = logging.getLogger(__name__)

Render = Callable[[Prompt], Awaitable[bytes]]
FrameSink = Callable[[bytes], None]

PREROLL_MS = 300
RECENT_FRAMES = 1000 // FRAME_MS            # one second of history for pre-roll and AMD catch-up
POLL_S = FRAME_MS / 1000


@dataclass(frozen=True)
class SessionParams:
    vad: VadParams = field(default_factory=VadParams)
    dtmf: DtmfParams = field(default_factory=DtmfParams)
    beep: BeepParams = field(default_factory=BeepParams)
    inband_dtmf: bool = True
    max_utterance_s: float = 8.0             # an answer longer than this is cut and recognised
    amd_stall_s: float = 2.0                 # AMD gives up this long after frames stop coming


class MediaSession:
    """Prompts, answers, AMD and beep over one :class:`MediaLeg`. Start it, then use it, then close it."""

    def __init__(self, leg: MediaLeg, render: Render | None = None,
                 recognizers: Mapping[str, Recognizer] | None = None,
                 params: SessionParams | None = None,
                 vad_factory: Callable[[VadParams], VoiceActivityDetector] = VoiceActivityDetector) -> None:
        self.leg = leg
        self.params = params or SessionParams()
        self._render = render
        self._recognizers = dict(recognizers or {})
        self._vad_factory = vad_factory
        self._vad: VoiceActivityDetector | None = None
        self._dtmf = DtmfDetector(self.params.dtmf) if self.params.inband_dtmf else None
        self._digits: collections.deque[str] = collections.deque()
        self._digit_event = asyncio.Event()
        self._sinks: list[FrameSink] = []
        self._recent: collections.deque[bytes] = collections.deque(maxlen=RECENT_FRAMES)
        self._speech: asyncio.Event = asyncio.Event()          # VAD saw speech start
        self._speech_done: asyncio.Event = asyncio.Event()     # VAD saw the end of that speech
        self._utterance: list[bytes] | None = None
        self._ended = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.frames_analysed = 0
        self._max_utterance_frames = round(self.params.max_utterance_s * 1000 / FRAME_MS)

    # -- life cycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._read_frames(), name=f"media-in {self.leg.call_id}"),
                           asyncio.create_task(self._read_dtmf(), name=f"media-dtmf {self.leg.call_id}")]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        self._ended.set()

    @property
    def ended(self) -> bool:
        return self._ended.is_set()

    async def __aenter__(self) -> MediaSession:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- the reader: one pass over every frame ------------------------------------------------
    async def _read_frames(self) -> None:
        try:
            while True:
                frame = await self.leg.read_frame()
                if frame is None:
                    break
                self.frames_analysed += 1
                self._recent.append(frame)
                if self._dtmf is not None:
                    for key in self._dtmf.feed(frame):
                        self._add_digit(key)
                if self._utterance is not None and len(self._utterance) < self._max_utterance_frames:
                    self._utterance.append(frame)
                if self._vad is not None:
                    self._feed_vad(frame)
                for sink in list(self._sinks):
                    sink(frame)
        except Exception:
            # an analyser bug must not leave the call's waiters hanging: they see the end of media
            log.exception("call %s: media analysis failed; treating the media as ended", self.leg.call_id)
        finally:
            self._ended.set()

    async def _read_dtmf(self) -> None:
        while True:
            digit = await self.leg.read_dtmf()
            if digit is None:
                return
            self._add_digit(digit)

    def _add_digit(self, key: str) -> None:
        self._digits.append(key)
        self._digit_event.set()

    def _feed_vad(self, frame: bytes) -> None:
        assert self._vad is not None
        for event in self._vad.feed(frame):
            if event is VadEvent.SPEECH_START and not self._speech.is_set():
                since_start_ms = self._vad.stream_ms - (self._vad.speech_started_ms or 0.0)
                frames = round(since_start_ms + PREROLL_MS) // FRAME_MS
                self._utterance = list(self._recent)[-frames:]
                self._speech.set()
            elif event is VadEvent.SPEECH_END and self._speech.is_set():
                self._speech_done.set()

    def _listen_for_speech(self) -> None:
        """Turn voice activity on (keeping an utterance that barge-in already started)."""
        if self._vad is None:
            self._vad = self._vad_factory(self.params.vad)
            self._speech.clear()
            self._speech_done.clear()
            self._utterance = None

    def _stop_speech(self) -> list[bytes]:
        utterance = self._utterance or []
        self._vad = None
        self._utterance = None
        self._speech.clear()
        self._speech_done.clear()
        return utterance

    # -- waiting helpers ------------------------------------------------------------------------
    async def _first(self, waits: dict[str, Awaitable[object]], timeout: float | None) -> str | None:
        """Name of the first wait to finish (or None on timeout); the others are cancelled."""
        tasks = {asyncio.ensure_future(w): name for name, w in waits.items()}
        try:
            done, _ = await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                if not task.done():
                    task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if not done:
            return None
        # prefer a digit over a hangup that arrived in the same instant
        names = {tasks[t] for t in done}
        for name in waits:
            if name in names:
                return name
        return None

    def _take_digits(self) -> str:
        out = "".join(self._digits)
        self._digits.clear()
        return out

    async def _digit_arrives(self) -> None:
        """Wait until a digit is queued (without taking it: cancelling this loses nothing)."""
        while not self._digits:
            self._digit_event.clear()
            await self._digit_event.wait()

    # -- Call.play ------------------------------------------------------------------------------
    async def play(self, prompt: Prompt, *, barge_in: bool = False) -> PlayResult:
        """Send the prompt; return once the backend has taken its last frame, or at barge-in/hangup."""
        if self.ended:
            return PlayResult(completed=False)
        self._stop_speech()          # speech that cut an earlier prompt is no answer to this one
        if barge_in and self._digits:
            return PlayResult(completed=False, barge_in="dtmf", digits=self._take_digits())
        if prompt.audio is not None:
            pcm = prompt.audio
        elif self._render is not None:
            pcm = await self._render(prompt)
        else:
            raise RuntimeError("MediaSession.play: prompt has no audio and the session has no renderer")
        if barge_in:
            self._listen_for_speech()
        self.leg.send(pcm)
        waits: dict[str, Awaitable[object]] = {}
        if barge_in:
            waits = {"dtmf": self._digit_arrives(), "speech": self._speech.wait()}
        waits |= {"heard": self._until_sent(), "ended": self._ended.wait()}
        try:
            first = await self._first(waits, timeout=None)
            if first == "heard" and not self.leg.closed:       # close() empties the queue too
                return PlayResult(completed=True)
            if first in ("heard", "ended"):
                return PlayResult(completed=False)
            self.leg.flush()
            if first == "dtmf":
                return PlayResult(completed=False, barge_in="dtmf", digits=self._take_digits())
            return PlayResult(completed=False, barge_in="speech")       # the next listen() gets the utterance
        finally:
            if barge_in and not self._speech.is_set():
                self._stop_speech()

    async def _until_sent(self) -> None:
        while self.leg.queued_ms > 0 and not self.leg.closed:
            await asyncio.sleep(POLL_S)

    # -- Call.collect_dtmf -----------------------------------------------------------------------
    async def collect_dtmf(self, *, max_digits: int = 1, timeout_s: float = 5.0,
                           terminator: str | None = "#") -> str:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        digits = ""
        while len(digits) < max_digits:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            if not self._digits:
                if self.ended:
                    break
                waits = {"digit": self._digit_arrives(), "ended": self._ended.wait()}
                got = await self._first(waits, remaining)
                if got != "digit":
                    break
                continue
            key = self._digits.popleft()
            if terminator and key == terminator:
                break
            digits += key
        return digits

    # -- Call.listen ----------------------------------------------------------------------------
    async def listen(self, *, grammar: Grammar | None = None, language: str = "nl", max_digits: int = 1,
                     timeout_s: float = 5.0, terminator: str | None = "#", initial_digits: str = "") -> Heard:
        """An answer by keypad, or by voice when ``grammar`` is given and a recogniser speaks ``language``.

        No-input is ``timeout_s`` without a key press or the start of speech; a
        key press wins over speech; speech is recognised once voice activity
        says it ended (or after ``max_utterance_s``). With ``max_digits`` > 1
        spoken digits are accepted too (``Heard.digits``, kind SPEECH).
        """
        recognizer = self._recognizers.get(language) if grammar else None
        if grammar and recognizer is None:
            log.warning("call %s: no recogniser for %r, listening for keys only", self.leg.call_id, language)
        if initial_digits or recognizer is None or self._digits:
            if recognizer is not None:
                self._stop_speech()
            digits = initial_digits
            if len(digits) < max_digits:
                digits += await self.collect_dtmf(max_digits=max_digits - len(digits), timeout_s=timeout_s,
                                                  terminator=terminator)
            if digits:
                return Heard(HeardKind.DTMF, digits=digits)
            return Heard(HeardKind.HANGUP if self.ended else HeardKind.NO_INPUT)

        self._listen_for_speech()
        try:
            if not self._speech.is_set():
                first = await self._first({"dtmf": self._digit_arrives(), "speech": self._speech.wait(),
                                           "ended": self._ended.wait()}, timeout_s)
                if first is None:
                    return Heard(HeardKind.NO_INPUT)
                if first == "ended":
                    return Heard(HeardKind.HANGUP)
                if first == "dtmf":
                    return await self._keys_after_all(max_digits, timeout_s, terminator)
            first = await self._first({"dtmf": self._digit_arrives(), "done": self._speech_done.wait(),
                                       "ended": self._ended.wait()}, self.params.max_utterance_s)
            if first == "ended":
                return Heard(HeardKind.HANGUP)
            if first == "dtmf":
                return await self._keys_after_all(max_digits, timeout_s, terminator)
            utterance = b"".join(self._stop_speech())
        finally:
            self._stop_speech()
        assert grammar is not None and recognizer is not None
        # spoken digits only where a number is asked for: in a one-key menu "eight" would compete
        # with "paid" and the menu's own words are what people say
        spoken_digits = max_digits if max_digits > 1 else 0
        result = await asyncio.to_thread(recognizer.recognize, utterance, grammar, language=language,
                                         digits=spoken_digits)
        # spoken digits can be account or phone numbers: log how many, never which
        heard = result.choice or (f"{len(result.digits)} digits" if result.digits else "no-match")
        log.info("call %s: speech answer %s (confidence %.2f)", self.leg.call_id, heard, result.confidence)
        if result.choice is not None or result.digits:
            return Heard(HeardKind.SPEECH, digits=result.digits, choice=result.choice, text=result.text,
                         confidence=result.confidence)
        return Heard(HeardKind.NO_MATCH, text=result.text, confidence=result.confidence)

    async def _keys_after_all(self, max_digits: int, timeout_s: float, terminator: str | None) -> Heard:
        self._stop_speech()
        digits = await self.collect_dtmf(max_digits=max_digits, timeout_s=timeout_s, terminator=terminator)
        return Heard(HeardKind.DTMF, digits=digits) if digits else Heard(HeardKind.NO_INPUT)

    # -- AMD and beep --------------------------------------------------------------------------
    async def detect_machine(self, params: AmdParams | None = None, *, from_answer: bool = True) -> AmdResult:
        """Run AMD on the far end's audio; with ``from_answer`` include what arrived since the answer
        (up to a second) before this was called."""
        detector = AnsweringMachineDetector(params or APP_AMD_DEFAULTS)
        decided: asyncio.Future[AmdResult] = asyncio.get_running_loop().create_future()

        def sink(frame: bytes) -> None:
            result = detector.feed(frame)
            if result is not None and not decided.done():
                decided.set_result(result)

        if from_answer:
            for frame in list(self._recent):
                sink(frame)
        if decided.done():
            return decided.result()
        self._sinks.append(sink)
        limit = detector.params.total_analysis_ms / 1000 + self.params.amd_stall_s
        try:
            first = await self._first({"decided": decided, "ended": self._ended.wait()}, limit)
        finally:
            self._sinks.remove(sink)
        if first == "decided":
            return decided.result()
        return detector.give_up("HANGUP" if first == "ended" else "NOFRAMES")

    async def wait_for_beep(self, timeout_s: float = 10.0) -> bool:
        detector = BeepDetector(self.params.beep)
        found: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

        def sink(frame: bytes) -> None:
            if detector.feed(frame) and not found.done():
                found.set_result(True)

        self._sinks.append(sink)
        try:
            first = await self._first({"beep": found, "ended": self._ended.wait()}, timeout_s)
        finally:
            self._sinks.remove(sink)
        return first == "beep"
