"""Engine audio becomes telephone audio: 8 kHz, no aliasing, one loudness, G.711 that round-trips."""

from __future__ import annotations

import io
import math
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from audio.convert import (
    Audio,
    AudioFormatError,
    active_level_dbfs,
    decode,
    encode,
    normalise_level,
    pcm16_audio,
    peak_dbfs,
    read_wav,
    resample,
    to_telephone,
)


def tone(freq: float, rate: int, seconds: float = 1.0, amplitude: float = 0.5) -> Audio:
    t = np.arange(int(rate * seconds)) / rate
    return Audio(amplitude * np.sin(2 * np.pi * freq * t), rate)


def rms_db(samples: np.ndarray) -> float:
    return 20 * math.log10(float(np.sqrt(np.mean(samples**2))) + 1e-12)


def wav_bytes(samples: np.ndarray, rate: int, channels: int = 1) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes((samples * 32767).astype("<i2").tobytes())
    return buffer.getvalue()


@pytest.mark.parametrize("rate", [16000, 22050, 44100])
def test_speech_band_passes_and_what_is_above_4khz_does_not_fold_back(rate: int) -> None:
    for freq in (300, 1000, 3400):
        out = resample(tone(freq, rate), 8000).samples[400:-400]
        assert abs(rms_db(out) - rms_db(tone(freq, 8000).samples)) < 0.1, freq
    for freq in (4500, 6000, 7000):
        out = resample(tone(freq, rate), 8000).samples[400:-400]
        assert rms_db(out) < rms_db(tone(1000, 8000).samples) - 60, f"{freq} Hz aliases into the band"


def test_resampled_length_follows_the_rate_exactly() -> None:
    odd = 22050 * 3 + 7
    assert len(resample(Audio(np.zeros(odd), 22050), 8000).samples) == round(odd * 8000 / 22050)
    assert len(resample(Audio(np.zeros(16000), 16000), 8000).samples) == 8000


@pytest.mark.skipif(shutil.which("sox") is None, reason="sox is a setup.sh package")
def test_resampling_matches_sox_on_real_speech(tmp_path: Path) -> None:
    source, reference = tmp_path / "speech.wav", tmp_path / "sox8k.wav"
    text = "Goedemiddag, u heeft een openstaand bedrag."
    subprocess.run(["espeak-ng", "-v", "nl", "-w", str(source), text], check=True)
    subprocess.run(["sox", str(source), "-r", "8000", str(reference)], check=True)
    ours = resample(read_wav(source.read_bytes()), 8000).samples
    theirs = read_wav(reference.read_bytes()).samples
    assert len(ours) == len(theirs)
    difference = rms_db(ours[10:-10] - theirs[10:-10]) - rms_db(theirs[10:-10])
    assert difference < -30, f"differs from sox by {difference:.1f} dB"


def test_level_is_normalised_to_the_target_whatever_the_input_loudness() -> None:
    speechlike = np.concatenate([tone(500, 8000, 0.5, 0.02).samples, np.zeros(4000),
                                 tone(900, 8000, 0.5, 0.03).samples])
    for gain in (0.1, 1.0, 20.0):
        out = normalise_level(Audio(speechlike * gain, 8000), -20.0)
        assert abs(active_level_dbfs(out) - -20.0) < 0.1


def test_pauses_do_not_change_the_measured_level() -> None:
    voiced = tone(700, 8000, 1.0, 0.1).samples
    with_pause = np.concatenate([voiced, np.zeros(16000)])
    assert abs(active_level_dbfs(Audio(voiced, 8000)) - active_level_dbfs(Audio(with_pause, 8000))) < 0.1


def test_peaks_above_the_ceiling_are_limited_not_clipped() -> None:
    spiky = tone(700, 8000, 1.0, 0.05).samples.copy()
    spiky[4000] = 0.9                                          # one click, far above the speech
    out = normalise_level(Audio(spiky, 8000), -12.0, ceiling_dbfs=-1.0)
    assert peak_dbfs(out) <= -1.0 + 1e-9
    assert abs(active_level_dbfs(out) - -12.0) < 1.0


def test_silence_stays_silence() -> None:
    assert not normalise_level(Audio(np.zeros(8000), 8000)).samples.any()


def test_to_telephone_gives_8khz_16bit_pcm() -> None:
    pcm = to_telephone(tone(1000, 22050, 2.0))
    assert len(pcm) == 2 * 16000
    assert abs(active_level_dbfs(pcm16_audio(pcm)) - -20.0) < 0.1


@pytest.mark.parametrize("fmt", ["ulaw", "alaw"])
def test_g711_round_trip_error_is_small(fmt: str) -> None:
    pcm = to_telephone(tone(440, 16000, 1.0))
    encoded = encode(pcm, fmt)
    assert len(encoded) == len(pcm) // 2                       # one byte a sample
    back = np.frombuffer(decode(encoded, fmt), "<i2").astype(float)
    original = np.frombuffer(pcm, "<i2").astype(float)
    snr = 10 * math.log10(np.sum(original**2) / np.sum((original - back) ** 2))
    assert snr > 30, f"{fmt} round trip SNR {snr:.1f} dB"


def test_pcm16_format_is_unchanged_and_unknown_formats_are_named() -> None:
    assert encode(b"\x01\x02", "pcm16") == b"\x01\x02"
    with pytest.raises(AudioFormatError, match="'gsm'"):
        encode(b"\x00\x00", "gsm")


def test_stereo_wav_is_mixed_to_mono() -> None:
    left_right = np.stack([tone(500, 8000).samples, np.zeros(8000)], axis=1).ravel()
    audio = read_wav(wav_bytes(left_right, 8000, channels=2))
    assert audio.rate == 8000 and len(audio.samples) == 8000
    assert abs(rms_db(audio.samples) - (rms_db(tone(500, 8000).samples) - 6.02)) < 0.1


def test_not_a_wav_is_a_clear_error() -> None:
    with pytest.raises(AudioFormatError, match="not a PCM WAV"):
        read_wav(b"ID3 this is an mp3")
