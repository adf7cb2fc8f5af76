"""Answering-machine detection on the first seconds of an answered call.

Modelled on Asterisk's app_amd, whose behaviour telephony admins know and whose
parameters they already tune: the far end's audio is cut into silence and
voice by the mean absolute amplitude of each frame, voice runs of at least
``min_word_ms`` separated by at least ``between_words_silence_ms`` of silence
count as words, and the first rule that fires decides:

- silence for ``initial_silence_ms`` before anyone speaks → MACHINE
  (``INITIALSILENCE``: a machine that waits, or a dead line);
- voice for ``greeting_ms`` in total once talking started → MACHINE
  (``LONGGREETING``: people say "hello?" and wait, machines keep talking);
- ``max_words`` words → MACHINE (``MAXWORDS``);
- one word longer than ``max_word_length_ms`` → MACHINE (``MAXWORDLENGTH``);
- ``after_greeting_silence_ms`` of silence after the greeting started → HUMAN
  (``HUMAN``: they said hello and now wait for us);
- nothing of this within ``total_analysis_ms`` → NOTSURE (``TOOLONG``).

Causes are spelt like app_amd's AMDCAUSE ("LONGGREETING-1500-1500") so logs
read the same. A false MACHINE hangs up on a live person (an abandoned call
under Ofcom's rules), which is why the tuned set leans towards HUMAN/NOTSURE.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum

import numpy as np

from dialer.core.media import FRAME_MS, SAMPLE_RATE


class AmdVerdict(StrEnum):
    HUMAN = "HUMAN"
    MACHINE = "MACHINE"
    NOTSURE = "NOTSURE"


@dataclass(frozen=True)
class AmdParams:
    """app_amd's parameters (milliseconds; threshold on mean |sample| of a frame)."""

    initial_silence_ms: int = 2500
    greeting_ms: int = 1500
    after_greeting_silence_ms: int = 800
    total_analysis_ms: int = 5000
    min_word_ms: int = 100
    between_words_silence_ms: int = 50
    max_words: int = 3
    silence_threshold: int = 256
    max_word_length_ms: int = 5000

    @classmethod
    def from_mapping(cls, values: dict[str, object], where: str = "amd") -> AmdParams:
        """Build from configuration (unknown keys and non-positive numbers are refused by name)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"{where}: unknown AMD parameter(s) {', '.join(unknown)} "
                             f"(known: {', '.join(sorted(known))})")
        clean: dict[str, int] = {}
        for key, value in values.items():
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{where}.{key}: must be a positive whole number, not {value!r}")
            clean[key] = value
        return cls(**clean)


#: Asterisk's shipped amd.conf.
APP_AMD_DEFAULTS = AmdParams()

#: Tuned on the labelled set of ``audio.labelled.amd_openings`` for few false machines:
#: people who say a few words ("Hi, who is this?") are not counted as machines.
TUNED = AmdParams(greeting_ms=2000, max_words=5, between_words_silence_ms=100,
                  after_greeting_silence_ms=700, initial_silence_ms=3500)


@dataclass(frozen=True)
class AmdResult:
    verdict: AmdVerdict
    cause: str               # e.g. "HUMAN-800-800", "LONGGREETING-1500-1500", "TOOLONG-5000"
    decided_ms: int          # audio analysed until the decision (from the answer)

    @property
    def is_machine(self) -> bool:
        return self.verdict is AmdVerdict.MACHINE


class AnsweringMachineDetector:
    """Feed the far end's frames from the answer on; ``feed`` returns the result once, when decided."""

    def __init__(self, params: AmdParams | None = None) -> None:
        self.params = params or APP_AMD_DEFAULTS
        self.result: AmdResult | None = None
        self._total_ms = 0
        self._silence_ms = 0              # current run of silence
        self._voice_ms = 0                # all voice since the start
        self._run_voice_ms = 0            # current run of voice
        self._words = 0
        self._in_word = False
        self._in_initial_silence = True
        self._in_greeting = False

    def feed(self, pcm: bytes) -> AmdResult | None:
        if self.result is not None:
            return None
        samples = np.frombuffer(pcm, dtype="<i2")
        if samples.size == 0:
            return None
        frame_ms = samples.size * 1000 // SAMPLE_RATE or FRAME_MS
        level = float(np.mean(np.abs(samples.astype(np.int32))))
        self.result = self._step(frame_ms, level < self.params.silence_threshold)
        return self.result

    def give_up(self, cause: str = "HANGUP") -> AmdResult:
        """The call ended or the caller stopped waiting: NOTSURE unless already decided."""
        if self.result is None:
            self.result = AmdResult(AmdVerdict.NOTSURE, f"{cause}-{self._total_ms}", self._total_ms)
        return self.result

    def _decide(self, verdict: AmdVerdict, cause: str) -> AmdResult:
        return AmdResult(verdict, cause, self._total_ms)

    def _step(self, frame_ms: int, silent: bool) -> AmdResult | None:
        p = self.params
        self._total_ms += frame_ms
        if self._total_ms >= p.total_analysis_ms:
            return self._decide(AmdVerdict.NOTSURE, f"TOOLONG-{self._total_ms}")
        if silent:
            self._silence_ms += frame_ms
            if self._silence_ms >= p.between_words_silence_ms:
                self._in_word = False
                self._run_voice_ms = 0
            if self._in_initial_silence and self._silence_ms >= p.initial_silence_ms:
                return self._decide(AmdVerdict.MACHINE,
                                    f"INITIALSILENCE-{self._silence_ms}-{p.initial_silence_ms}")
            if self._in_greeting and self._silence_ms >= p.after_greeting_silence_ms:
                return self._decide(AmdVerdict.HUMAN,
                                    f"HUMAN-{self._silence_ms}-{p.after_greeting_silence_ms}")
            return None
        self._run_voice_ms += frame_ms
        self._voice_ms += frame_ms
        if self._run_voice_ms >= p.min_word_ms and not self._in_word:
            self._words += 1
            self._in_word = True
        if self._run_voice_ms >= p.max_word_length_ms:
            return self._decide(AmdVerdict.MACHINE, f"MAXWORDLENGTH-{self._run_voice_ms}")
        if self._words >= p.max_words:
            return self._decide(AmdVerdict.MACHINE, f"MAXWORDS-{self._words}-{p.max_words}")
        if self._in_greeting and self._voice_ms >= p.greeting_ms:
            return self._decide(AmdVerdict.MACHINE, f"LONGGREETING-{self._voice_ms}-{p.greeting_ms}")
        if self._voice_ms >= p.min_word_ms:
            self._silence_ms = 0
        if self._run_voice_ms >= p.min_word_ms:
            self._in_initial_silence = False
            self._in_greeting = True
        return None
