"""Engine audio -> telephone audio: 8 kHz mono 16-bit PCM at one loudness, and G.711 µ-law/A-law.

Engines speak at 16 or 22.05 kHz, each at its own loudness. A call carries 8 kHz
(``dialer.core.media``), and a prompt that is much quieter or louder than the one before it
sounds broken to the caller, so every rendered prompt goes through :func:`to_telephone`.

Resampling is band-limited (numpy FFT) rather than ``audioop.ratecv``, which filters
nothing: engine output has energy above 4 kHz (sibilants) that would otherwise fold
back into the band as hiss. Loudness is the
RMS of the *active* part (20 ms frames within 40 dB of the loudest one, a simplified
ITU-T P.56 active speech level), so pauses between sentences do not make a prompt
with more pauses come out louder; peaks above the ceiling are soft-limited.
"""

from __future__ import annotations

import io
import math
import warnings
import wave
from dataclasses import dataclass

import numpy as np

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    # Deprecated in 3.11-3.12 and gone in 3.13, where the audioop-lts dependency provides it.
    import audioop

TELEPHONE_RATE = 8000
DEFAULT_LEVEL_DBFS = -20.0
DEFAULT_CEILING_DBFS = -1.0
FORMATS = ("pcm16", "ulaw", "alaw")

_FULL_SCALE = 32768.0
_ACTIVE_FRAME_S = 0.020
_ACTIVE_RANGE_DB = 40.0


class AudioFormatError(ValueError):
    """Audio an engine produced (or a caller supplied) that cannot be converted."""


@dataclass(frozen=True)
class Audio:
    """Mono samples as floats in [-1, 1) at ``rate`` Hz."""

    samples: np.ndarray
    rate: int

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.rate


def read_wav(data: bytes) -> Audio:
    """Decode a PCM WAV (8/16/32-bit, any channel count; channels are averaged)."""
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            frames = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as exc:
        raise AudioFormatError(f"not a PCM WAV file: {exc}") from None
    if width == 1:
        samples = (np.frombuffer(frames, dtype=np.uint8).astype(np.float64) - 128.0) / 128.0
    elif width == 2:
        samples = np.frombuffer(frames, dtype="<i2").astype(np.float64) / _FULL_SCALE
    elif width == 4:
        samples = np.frombuffer(frames, dtype="<i4").astype(np.float64) / 2147483648.0
    else:
        raise AudioFormatError(f"unsupported WAV sample width of {width} bytes")
    if channels > 1:
        usable = len(samples) - len(samples) % channels
        samples = samples[:usable].reshape(-1, channels).mean(axis=1)
    if rate <= 0:
        raise AudioFormatError(f"WAV sample rate {rate} is not valid")
    return Audio(samples, rate)


def pcm16_audio(pcm: bytes, rate: int = TELEPHONE_RATE) -> Audio:
    if len(pcm) % 2:
        raise AudioFormatError("16-bit PCM must have an even number of bytes")
    return Audio(np.frombuffer(pcm, dtype="<i2").astype(np.float64) / _FULL_SCALE, rate)


def resample(audio: Audio, rate: int) -> Audio:
    """Band-limited resampling in the frequency domain.

    The spectrum is cut at the lower Nyquist frequency with a raised-cosine roll-off over
    its top 10% (3.6-4 kHz when going to 8 kHz), so nothing above it folds back into the
    band. Zero padding on both sides keeps the FFT's wrap-around from mixing the end of a
    prompt into its start. About 10 ms for 10 s of 22.05 kHz speech.
    """
    if rate == audio.rate or len(audio.samples) == 0:
        return Audio(audio.samples, rate)
    pad = audio.rate // 10
    # Whole blocks of src/gcd samples keep the output length exact; a 5-smooth block count
    # keeps both FFTs fast (a prime length is ten times slower).
    step = math.gcd(audio.rate, rate)
    block_in, block_out = audio.rate // step, rate // step
    blocks = _smooth_at_least(math.ceil((len(audio.samples) + 2 * pad) / block_in))
    n_in, n_out = blocks * block_in, blocks * block_out
    x = np.zeros(n_in)
    x[pad:pad + len(audio.samples)] = audio.samples
    spectrum = np.fft.rfft(x)
    freqs = np.fft.rfftfreq(n_in, d=1 / audio.rate)
    nyquist = min(rate, audio.rate) / 2
    edge = 0.9 * nyquist
    roll_off = 0.5 + 0.5 * np.cos(np.pi * np.clip(freqs - edge, 0, None) / (nyquist - edge))
    gain = np.where(freqs <= edge, 1.0, np.where(freqs >= nyquist, 0.0, roll_off))
    keep = n_out // 2 + 1
    shaped = np.zeros(keep, dtype=complex)
    usable = min(keep, len(spectrum))
    shaped[:usable] = (spectrum * gain)[:usable]
    y = np.fft.irfft(shaped, n=n_out) * (n_out / n_in)
    trim = round(pad * rate / audio.rate)
    expected = round(len(audio.samples) * rate / audio.rate)
    return Audio(y[trim:trim + expected], rate)


def _smooth_at_least(n: int) -> int:
    """The smallest number >= n with no prime factor above 5."""
    while True:
        m = n
        for prime in (2, 3, 5):
            while m % prime == 0:
                m //= prime
        if m == 1:
            return n
        n += 1


def dbfs(value: float) -> float:
    """An RMS or peak amplitude relative to full scale (1.0), in dB."""
    return -math.inf if value <= 0 else 20 * math.log10(value)


def active_level_dbfs(audio: Audio) -> float:
    """RMS in dBFS over the 20 ms frames within 40 dB of the loudest frame (-inf for silence)."""
    frame = max(1, int(audio.rate * _ACTIVE_FRAME_S))
    usable = len(audio.samples) - len(audio.samples) % frame
    if usable == 0:
        return dbfs(float(np.sqrt(np.mean(audio.samples**2)))) if len(audio.samples) else -math.inf
    power = (audio.samples[:usable].reshape(-1, frame) ** 2).mean(axis=1)
    loudest = power.max()
    if loudest <= 0:
        return -math.inf
    active = power[power >= loudest * 10 ** (-_ACTIVE_RANGE_DB / 10)]
    return dbfs(float(np.sqrt(active.mean())))


def peak_dbfs(audio: Audio) -> float:
    return dbfs(float(np.abs(audio.samples).max())) if len(audio.samples) else -math.inf


def normalise_level(audio: Audio, level_dbfs: float = DEFAULT_LEVEL_DBFS,
                    ceiling_dbfs: float = DEFAULT_CEILING_DBFS) -> Audio:
    """Scale to ``level_dbfs`` active level; peaks above ``ceiling_dbfs`` are soft-limited."""
    current = active_level_dbfs(audio)
    if current == -math.inf:
        return audio                                 # silence stays silence
    gained = audio.samples * 10 ** ((level_dbfs - current) / 20)
    ceiling = 10 ** (ceiling_dbfs / 20)
    knee = ceiling * 10 ** (-3 / 20)                 # limiting starts 3 dB below the ceiling
    magnitude = np.abs(gained)
    over = magnitude > knee
    if over.any():
        room = ceiling - knee
        limited = knee + room * np.tanh((magnitude[over] - knee) / room)
        gained = gained.copy()
        gained[over] = np.sign(gained[over]) * limited
    return Audio(gained, audio.rate)


def to_pcm16(audio: Audio) -> bytes:
    clipped = np.clip(np.round(audio.samples * _FULL_SCALE), -32768, 32767)
    return clipped.astype("<i2").tobytes()


def to_telephone(audio: Audio, *, level_dbfs: float | None = DEFAULT_LEVEL_DBFS,
                 ceiling_dbfs: float = DEFAULT_CEILING_DBFS) -> bytes:
    """8 kHz mono 16-bit little-endian PCM, level-normalised unless ``level_dbfs`` is None."""
    narrow = resample(audio, TELEPHONE_RATE)
    if level_dbfs is not None:
        narrow = normalise_level(narrow, level_dbfs, ceiling_dbfs)
    return to_pcm16(narrow)


def encode(pcm16: bytes, fmt: str) -> bytes:
    """16-bit PCM -> ``pcm16`` (unchanged), ``ulaw`` or ``alaw`` (G.711, one byte a sample)."""
    if fmt == "pcm16":
        return pcm16
    if fmt == "ulaw":
        return audioop.lin2ulaw(pcm16, 2)
    if fmt == "alaw":
        return audioop.lin2alaw(pcm16, 2)
    raise AudioFormatError(f"unknown audio format {fmt!r}: choose one of {', '.join(FORMATS)}")


def decode(data: bytes, fmt: str) -> bytes:
    """The inverse of :func:`encode`: back to 16-bit PCM."""
    if fmt == "pcm16":
        return data
    if fmt == "ulaw":
        return audioop.ulaw2lin(data, 2)
    if fmt == "alaw":
        return audioop.alaw2lin(data, 2)
    raise AudioFormatError(f"unknown audio format {fmt!r}: choose one of {', '.join(FORMATS)}")
