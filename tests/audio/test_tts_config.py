"""The tts: section: voices per language and flow, limits, and errors that name file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from audio.tts_config import TTSConfig, VoiceConfig, load_tts_config
from dialer.core.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tts.yaml"
    path.write_text(text)
    return path


def test_the_example_configuration_loads_and_its_voices_exist() -> None:
    config = load_tts_config(REPO / "config" / "tts.yaml")
    assert config.voices["nl"] == VoiceConfig("espeak-ng", voice="nl", rate_wpm=160)
    assert config.voices["en"] == VoiceConfig("flite", voice="kal16")
    assert config.cache_max_age_s == 7 * 86400
    for voice in config.voices.values():
        voice.make(timeout_s=config.timeout_s, max_chars=config.max_chars).check()


def test_defaults_without_a_section() -> None:
    config = TTSConfig()
    assert config.voice_for("nl") == VoiceConfig("espeak-ng", voice="nl")
    assert config.voice_for("en") == VoiceConfig("flite", voice="kal16")
    assert config.voice_for("de") is None


def test_flow_voices_override_the_defaults_and_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    config = load_tts_config(write(tmp_path, """
tts:
  voices:
    en: {engine: espeak-ng, voice: en-gb}
  flows:
    reminder:
      en: {engine: piper, model: voices/en.onnx, length_scale: 1.1, persistent: false}
  cache_dir: cache
  timeout: 5s
"""))
    assert config.voice_for("en") == VoiceConfig("espeak-ng", voice="en-gb")
    assert config.voice_for("en", "reminder") == VoiceConfig("piper", model=tmp_path / "voices/en.onnx",
                                                            length_scale=1.1, persistent=False)
    assert config.voice_for("nl", "reminder") == VoiceConfig("espeak-ng", voice="nl")
    assert config.cache_dir == tmp_path / "cache"
    assert config.timeout_s == 5.0


@pytest.mark.parametrize(("yaml_text", "message"), [
    ("tts:\n  voices:\n    nl: {engine: espeak-ng, voise: nl}\n",
     r"line 3: tts\.voices\.nl\.voise: unknown key"),
    ("tts:\n  voices:\n    nl: {engine: festival}\n", r"tts\.voices\.nl\.engine: 'festival' is not allowed"),
    ("tts:\n  voices:\n    fr: {engine: espeak-ng, voice: fr}\n", r"line 3: tts\.voices\.fr: no text rules"),
    ("tts:\n  voices:\n    en: {engine: piper}\n", r"tts\.voices\.en\.model: piper needs a model"),
    ("tts:\n  voices:\n    en:\n      engine: flite\n      rate: 150\n",
     r"line 5: tts\.voices\.en\.rate: flite has no"),
    ("tts:\n  voices:\n    nl:\n      engine: espeak-ng\n      model: x.onnx\n",
     r"line 5: tts\.voices\.nl\.model: espeak-ng takes a voice and a rate"),
    ("tts:\n  voices:\n    nl: {engine: espeak-ng, persistent: false}\n",
     r"tts\.voices\.nl\.persistent: espeak-ng takes a voice and a rate"),
    ("tts:\n  voices:\n    en: {engine: piper, model: x.onnx, persistent: maybe}\n",
     r"tts\.voices\.en\.persistent: must be true or false"),
    ("tts:\n  max_chars: 0\n", r"tts\.max_chars: must be at least 1"),
    ("tts:\n  timeout: soon\n", r"line 2: tts\.timeout: must be a duration"),
    ("tts:\n  region: nederland\n", r"tts\.region: 'nederland' is not valid"),
    ("tts:\n  cache_max_mb: lots\n", r"tts\.cache_max_mb: must be a number"),
    ("tts:\n  colour: blue\n", r"line 2: tts\.colour: unknown key; allowed here: cache_dir"),
    ("voices: {}\n", r"tts: required key is missing"),
    ("tts:\n  voices: [nl]\n", r"tts\.voices: must be a mapping"),
])
def test_mistakes_are_named_with_file_line_and_key(tmp_path: Path, yaml_text: str, message: str) -> None:
    path = write(tmp_path, yaml_text)
    with pytest.raises(ConfigError, match=message) as caught:
        load_tts_config(path)
    assert str(path) in str(caught.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_tts_config(tmp_path / "nope.yaml")
