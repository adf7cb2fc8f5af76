"""PromptRenderer: prompts become 8 kHz telephone audio, rendered once, ahead of the call.

Real espeak-ng and flite, the real cache on tmp_path, the real conversion.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from audio.convert import active_level_dbfs, decode, pcm16_audio
from audio.prompts import PromptRenderer
from audio.tts import TTSError
from audio.tts_config import TTSConfig, VoiceConfig
from dialer.core.media import FRAME_BYTES, split_frames
from dialer.core.telephony import Prompt

REMINDER_NL = Prompt("U heeft een openstaand bedrag van € 45,20, te betalen voor 15-12-2026.", "nl")
REMINDER_EN = Prompt("You owe €45.20, due on 15/12/2026. Press 1 to pay.", "en")


def config(tmp_path: Path, **changes: object) -> TTSConfig:
    return TTSConfig(cache_dir=tmp_path / "cache", **changes)  # type: ignore[arg-type]


@pytest.fixture
async def renderer(tmp_path: Path) -> AsyncIterator[PromptRenderer]:
    for program in ("espeak-ng", "flite"):
        if shutil.which(program) is None:
            pytest.fail(f"{program} is not installed: run `make setup`")
    r = PromptRenderer(config(tmp_path))
    yield r
    r.close()


async def test_text_prompts_become_8khz_pcm_at_the_target_level(renderer: PromptRenderer) -> None:
    for prompt in (REMINDER_NL, REMINDER_EN):
        pcm = await renderer.render(prompt)
        audio = pcm16_audio(pcm)
        assert 3.0 < audio.seconds < 15.0                     # 16-bit mono at 8 kHz: 16000 bytes a second
        assert abs(active_level_dbfs(audio) - -20.0) <= 1.0
        assert all(len(frame) == FRAME_BYTES for frame in split_frames(pcm))


async def test_the_figures_are_spoken_as_words(renderer: PromptRenderer) -> None:
    # Rendering the raw text must equal rendering what normalisation says it means.
    raw = await renderer.render(Prompt("Betaal € 45,20.", "nl"))
    words = await renderer.render(Prompt("Betaal vijfenveertig euro twintig.", "nl"))
    assert raw == words
    assert renderer.stats.cache_hits == 1


async def test_second_render_is_a_cache_hit_and_a_change_is_not(tmp_path: Path,
                                                               renderer: PromptRenderer) -> None:
    first = await renderer.render(REMINDER_NL)
    assert (renderer.stats.syntheses, renderer.stats.cache_hits) == (1, 0)
    assert await renderer.render(REMINDER_NL) == first
    assert (renderer.stats.syntheses, renderer.stats.cache_hits) == (1, 1)
    await renderer.render(Prompt(REMINDER_NL.text.replace("45,20", "45,21"), "nl"))
    assert renderer.stats.syntheses == 2

    slow_voice = {"nl": VoiceConfig("espeak-ng", "nl", rate_wpm=130)}
    other_voice = PromptRenderer(config(tmp_path, voices=slow_voice))
    try:
        slower = await other_voice.render(REMINDER_NL)
        assert other_voice.stats.syntheses == 1              # same text, other voice: rendered anew
        assert len(slower) > len(first)
    finally:
        other_voice.close()


async def test_a_new_renderer_reuses_the_cache_on_disk(tmp_path: Path, renderer: PromptRenderer) -> None:
    pcm = await renderer.render(REMINDER_EN)
    again = PromptRenderer(config(tmp_path))
    try:
        assert await again.render(REMINDER_EN) == pcm
        assert (again.stats.syntheses, again.stats.cache_hits) == (0, 1)
    finally:
        again.close()


async def test_recorded_audio_passes_through_untouched(renderer: PromptRenderer) -> None:
    recorded = bytes(range(256)) * 10
    assert await renderer.render(Prompt("ignored", "nl", audio=recorded)) == recorded
    assert renderer.stats.syntheses == 0
    with pytest.raises(TTSError, match="even number of bytes"):
        await renderer.render(Prompt("", "nl", audio=b"\x00"))


async def test_prerender_warms_the_cache_so_calls_never_wait_on_synthesis(renderer: PromptRenderer) -> None:
    static = [Prompt("Goedemiddag, u spreekt met het incassobureau.", "nl"),
              Prompt("Druk op 1 om te betalen, op 2 voor een regeling.", "nl"),
              Prompt("Press 1 to pay.", "en")]
    debtor = [Prompt("U heeft een openstaand bedrag van € 1.250,00.", "nl")]
    report = await renderer.prerender(static + static[:1])
    assert (report.prompts, report.synthesised, report.already_cached, report.errors) == (4, 3, 0, [])
    report = await renderer.prerender(static + debtor)
    assert (report.synthesised, report.already_cached) == (1, 3)
    syntheses = renderer.stats.syntheses
    for prompt in static + debtor:
        await renderer.render(prompt)
    assert renderer.stats.syntheses == syntheses
    assert renderer.stats.hit_rate == 1.0


async def test_prerender_reports_bad_prompts_without_their_text(renderer: PromptRenderer) -> None:
    prompts = [Prompt("Meneer Jansen", "de"), Prompt("   ", "nl"), Prompt("Hallo", "nl")]
    report = await renderer.prerender(prompts)
    assert report.synthesised == 1
    assert len(report.errors) == 2
    assert "language 'de'" in report.errors[0] and "empty" in report.errors[1]
    assert not any("Jansen" in error for error in report.errors)


async def test_simultaneous_requests_for_one_prompt_share_one_synthesis(renderer: PromptRenderer) -> None:
    results = await asyncio.gather(*(renderer.render(REMINDER_EN) for _ in range(5)))
    assert len(set(results)) == 1
    assert renderer.stats.syntheses == 1
    assert renderer.stats.shared == 4


async def test_the_event_loop_keeps_ticking_while_a_prompt_renders(renderer: PromptRenderer) -> None:
    ticks = 0
    done = False

    async def clock() -> None:
        nonlocal ticks
        while not done:
            ticks += 1
            await asyncio.sleep(0.002)

    ticker = asyncio.create_task(clock())
    long_text = " ".join(["U heeft een openstaand bedrag van € 45,20."] * 12)
    await renderer.render(Prompt(long_text, "nl"))
    done = True
    await ticker
    assert ticks >= 3                                        # the loop ran during the synthesis


async def test_unconfigured_language_is_a_clear_error(renderer: PromptRenderer) -> None:
    with pytest.raises(TTSError, match=r"no TTS voice configured for language 'de' \(configured: en, nl\)"):
        await renderer.render(Prompt("Guten Tag", "de"))
    assert renderer.stats.failures == 1


async def test_engine_errors_reach_the_caller(tmp_path: Path) -> None:
    broken = PromptRenderer(config(tmp_path, voices={"nl": VoiceConfig("espeak-ng", "xx-nope")}))
    try:
        with pytest.raises(TTSError, match="voice does not exist"):
            await broken.render(REMINDER_NL)
        with pytest.raises(TTSError, match="espeak-ng has no voice 'xx-nope'"):
            broken.check()
    finally:
        broken.close()


async def test_a_flow_can_speak_with_its_own_voice(tmp_path: Path) -> None:
    flows = {"reminder": {"en": VoiceConfig("espeak-ng", "en")}}
    base = PromptRenderer(config(tmp_path, flows=flows))
    try:
        flow = base.for_flow("reminder")
        default_en = await base.render(REMINDER_EN)           # flite kal16
        reminder_en = await flow.render(REMINDER_EN)          # espeak-ng en
        assert default_en != reminder_en
        assert await flow.render(REMINDER_NL) == await base.render(REMINDER_NL)   # nl: not overridden
        assert base.stats.syntheses == 3                      # one cache, one set of counters
        # A prompt that says which flow it belongs to (as the IVR interpreter's do) gets that
        # flow's voice from any renderer: the backends keep one renderer for every call.
        tagged = dataclasses.replace(REMINDER_EN, flow="reminder")
        assert await base.render(tagged) == reminder_en
        assert base.stats.syntheses == 3                      # the same render, from the cache
    finally:
        base.close()


async def test_ulaw_and_alaw_for_backends_that_carry_g711(renderer: PromptRenderer) -> None:
    pcm = await renderer.render(REMINDER_EN)
    for fmt in ("ulaw", "alaw"):
        encoded = await renderer.render_encoded(REMINDER_EN, fmt)
        assert len(encoded) == len(pcm) // 2
        back = np.frombuffer(decode(encoded, fmt), "<i2").astype(float)
        original = np.frombuffer(pcm, "<i2").astype(float)
        assert 10 * np.log10(np.sum(original**2) / np.sum((original - back) ** 2)) > 30


async def test_prune_drops_stale_renders(tmp_path: Path) -> None:
    import os
    import time

    r = PromptRenderer(config(tmp_path, cache_max_age_s=3600))
    try:
        await r.render(REMINDER_NL)
        for path in (tmp_path / "cache").rglob("*.audio"):
            os.utime(path, (time.time() - 7200, time.time() - 7200))
        assert await r.prune() == 1
        await r.render(REMINDER_NL)
        assert r.stats.syntheses == 2
    finally:
        r.close()


async def test_a_cache_that_cannot_be_written_costs_speed_not_the_prompt(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    r = PromptRenderer(config(tmp_path))
    try:
        for shard in range(256):                             # a file where every shard directory goes
            (tmp_path / "cache" / f"{shard:02x}").write_text("in the way")
        pcm = await r.render(REMINDER_NL)
        assert len(pcm) > 16000
        assert r.stats.cache_write_errors == 1
        assert "cannot be written" in caplog.text and "45" not in caplog.text
    finally:
        r.close()


async def test_a_damaged_cache_entry_is_rendered_again(tmp_path: Path, renderer: PromptRenderer) -> None:
    pcm = await renderer.render(REMINDER_NL)
    (entry,) = (tmp_path / "cache").rglob("*.audio")
    entry.write_bytes(pcm[:-1])                              # an odd byte count: not 16-bit PCM
    assert await renderer.render(REMINDER_NL) == pcm
    assert renderer.stats.syntheses == 2
