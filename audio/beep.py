"""Voicemail beep: a steady tone of 400–2000 Hz lasting at least 150 ms.

After a machine's greeting the recorder announces itself with a beep; a
voicemail message played before it is cut off at the start. A frame is
"tonal" when one narrow band around the spectral peak holds nearly all of its
power, above a level floor; a beep is a run of tonal frames whose peak stays at
the same frequency. Speech (many harmonics, moving pitch), noise (flat) and
DTMF (two tones) are not tonal in that sense.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from audio.tones import dbm0_to_amplitude
from dialer.core.media import FRAME_SAMPLES, SAMPLE_RATE

_FFT = 512                                  # 15.6 Hz bins after zero padding
_WINDOW = np.hanning(FRAME_SAMPLES)


@dataclass(frozen=True)
class BeepParams:
    min_hz: float = 400.0
    max_hz: float = 2000.0
    min_ms: int = 150
    min_level_dbm0: float = -40.0
    min_peak_share: float = 0.9             # of the frame's power within ±2 Hann main-lobe widths
    max_drift_hz: float = 20.0              # how far the peak may move from where the tone started


class BeepDetector:
    """Feed frames after the greeting; ``feed`` returns True once, in the frame the beep is confirmed.

    Frames must be whole 20 ms frames (what a :class:`dialer.core.media.MediaLeg` delivers); others
    are skipped.
    """

    def __init__(self, params: BeepParams | None = None) -> None:
        self.params = params or BeepParams()
        self._min_amp = dbm0_to_amplitude(self.params.min_level_dbm0)
        self._run_frames = 0
        self._run_hz = 0.0
        self._frames = 0
        self.found_at_s: float | None = None    # where the beep started, seconds into the stream
        self.frequency_hz: float | None = None
        self._freqs = np.fft.rfftfreq(_FFT, 1 / SAMPLE_RATE)
        half_bin = SAMPLE_RATE / _FFT / 2
        self._band = ((self._freqs >= self.params.min_hz - half_bin)
                      & (self._freqs <= self.params.max_hz + half_bin))
        self._need = max(1, round(self.params.min_ms / 20))

    def feed(self, pcm: bytes) -> bool:
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
        self._frames += 1
        if self.found_at_s is not None or samples.size != FRAME_SAMPLES:
            return False
        hz = self._tone_of(samples)
        if hz is None:
            self._run_frames = 0
            return False
        if self._run_frames and abs(hz - self._run_hz) > self.params.max_drift_hz:
            self._run_frames = 0          # a sweep or a new note, not a steady tone
        if self._run_frames == 0:
            self._run_hz = hz
        self._run_frames += 1
        if self._run_frames >= self._need:
            self.found_at_s = (self._frames - self._run_frames) * FRAME_SAMPLES / SAMPLE_RATE
            self.frequency_hz = hz
            return True
        return False

    def _tone_of(self, samples: np.ndarray) -> float | None:
        if np.sqrt(2 * np.mean(samples * samples)) < self._min_amp:
            return None
        spectrum = np.abs(np.fft.rfft(samples * _WINDOW, _FFT)) ** 2
        total = float(spectrum.sum())
        if total <= 0:
            return None
        peak = int(np.argmax(spectrum))
        if not self._band[peak]:
            return None
        lobe = 2 * _FFT // FRAME_SAMPLES          # Hann main lobe half-width in padded bins
        share = float(spectrum[max(0, peak - 2 * lobe): peak + 2 * lobe + 1].sum()) / total
        if share < self.params.min_peak_share:
            return None
        return float(self._freqs[peak])
