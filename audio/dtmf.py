"""In-band DTMF: a streaming Goertzel detector for the 16 keypad keys.

Used where the far end sends key presses as audio instead of RFC 4733 events
(some trunks, some Asterisk AudioSocket setups). The rules follow the spirit of
ITU-T Q.24 and common detectors: both tones above a floor, twist within limits,
each tone clearly the strongest of its group, almost all of the signal's power
in the two tones and none in their second harmonics (speech and music carry
power in many places, a keypad in exactly two), a minimum tone duration, and a
press counted once until a gap ends it.

The analysis runs on 20 ms windows (160 samples, 50 Hz bins, fine enough to
separate the 70–90 Hz spaced row tones) every 10 ms, so a 40 ms tone fills at
least two consecutive windows and a 40 ms gap at least two. The Goertzel
single-bin DFT is evaluated for all bins at once as one matrix product, which
gives the same numbers as the recursive form at a fraction of the Python cost.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from audio.tones import DTMF_FREQUENCIES, dbm0_to_amplitude
from dialer.core.media import SAMPLE_RATE

ROWS = (697.0, 770.0, 852.0, 941.0)
COLUMNS = (1209.0, 1336.0, 1477.0, 1633.0)
KEYPAD = ("123A", "456B", "789C", "*0#D")
assert all(DTMF_FREQUENCIES[KEYPAD[r][c]] == (ROWS[r], COLUMNS[c]) for r in range(4) for c in range(4))

WINDOW = 160          # samples: 20 ms
HOP = 80              # samples: 10 ms


@dataclass(frozen=True)
class DtmfParams:
    """Acceptance rules; the defaults pass Q.24-like tests and reject speech and music."""

    min_level_dbm0: float = -32.0        # each tone at least this loud
    forward_twist_db: float = 8.0        # high tone louder than the low one by at most this
    reverse_twist_db: float = 8.0        # low tone louder than the high one by at most this
    relative_peak_db: float = 8.0        # each tone this much above the other tones of its group
    harmonic_db: float = 12.0            # each tone this much above its second harmonic
    min_tone_power_ratio: float = 0.7    # share of the window's power in the two tones
    on_windows: int = 2                  # consecutive windows to accept a press (>= 30 ms)
    off_windows: int = 3                 # windows without it to end a press (a 10 ms dropout does not)


def _basis() -> np.ndarray:
    """Complex exponentials for the 8 tones, one row each (the DFT bins that pick the key)."""
    freqs = np.array(ROWS + COLUMNS)
    n = np.arange(WINDOW)
    return np.exp(-2j * np.pi * np.outer(freqs, n) / SAMPLE_RATE)


#: Relative frequency offsets tried for each tone: phones may be off by up to 1.5% (Q.24), and
#: over a 20 ms window a 1.5% offset (25 Hz at 1633 Hz) turns half a cycle, too much for a fit
#: at the nominal frequency alone. The outer ±3.5% are sentinels: Q.24 wants tones that far off
#: rejected, so a window that fits one of those best is not a key.
DETUNES = (-0.035, -0.015, -0.0075, 0.0, 0.0075, 0.015, 0.035)
OFF_FREQUENCY = 0.03


@dataclass(frozen=True)
class _KeyFits:
    """All detuned least-squares fits of one key, stacked so that one product evaluates them."""

    pinv: np.ndarray        # (fits, 8, N): coefficients = pinv @ window
    gram: np.ndarray        # (fits, 8, 8): design.T @ design, for the power each fit explains
    sentinel: np.ndarray    # (fits,): True where the fit is a reject sentinel (±3.5%)


def _key_fits() -> dict[tuple[int, int], _KeyFits]:
    """Per key and detune: the least-squares fit of both tones and their second harmonics.

    A plain DFT bin also sees the neighbouring tone's leakage (the column tone
    leaks into the row tone's second-harmonic bin, 58–93 Hz away, at -6 dB with
    twist); fitting all four sinusoids at once separates them exactly.
    """
    n = np.arange(WINDOW) / SAMPLE_RATE
    fits: dict[tuple[int, int], _KeyFits] = {}
    for r, low in enumerate(ROWS):
        for c, high in enumerate(COLUMNS):
            pinvs, grams, sentinels = [], [], []
            for low_detune in DETUNES:          # the two tones may be off independently
                for high_detune in DETUNES:
                    f_low, f_high = low * (1 + low_detune), high * (1 + high_detune)
                    cols = []
                    for f in (f_low, f_high, 2 * f_low, 2 * f_high):
                        cols += [np.cos(2 * np.pi * f * n), np.sin(2 * np.pi * f * n)]
                    design = np.stack(cols, axis=1)
                    pinvs.append(np.linalg.pinv(design))
                    grams.append(design.T @ design)
                    sentinels.append(max(abs(low_detune), abs(high_detune)) > OFF_FREQUENCY)
            fits[(r, c)] = _KeyFits(np.stack(pinvs), np.stack(grams), np.array(sentinels))
    return fits


_BASIS_T = _basis().T.copy()
_FITS = _key_fits()


class DtmfDetector:
    """Feed 8 kHz 16-bit PCM frames; get each key press once, when it is recognised.

    State lives in the object; no I/O. ``feed`` accepts any even number of
    bytes (normally one 20 ms frame) and returns the keys recognised in it.
    """

    def __init__(self, params: DtmfParams | None = None) -> None:
        self.params = params or DtmfParams()
        p = self.params
        self._min_amp = dbm0_to_amplitude(p.min_level_dbm0)
        self._peak = 10 ** (p.relative_peak_db / 20)
        self._harmonic = 10 ** (p.harmonic_db / 20)
        self._fwd = 10 ** (p.forward_twist_db / 20)
        self._rev = 10 ** (p.reverse_twist_db / 20)
        self._buffer = np.zeros(0, dtype=np.float64)
        self._current: str | None = None     # the key being held
        self._candidate: str | None = None
        self._candidate_windows = 0
        self._off_windows = 0
        self.samples_seen = 0
        self.detected: list[tuple[str, float]] = []   # (key, seconds into the stream) for diagnostics

    def reset(self) -> None:
        self.__init__(self.params)  # type: ignore[misc]

    def feed(self, pcm: bytes) -> list[str]:
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
        self._buffer = np.concatenate((self._buffer, samples)) if self._buffer.size else samples
        count = 0 if self._buffer.size < WINDOW else (self._buffer.size - WINDOW) // HOP + 1
        if count == 0:
            return []
        span = self._buffer[:(count - 1) * HOP + WINDOW]
        if float(span @ span) < WINDOW * self._min_amp * self._min_amp:
            raws: list[str | None] = [None] * count       # no window in it can be loud enough
        else:
            windows = np.lib.stride_tricks.sliding_window_view(self._buffer, WINDOW)[::HOP][:count]
            raws = self._classify(windows)
        start = self.samples_seen
        self._buffer = self._buffer[count * HOP:]
        self.samples_seen += count * HOP
        keys: list[str] = []
        for i, raw in enumerate(raws):
            key = self._step(raw)
            if key is not None:
                keys.append(key)
                self.detected.append((key, (start + i * HOP + WINDOW) / SAMPLE_RATE))
        return keys

    # -- per-window decision -------------------------------------------------------------------
    def _classify(self, windows: np.ndarray) -> list[str | None]:
        power = np.einsum("ij,ij->i", windows, windows) / WINDOW   # mean power per window
        # Two tones of amplitude A carry A² of mean power: a quieter window holds no key. Most of a
        # call is a listening debtor's line noise, so this skips the tone analysis most of the time.
        loud = np.flatnonzero(power >= self._min_amp * self._min_amp)
        out: list[str | None] = [None] * windows.shape[0]
        if loud.size:
            amps = np.abs(windows[loud] @ _BASIS_T) * (2.0 / WINDOW)   # (k, 8) tone amplitudes
            for j, k in enumerate(loud):
                out[k] = self._key_of(windows[k], amps[j], float(power[k]))
        return out

    def _key_of(self, window: np.ndarray, amps: np.ndarray, power: float) -> str | None:
        rows, cols = amps[0:4], amps[4:8]
        r = int(np.argmax(rows))
        c = int(np.argmax(cols))
        if rows[r] < self._min_amp or cols[c] < self._min_amp:
            return None
        if np.any(np.delete(rows, r) * self._peak > rows[r]):
            return None
        if np.any(np.delete(cols, c) * self._peak > cols[c]):
            return None
        # the detuning that explains the window best (least residual = most power explained)
        fits = _FITS[(r, c)]
        coefs = fits.pinv @ window                                        # (fits, 8)
        explained = np.einsum("ki,kij,kj->k", coefs, fits.gram, coefs)
        best = int(np.argmax(explained))
        if fits.sentinel[best]:
            return None
        coef = coefs[best]
        best_power = float(coef[:4] @ fits.gram[best, :4, :4] @ coef[:4]) / WINDOW
        low, high, low2, high2 = np.hypot(coef[0::2], coef[1::2])
        if low < self._min_amp or high < self._min_amp:
            return None
        if high > low * self._fwd or low > high * self._rev:
            return None
        if low2 * self._harmonic > low or high2 * self._harmonic > high:
            return None
        if best_power < self.params.min_tone_power_ratio * power:
            return None
        return KEYPAD[r][c]

    # -- timing: minimum duration, gap, one event per press ----------------------------------
    def _step(self, raw: str | None) -> str | None:
        p = self.params
        if self._current is not None:
            if raw == self._current:
                self._off_windows = 0
                return None
            self._off_windows += 1
            if self._off_windows < p.off_windows:
                return None
            self._current = None
            self._candidate, self._candidate_windows = raw, (1 if raw else 0)
            return None
        if raw is None:
            self._candidate, self._candidate_windows = None, 0
            return None
        if raw == self._candidate:
            self._candidate_windows += 1
        else:
            self._candidate, self._candidate_windows = raw, 1
        if self._candidate_windows >= p.on_windows:
            self._current, self._off_windows = raw, 0
            self._candidate, self._candidate_windows = None, 0
            return raw
        return None
