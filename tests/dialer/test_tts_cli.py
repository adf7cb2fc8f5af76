"""`callpact tts`: hear a prompt as a caller would, see what the engine is given, check the voices."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest

from dialer.cli import main


def test_text_prints_the_speakable_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tts", "text", "Betaal € 45,20 voor 15-12-2026.", "--language", "nl"]) == 0
    assert capsys.readouterr().out.strip() == "Betaal vijfenveertig euro twintig voor vijftien december " \
                                              "tweeduizend zesentwintig."


def test_say_writes_an_8khz_wav_and_raw_ulaw(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "tts.yaml"
    config.write_text("tts:\n  cache_dir: cache\n")
    wav_path, raw_path = tmp_path / "prompt.wav", tmp_path / "prompt.ul"
    assert main(["tts", "say", "Press 1 to pay €45.20.", "--language", "en", "--config", str(config),
                 "--out", str(wav_path)]) == 0
    with wave.open(str(wav_path)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
        frames = wav.getnframes()
    assert frames > 8000
    assert main(["tts", "say", "Press 1 to pay €45.20.", "--language", "en", "--config", str(config),
                 "--out", str(raw_path), "--format", "ulaw"]) == 0
    assert raw_path.stat().st_size == frames                    # one byte a sample, same render
    assert len(list((tmp_path / "cache").rglob("*.audio"))) == 1


def test_check_names_a_missing_voice_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "tts.yaml"
    config.write_text("tts:\n  cache_dir: cache\n  voices:\n    en: {engine: flite, voice: nope}\n")
    assert main(["tts", "check", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "flite has no voice 'nope'" in err and "Traceback" not in err


def test_unknown_language_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tts", "text", "hallo", "--language", "de"]) == 2
    assert "unsupported language 'de'" in capsys.readouterr().err
