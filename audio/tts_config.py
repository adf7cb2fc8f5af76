"""The ``tts:`` configuration section: which engine and voice speaks each language (and flow), cache, limits.

Read with :mod:`dialer.core.yamlconf`'s strict reader, so a misspelt key (``voise:``) is an
error naming the file, line and key rather than a silent fall-back to another voice.
Example with comments: ``config/tts.yaml``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from audio import spoken
from audio.convert import DEFAULT_LEVEL_DBFS
from audio.tts import DEFAULT_MAX_CHARS, DEFAULT_TIMEOUT_S, ENGINES, Engine, make_engine
from dialer.core.yamlconf import Section, load_yaml

_VOICE_KEYS = ("engine", "voice", "model", "rate", "speaker", "length_scale", "persistent")
_TTS_KEYS = ("voices", "flows", "cache_dir", "cache_max_mb", "cache_max_age", "max_chars", "timeout",
             "level_dbfs", "region", "workers")


@dataclass(frozen=True)
class VoiceConfig:
    """One engine voice, as configured."""

    engine: str
    voice: str | None = None
    model: Path | None = None
    rate_wpm: int | None = None
    speaker: int | None = None
    length_scale: float | None = None
    persistent: bool = True               # piper: keep the model loaded between prompts

    def make(self, *, timeout_s: float, max_chars: int) -> Engine:
        return make_engine(self.engine, voice=self.voice, model=self.model, rate_wpm=self.rate_wpm,
                           speaker=self.speaker, length_scale=self.length_scale, persistent=self.persistent,
                           timeout_s=timeout_s, max_chars=max_chars)


#: Renders unused this long are removed. Per-debtor prompts speak a name, an amount and a due date:
#: personal data, which GDPR lets us keep only as long as needed. A debtor is retried over days, so a
#: week keeps the renders a retry or call-back replays; after that one synthesis (under a second)
#: makes a prompt again, a cost far below keeping a debtor's data on disk for months.
DEFAULT_CACHE_MAX_AGE_S = 7 * 86400.0


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/callpact/tts`` (``~/.cache/callpact/tts``): renders can always be made again."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "callpact" / "tts"


def _default_voices() -> dict[str, VoiceConfig]:
    # espeak-ng is the only freely licensed offline Dutch voice; flite kal16 was understood
    # without word errors at 8 kHz in the trials, where espeak-ng English lost a third.
    return {"nl": VoiceConfig("espeak-ng", voice="nl"), "en": VoiceConfig("flite", voice="kal16")}


@dataclass(frozen=True)
class TTSConfig:
    voices: dict[str, VoiceConfig] = field(default_factory=_default_voices)
    flows: dict[str, dict[str, VoiceConfig]] = field(default_factory=dict)
    cache_dir: Path = field(default_factory=default_cache_dir)
    cache_max_bytes: int | None = 512 * 1024 * 1024
    cache_max_age_s: float | None = DEFAULT_CACHE_MAX_AGE_S   # None: never pruned (tests, tools)
    max_chars: int = DEFAULT_MAX_CHARS
    timeout_s: float = DEFAULT_TIMEOUT_S
    level_dbfs: float = DEFAULT_LEVEL_DBFS
    region: str = "NL"
    workers: int = 2

    def voice_for(self, language: str, flow: str | None = None) -> VoiceConfig | None:
        if flow is not None and language in self.flows.get(flow, {}):
            return self.flows[flow][language]
        return self.voices.get(language)


def _voice(section: Section, base_dir: Path) -> VoiceConfig:
    engine = section.choice("engine", ENGINES)
    model = section.string("model", None)
    model_path = None
    if model is not None:
        model_path = Path(model).expanduser()
        if not model_path.is_absolute():
            model_path = base_dir / model_path
    config = VoiceConfig(
        engine=engine,
        voice=section.string("voice", None),
        model=model_path,
        rate_wpm=section.number("rate", None, minimum=80, maximum=450, integer=True),
        speaker=section.number("speaker", None, minimum=0, integer=True),
        length_scale=section.number("length_scale", None, minimum=0.5, maximum=2.0),
        persistent=section.boolean("persistent", True),
    )
    if engine == "piper" and config.model is None:
        raise section.error("model", "piper needs a model: the path of a voice's .onnx file")
    if engine == "piper" and (config.voice is not None or config.rate_wpm is not None):
        raise section.error("voice" if config.voice is not None else "rate",
                            "piper takes a model (and speaker, length_scale), not a voice or rate")
    piper_only = [key for key, value in (("model", config.model), ("speaker", config.speaker),
                                         ("length_scale", config.length_scale)) if value is not None]
    if not config.persistent:
        piper_only.append("persistent")
    if engine != "piper" and piper_only:
        takes = "a voice and a rate" if engine == "espeak-ng" else "a voice"
        raise section.error(piper_only[0], f"{engine} takes {takes}, not a model, speaker or length_scale")
    if engine == "flite" and config.rate_wpm is not None:
        raise section.error("rate", "flite has no rate setting")
    section.finish(_VOICE_KEYS)
    return config


def _languages(section: Section, base_dir: Path) -> dict[str, VoiceConfig]:
    voices: dict[str, VoiceConfig] = {}
    for language in section.remaining_keys():
        if language not in spoken.LANGUAGES:
            raise section.error(language, f"no text rules for language {language!r}; "
                                          f"choose from {', '.join(spoken.LANGUAGES)}")
        voices[language] = _voice(section.section(language, required=True), base_dir)
    return voices


def tts_config_from_section(section: Section, base_dir: Path) -> TTSConfig:
    """The ``tts:`` mapping of a configuration file; relative paths are relative to ``base_dir``."""
    defaults = TTSConfig()
    voices = dict(defaults.voices)
    if section.has("voices"):
        voices.update(_languages(section.section("voices"), base_dir))
    flows: dict[str, dict[str, VoiceConfig]] = {}
    if section.has("flows"):
        flows_section = section.section("flows")
        for flow in flows_section.remaining_keys():
            flows[flow] = _languages(flows_section.section(flow, required=True), base_dir)
    cache_dir = Path(section.string("cache_dir", str(defaults.cache_dir))).expanduser()
    if not cache_dir.is_absolute():
        cache_dir = base_dir / cache_dir
    max_mb = section.number("cache_max_mb", None, minimum=1)
    config = TTSConfig(
        voices=voices,
        flows=flows,
        cache_dir=cache_dir,
        cache_max_bytes=int(max_mb * 1024 * 1024) if max_mb is not None else defaults.cache_max_bytes,
        cache_max_age_s=section.duration("cache_max_age", defaults.cache_max_age_s, minimum=60),
        max_chars=section.number("max_chars", defaults.max_chars, minimum=1, maximum=100_000, integer=True),
        timeout_s=section.duration("timeout", defaults.timeout_s, minimum=0.1, maximum=600),
        level_dbfs=section.number("level_dbfs", defaults.level_dbfs, minimum=-40, maximum=-6),
        region=section.string("region", defaults.region, pattern=r"[A-Z]{2}",
                              hint="a two-letter country code such as NL"),
        workers=section.number("workers", defaults.workers, minimum=1, maximum=16, integer=True),
    )
    section.finish(_TTS_KEYS)
    return config


def load_tts_config(path: str | Path) -> TTSConfig:
    """A file whose top level has a ``tts:`` section (and nothing else)."""
    path = Path(path)
    document = Section(load_yaml(path), str(path))
    config = tts_config_from_section(document.section("tts", required=True), path.parent)
    document.finish(["tts"])
    return config
