"""Scoring answering-machine detection (and the beep detector) on a labelled set of openings.

Pure: takes :class:`audio.labelled.Opening` values and parameter sets, returns
figures. ``tools/amd_eval.py`` prints them; the tests hold them to floors.
The worst error is a false MACHINE on a person (they are hung up on, which
Ofcom counts as an abandoned call), so it is reported on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from audio.amd import AmdParams, AmdResult, AmdVerdict, AnsweringMachineDetector
from audio.beep import BeepDetector
from audio.convert import decode, encode
from audio.labelled import Opening
from dialer.core.media import FRAME_MS, split_frames


def run_amd(pcm: bytes, params: AmdParams) -> AmdResult:
    detector = AnsweringMachineDetector(params)
    for frame in split_frames(pcm):
        result = detector.feed(frame)
        if result is not None:
            return result
    return detector.give_up("ENDOFAUDIO")


def find_beep(pcm: bytes, after_ms: int = 0) -> float | None:
    """Seconds into ``pcm`` where a beep starts, looking only after ``after_ms``."""
    detector = BeepDetector()
    skip = after_ms // FRAME_MS
    frames = split_frames(pcm)
    for frame in frames[skip:]:
        if detector.feed(frame):
            assert detector.found_at_s is not None
            return detector.found_at_s + skip * FRAME_MS / 1000
    return None


def ulaw(pcm: bytes) -> bytes:
    """Through a G.711 u-law line and back, as a trunk would deliver it."""
    return decode(encode(pcm, "ulaw"), "ulaw")


def correct(truth: str, verdict: AmdVerdict) -> bool:
    """Humans must be HUMAN, machines MACHINE; nobody there (silence, noise) is fine as anything but HUMAN."""
    if truth == "human":
        return verdict is AmdVerdict.HUMAN
    if truth == "machine":
        return verdict is AmdVerdict.MACHINE
    return verdict is not AmdVerdict.HUMAN


@dataclass
class AmdScore:
    name: str
    cases: int = 0
    right: int = 0
    humans: int = 0
    false_machine: int = 0          # a person called MACHINE: hung up on
    human_notsure: int = 0
    machines: int = 0
    missed_machine: int = 0         # a machine called HUMAN: an agent gets a voicemail
    decision_ms: list[int] = field(default_factory=list)
    beeps: int = 0
    beeps_found: int = 0
    beep_error_ms: list[float] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.right / self.cases if self.cases else 0.0

    @property
    def false_machine_rate(self) -> float:
        return self.false_machine / self.humans if self.humans else 0.0

    @property
    def missed_machine_rate(self) -> float:
        return self.missed_machine / self.machines if self.machines else 0.0

    @property
    def mean_decision_ms(self) -> float:
        return sum(self.decision_ms) / len(self.decision_ms) if self.decision_ms else 0.0


def score(name: str, openings: Sequence[Opening], params: AmdParams, through_ulaw: bool = True) -> AmdScore:
    out = AmdScore(name)
    for opening in openings:
        pcm = ulaw(opening.pcm) if through_ulaw else opening.pcm
        result = run_amd(pcm, params)
        out.cases += 1
        out.decision_ms.append(result.decided_ms)
        if correct(opening.truth, result.verdict):
            out.right += 1
        else:
            out.wrong.append(f"{opening.name}: {result.verdict} {result.cause}")
        if opening.truth == "human":
            out.humans += 1
            out.false_machine += result.verdict is AmdVerdict.MACHINE
            out.human_notsure += result.verdict is AmdVerdict.NOTSURE
        elif opening.truth == "machine":
            out.machines += 1
            out.missed_machine += result.verdict is AmdVerdict.HUMAN
            if opening.beep_at_s is not None:
                out.beeps += 1
                found = find_beep(pcm, after_ms=result.decided_ms)
                if found is not None:
                    out.beeps_found += 1
                    out.beep_error_ms.append(abs(found - opening.beep_at_s) * 1000)
    return out
