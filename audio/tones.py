"""Synthetic telephone signals: DTMF keys, steady tones, silence and noise.

The tests, the benchmark and the SIP tests' far end need keypad presses and
voicemail beeps that are exactly known, so they are generated here rather than
recorded. Everything is 8 kHz 16-bit signed little-endian mono PCM, the format
of :mod:`dialer.core.media`.
"""

from __future__ import annotations

import numpy as np

from dialer.core.media import SAMPLE_RATE

#: Low ("row") and high ("column") frequency of every key, as in ITU-T Q.23.
DTMF_FREQUENCIES: dict[str, tuple[float, float]] = {}
_ROWS = (697.0, 770.0, 852.0, 941.0)
_COLUMNS = (1209.0, 1336.0, 1477.0, 1633.0)
_KEYPAD = ("123A", "456B", "789C", "*0#D")
for _r, _keys in enumerate(_KEYPAD):
    for _c, _key in enumerate(_keys):
        DTMF_FREQUENCIES[_key] = (_ROWS[_r], _COLUMNS[_c])

#: Amplitude of a 0 dBm0 sine in 16-bit linear PCM (G.711's +3.17 dBm0 overload point is full scale).
DBM0_AMPLITUDE = 32767 * 10 ** (-3.17 / 20)


def dbm0_to_amplitude(level_dbm0: float) -> float:
    return DBM0_AMPLITUDE * 10 ** (level_dbm0 / 20)


def _to_pcm(samples: np.ndarray) -> bytes:
    return np.clip(np.round(samples), -32768, 32767).astype("<i2").tobytes()


def _time(duration_ms: float) -> np.ndarray:
    return np.arange(round(SAMPLE_RATE * duration_ms / 1000)) / SAMPLE_RATE


def silence(duration_ms: float) -> bytes:
    return bytes(2 * round(SAMPLE_RATE * duration_ms / 1000))


def sine(frequency_hz: float, duration_ms: float, level_dbm0: float = -10.0) -> bytes:
    """A steady tone, e.g. a voicemail beep (typically 1000 Hz, 200–500 ms)."""
    t = _time(duration_ms)
    return _to_pcm(dbm0_to_amplitude(level_dbm0) * np.sin(2 * np.pi * frequency_hz * t))


def noise(duration_ms: float, level_dbm0: float = -40.0, seed: int = 0) -> bytes:
    """White Gaussian noise with the given RMS level (line noise, comfort noise)."""
    rng = np.random.default_rng(seed)
    n = round(SAMPLE_RATE * duration_ms / 1000)
    rms = dbm0_to_amplitude(level_dbm0) / np.sqrt(2)
    return _to_pcm(rng.normal(0.0, rms, n))


def dtmf(key: str, duration_ms: float = 80.0, level_dbm0: float = -7.0, twist_db: float = 0.0) -> bytes:
    """One key press: both tones at ``level_dbm0`` each.

    ``twist_db`` > 0 makes the high (column) tone louder than the low one
    ("forward" twist, what a line's high-frequency loss usually undoes), < 0
    makes it quieter ("reverse" twist).
    """
    try:
        low, high = DTMF_FREQUENCIES[key.upper()]
    except KeyError:
        raise ValueError(f"not a DTMF key: {key!r} (expected one of 0-9 * # A-D)") from None
    t = _time(duration_ms)
    amp = dbm0_to_amplitude(level_dbm0)
    low_amp = amp * 10 ** (-twist_db / 40)
    high_amp = amp * 10 ** (twist_db / 40)
    return _to_pcm(low_amp * np.sin(2 * np.pi * low * t) + high_amp * np.sin(2 * np.pi * high * t))


def dtmf_sequence(keys: str, on_ms: float = 80.0, off_ms: float = 80.0, level_dbm0: float = -7.0,
                  twist_db: float = 0.0, lead_ms: float = 0.0) -> bytes:
    """Keys as a phone sends them: ``on_ms`` tone, ``off_ms`` gap, after ``lead_ms`` of silence."""
    parts = [silence(lead_ms)]
    for key in keys:
        parts.append(dtmf(key, on_ms, level_dbm0, twist_db))
        parts.append(silence(off_ms))
    return b"".join(parts)
