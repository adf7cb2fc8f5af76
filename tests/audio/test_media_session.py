"""MediaSession over a MediaLeg driven by a paced far end (20 ms frames in virtual time): prompts
with barge-in by keypad and by voice, answers by keys and by speech (real Silero VAD, real
pocketsphinx), no-input, hangups, AMD on rendered openings and the voicemail beep.

No telephony runs here: the far end is a test task standing in for a backend's media clock. It
takes one outgoing frame and delivers one incoming frame per 20 ms, as pjsua2 and AudioSocket do.
"""

from __future__ import annotations

import asyncio
import audioop
import contextlib
import shutil
from collections.abc import Coroutine
from typing import Any

import pytest

from audio import labelled, tones
from audio.amd import TUNED, AmdVerdict
from audio.asr import PocketSphinxRecognizer, Recognition, Recognizer
from audio.session import MediaSession
from dialer.core.media import FRAME_BYTES, SILENCE_FRAME, MediaLeg, split_frames
from dialer.core.telephony import HeardKind, Prompt
from dialer.core.virtual_time import run_virtual

ANSWERS = {"yes": ["yes"], "no": ["no"], "agent": ["agent"], "paid": ["paid"], "plan": ["payment plan"]}


def line(pcm: bytes) -> bytes:
    return audioop.ulaw2lin(audioop.lin2ulaw(pcm, 2), 2)


class FarEnd:
    """The other side of the leg: speaks ``audio`` from its start, may press keys out of band and
    hang up, and records what it heard of our prompts."""

    def __init__(self, leg: MediaLeg, audio: bytes = b"", *, dtmf_at: dict[float, str] | None = None,
                 hangup_at: float | None = None, seconds: float = 30.0) -> None:
        self.leg = leg
        self.frames = split_frames(audio) if audio else []
        self.dtmf_at = dict(dtmf_at or {})
        self.hangup_at = hangup_at
        self.seconds = seconds
        self.heard: list[bytes] = []

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        for tick in range(int(self.seconds * 50)):
            now = tick * 0.02
            if self.hangup_at is not None and now >= self.hangup_at:
                self.leg.close()
                return
            for at, digit in list(self.dtmf_at.items()):
                if now >= at:
                    self.leg.dtmf_received(digit)
                    del self.dtmf_at[at]
            frame = self.leg.next_outgoing_frame()
            if frame != SILENCE_FRAME:
                self.heard.append(frame)
            self.leg.frame_received(self.frames[tick] if tick < len(self.frames) else SILENCE_FRAME)
            await asyncio.sleep(max(0.0, start + (tick + 1) * 0.02 - loop.time()))
        self.leg.close()


class CountingRecognizer(Recognizer):
    """The real pocketsphinx recogniser, counting how often it is asked."""

    languages = frozenset({"en"})

    def __init__(self, inner: Recognizer) -> None:
        self.inner = inner
        self.calls = 0

    def recognize(self, pcm: bytes, grammar: Any, *, language: str, digits: int = 0) -> Recognition:
        self.calls += 1
        return self.inner.recognize(pcm, grammar, language=language, digits=digits)


@pytest.fixture(scope="module")
def sphinx() -> PocketSphinxRecognizer:
    for tool in ("flite", "espeak-ng", "sox"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed: run `make setup`")
    return PocketSphinxRecognizer()


def call(far: FarEnd, body: Coroutine[Any, Any, Any]) -> Any:
    """Run ``body`` against the far end in virtual time; return its result."""
    async def main() -> Any:
        runner = asyncio.create_task(far.run())
        try:
            return await body
        finally:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
    return run_virtual(main())

PROMPT = tones.sine(440, 3000, -15)          # a 3 s "prompt": easy to count frames of


def test_a_prompt_returns_once_the_far_end_has_taken_its_last_frame() -> None:
    leg = MediaLeg("c1")
    far = FarEnd(leg)

    async def body() -> tuple[Any, float]:
        async with MediaSession(leg) as media:
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            result = await media.play(Prompt("x", audio=PROMPT))
            return result, loop.time() - t0

    result, took = call(far, body())
    assert result.completed and result.barge_in is None
    assert len(far.heard) == len(split_frames(PROMPT)) == 150
    assert 2.98 <= took <= 3.1


def test_a_keypress_in_band_cuts_the_prompt_and_becomes_the_first_digit() -> None:
    leg = MediaLeg("c2")
    far = FarEnd(leg, tones.silence(600) + tones.dtmf("5", 80) + tones.silence(200))

    async def body() -> Any:
        async with MediaSession(leg) as media:
            result = await media.play(Prompt("x", audio=PROMPT), barge_in=True)
            assert leg.queued_ms == 0
            return result

    result = call(far, body())
    assert (result.completed, result.barge_in, result.digits) == (False, "dtmf", "5")
    assert 30 <= len(far.heard) <= 40           # 0.6 s + detection, not the 3 s prompt


def test_an_out_of_band_digit_cuts_the_prompt_and_later_ones_wait_for_the_next_listen() -> None:
    leg = MediaLeg("c3")
    far = FarEnd(leg, dtmf_at={1.0: "7", 1.1: "#"})

    async def body() -> tuple[Any, Any, Any]:
        async with MediaSession(leg) as media:
            first = await media.play(Prompt("x", audio=PROMPT), barge_in=True)
            second = await media.play(Prompt("x", audio=tones.sine(440, 400)))    # no barge-in: plays on
            heard = await media.listen(max_digits=1, terminator=None, timeout_s=1)
            return first, second, heard

    first, second, heard = call(far, body())
    assert (first.barge_in, first.digits) == ("dtmf", "7")
    assert second.completed
    assert heard.digits == "#"


def test_speech_cuts_the_prompt_and_the_next_listen_recognises_it(sphinx: PocketSphinxRecognizer) -> None:
    leg = MediaLeg("c4")
    far = FarEnd(leg, tones.silence(800) + line(labelled.flite("agent", "kal16")) + tones.silence(3000))
    counting = CountingRecognizer(sphinx)

    async def body() -> tuple[Any, Any]:
        async with MediaSession(leg, recognizers={"en": counting}) as media:
            played = await media.play(Prompt("x", audio=PROMPT), barge_in=True)
            heard = await media.listen(grammar=ANSWERS, language="en", timeout_s=5)
            return played, heard

    played, heard = call(far, body())
    assert (played.completed, played.barge_in) == (False, "speech")
    assert len(far.heard) < 75
    assert (heard.kind, heard.choice, heard.text) == (HeardKind.SPEECH, "agent", "agent")
    assert counting.calls == 1


def test_spoken_answers_after_the_prompt(sphinx: PocketSphinxRecognizer) -> None:
    cases = [(voice, phrase, choice) for voice in ("slt", "kal16")
             for phrase, choice in (("payment plan", "plan"), ("yes", "yes"), ("paid", "paid"), ("no", "no"))]
    for voice, phrase, choice in cases:
        leg = MediaLeg("c5")
        far = FarEnd(leg, tones.silence(1500) + line(labelled.flite(phrase, voice)) + tones.silence(3000))

        async def body(leg: MediaLeg = leg) -> Any:
            async with MediaSession(leg, recognizers={"en": sphinx}) as media:
                await media.play(Prompt("x", audio=tones.sine(440, 1000)))
                return await media.listen(grammar=ANSWERS, language="en", timeout_s=5)

        heard = call(far, body())
        assert (heard.kind, heard.choice) == (HeardKind.SPEECH, choice), (phrase, heard)


def test_line_noise_is_no_input_and_never_reaches_the_recogniser(sphinx: PocketSphinxRecognizer) -> None:
    leg = MediaLeg("c6")
    far = FarEnd(leg, line(tones.noise(10_000, level_dbm0=-35, seed=9)))
    counting = CountingRecognizer(sphinx)

    async def body() -> tuple[Any, float]:
        async with MediaSession(leg, recognizers={"en": counting}) as media:
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            heard = await media.listen(grammar=ANSWERS, language="en", timeout_s=4)
            return heard, loop.time() - t0

    heard, took = call(far, body())
    assert heard.kind is HeardKind.NO_INPUT
    assert counting.calls == 0
    assert took == pytest.approx(4.0, abs=0.05)


def test_keys_win_over_speech_and_stop_at_the_terminator(sphinx: PocketSphinxRecognizer) -> None:
    leg = MediaLeg("c7")
    far = FarEnd(leg, tones.silence(500) + tones.dtmf_sequence("123#", on_ms=80, off_ms=80))

    async def body() -> Any:
        async with MediaSession(leg, recognizers={"en": sphinx}) as media:
            return await media.listen(grammar=ANSWERS, language="en", max_digits=6, timeout_s=5)

    heard = call(far, body())
    assert (heard.kind, heard.digits) == (HeardKind.DTMF, "123")


def test_collect_dtmf_returns_what_came_by_the_timeout_and_initial_digits_count() -> None:
    leg = MediaLeg("c8")
    far = FarEnd(leg, tones.silence(300) + tones.dtmf_sequence("42", on_ms=80, off_ms=80))

    async def body() -> tuple[str, Any]:
        async with MediaSession(leg) as media:
            partial = await media.collect_dtmf(max_digits=4, timeout_s=2.0)
            rest = await media.listen(max_digits=2, initial_digits="9", timeout_s=1.0)
            return partial, rest

    partial, rest = call(far, body())
    assert partial == "42"
    assert (rest.kind, rest.digits) == (HeardKind.DTMF, "9")


def test_hangup_ends_play_and_listen() -> None:
    leg = MediaLeg("c9")
    far = FarEnd(leg, hangup_at=1.0)

    async def body() -> tuple[Any, Any]:
        async with MediaSession(leg) as media:
            played = await media.play(Prompt("x", audio=PROMPT), barge_in=True)
            heard = await media.listen(timeout_s=5)
            return played, heard

    played, heard = call(far, body())
    assert not played.completed and played.barge_in is None
    assert heard.kind is HeardKind.HANGUP


def test_prompts_without_audio_are_rendered_by_the_injected_renderer() -> None:
    leg = MediaLeg("c10")
    far = FarEnd(leg)
    asked: list[Prompt] = []

    async def render(prompt: Prompt) -> bytes:
        asked.append(prompt)
        # Rendered on the loop's own thread on purpose: under virtual time a worker thread lets the
        # clock run ahead while it synthesises, and the far end's 30 s would be over before we spoke.
        return labelled.espeak(prompt.text, "nl")

    async def body() -> Any:
        async with MediaSession(leg, render=render) as media:
            return await media.play(Prompt("U heeft een openstaande factuur.", language="nl"))

    result = call(far, body())
    assert result.completed and [p.text for p in asked] == ["U heeft een openstaande factuur."]
    assert len(far.heard) > 50 and all(len(f) == FRAME_BYTES for f in far.heard)


@pytest.fixture(scope="module")
def openings() -> dict[str, labelled.Opening]:
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is not installed: run `make setup`")
    return {o.name: o for o in labelled.amd_openings()}


def test_amd_and_beep_on_a_voicemail(openings: dict[str, labelled.Opening]) -> None:
    opening = openings["machine-00-en-beep"]
    leg = MediaLeg("c11")
    far = FarEnd(leg, line(opening.pcm))

    async def body() -> tuple[Any, bool, float]:
        async with MediaSession(leg) as media:
            amd = await media.detect_machine(TUNED)
            beep = await media.wait_for_beep(timeout_s=15)
            return amd, beep, asyncio.get_running_loop().time()

    amd, beep, at = call(far, body())
    assert amd.verdict is AmdVerdict.MACHINE and amd.cause.startswith("LONGGREETING")
    assert beep and opening.beep_at_s is not None
    assert opening.beep_at_s < at <= opening.beep_at_s + 0.3


def test_amd_on_a_person_and_no_beep_from_them(openings: dict[str, labelled.Opening]) -> None:
    leg = MediaLeg("c12")
    far = FarEnd(leg, line(openings["human-00-en"].pcm))

    async def body() -> tuple[Any, bool]:
        async with MediaSession(leg) as media:
            return await media.detect_machine(TUNED), await media.wait_for_beep(timeout_s=2)

    amd, beep = call(far, body())
    assert amd.verdict is AmdVerdict.HUMAN and not beep


def test_amd_gives_notsure_when_the_far_end_hangs_up() -> None:
    leg = MediaLeg("c13")
    far = FarEnd(leg, tones.silence(1000), hangup_at=0.6)

    async def body() -> Any:
        async with MediaSession(leg) as media:
            return await media.detect_machine()

    amd = call(far, body())
    assert amd.verdict is AmdVerdict.NOTSURE and amd.cause.startswith("HANGUP-")


def test_a_language_without_a_recogniser_listens_for_keys_only(sphinx: PocketSphinxRecognizer,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    leg = MediaLeg("c14")
    far = FarEnd(leg, tones.silence(300) + line(labelled.espeak("medewerker", "nl")) + tones.silence(800)
                 + tones.dtmf("0", 80) + tones.silence(500))

    async def body() -> Any:
        async with MediaSession(leg, recognizers={"en": sphinx}) as media:
            return await media.listen(grammar={"agent": ["medewerker"]}, language="nl", timeout_s=5)

    with caplog.at_level("WARNING", logger="audio.session"):
        heard = call(far, body())
    assert (heard.kind, heard.digits) == (HeardKind.DTMF, "0")
    assert "no recogniser for 'nl'" in caplog.text


def test_an_analyser_failure_ends_the_media_instead_of_hanging(caplog: pytest.LogCaptureFixture) -> None:
    leg = MediaLeg("c15")
    far = FarEnd(leg)

    class Broken:
        def feed(self, frame: bytes) -> list[str]:
            raise RuntimeError("boom")

    async def body() -> Any:
        media = MediaSession(leg)
        media._dtmf = Broken()           # type: ignore[assignment]  # stand-in for a buggy analyser
        async with media:
            return await media.listen(timeout_s=30)

    with caplog.at_level("ERROR", logger="audio.session"):
        heard = call(far, body())
    assert heard.kind is HeardKind.HANGUP
    assert "media analysis failed" in caplog.text


@pytest.mark.slow
def test_prompts_rendered_by_the_tts_prompt_renderer_in_real_time(sphinx: PocketSphinxRecognizer,
                                                                  tmp_path: Any) -> None:
    """The tts helper's PromptRenderer.render plugged in as the session's renderer, on the real
    clock (a render runs in a worker thread, which virtual time would skip over)."""
    from audio.prompts import PromptRenderer
    from audio.tts_config import TTSConfig

    renderer = PromptRenderer(TTSConfig(cache_dir=tmp_path / "tts"))
    leg = MediaLeg("c16")
    far = FarEnd(leg, tones.silence(1200) + line(labelled.flite("agent", "slt")) + tones.silence(2000),
                 seconds=8)

    async def main() -> tuple[Any, Any]:
        runner = asyncio.create_task(far.run())
        try:
            async with MediaSession(leg, render=renderer.render, recognizers={"en": sphinx}) as media:
                prompt = Prompt("You owe forty five euros. Say agent to speak to one of our team.", "en")
                played = await media.play(prompt, barge_in=True)
                heard = await media.listen(grammar=ANSWERS, language="en", timeout_s=4)
                return played, heard
        finally:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
            renderer.close()

    played, heard = asyncio.run(main())
    assert (played.completed, played.barge_in) == (False, "speech")
    assert 40 <= len(far.heard) <= 100          # about 1.2 s of the prompt went out, not all of it
    assert (heard.kind, heard.choice) == (HeardKind.SPEECH, "agent")


def test_thread_work_under_virtual_time_is_not_overtaken_by_timers() -> None:
    """The media session recognises speech in a worker thread; under a virtual clock a
    5 s listen timeout must not fire while a 0.3 s (real) recognition is still running."""
    import time as real_time

    async def main() -> tuple[str, float]:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        timer = asyncio.create_task(asyncio.sleep(5.0))
        result = await asyncio.to_thread(lambda: (real_time.sleep(0.3), "recognised")[1])
        first = "thread" if not timer.done() else "timer"
        timer.cancel()
        return first + ":" + result, loop.time() - t0

    outcome, took = run_virtual(main())
    assert outcome == "thread:recognised"
    assert 0.25 <= took < 1.0          # the clock followed the real work, it did not jump to the timer
