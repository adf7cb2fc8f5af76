"""The limits pacing keeps and the campaign's ``pacing:`` settings, free of any campaign I/O.

Pacing is pure (the engine and the simulator feed it); it needs to know the legal
abandon limit, how Ofcom counts answering-machine detection's mistakes, and the
knobs a supervisor sets, but not how a campaign file is read. The reading and
checking of the ``pacing:`` section stays in :mod:`dialer.campaign`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "DEFAULT_ABANDON_MESSAGE",
    "HOURLY_CAPS",
    "HOURLY_CAP_MIN_AGENTS",
    "LEGAL_MAX_ABANDON_RATE",
    "MAX_AGENT_PATIENCE_S",
    "MAX_DIAL_LEVEL",
    "PacingConfig",
    "amd_false_positives",
    "ofcom_abandon_rate",
]

LEGAL_MAX_ABANDON_RATE = 0.03
MAX_AGENT_PATIENCE_S = 2.0
MAX_DIAL_LEVEL = 10.0          # the most lines per logged-in agent a campaign's dial_level may allow

# Plain (B1) language; neutral about the reason for the call, because whoever
# answers may not be the debtor. Supervisors should add who is calling.
DEFAULT_ABANDON_MESSAGE: dict[str, str] = {
    "nl": "Goedendag. Wij belden u net, maar er is nu geen medewerker vrij. "
          "Wij bellen u later nog een keer. U kunt ons ook zelf bellen op {caller_id}. Dank u wel.",
    "en": "Hello. We just called you, but no one is free to talk right now. "
          "We will call you again later. You can also call us back on {caller_id}. Thank you.",
}
#: ``pacing.hourly_cap``: whether each clock hour, not only the legal window, is held to the limit.
HOURLY_CAPS = ("auto", "always", "never")
#: ``auto`` holds the hours (after the first) once this many agents have been logged in at once.
HOURLY_CAP_MIN_AGENTS = 20


@dataclass(frozen=True)
class PacingConfig:
    max_abandon_rate: float = LEGAL_MAX_ABANDON_RATE
    abandon_window_s: float = 24 * 3600.0
    min_dial_level: float = 1.0
    max_dial_level: float = 3.0
    ratio: float = 1.5
    max_lines: int = 50
    calls_per_second: float = 5.0
    ring_timeout_s: float = 25.0
    agent_patience_s: float = MAX_AGENT_PATIENCE_S
    abandon_message: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_ABANDON_MESSAGE))
    hourly_cap: str = "auto"            # hold each clock hour to the limit too: auto | always | never
    amd_false_machine_rate: float = 0.0  # share of live people AMD takes for a machine (Ofcom counts them)

    @property
    def pacing_abandon_rate(self) -> float:
        """The abandons per live answer *seen* that pacing may spend.

        Ofcom counts a live person whom answering-machine detection took for a machine (and
        played the voicemail message, or hung up on) as an abandoned call, on a reasoned estimate.
        With ``r`` the share of people AMD takes for machines, ``L`` people reached an agent or
        the information message and ``A`` of them were abandoned, the false positives are
        ``F = L·r/(1 − r)`` and the legal rate is ``(A + F) / (L + F)``. That stays within the
        limit ``c`` exactly while ``A/L ≤ (c − r)/(1 − r)``: the budget pacing steers by.
        """
        r = self.amd_false_machine_rate
        return (self.max_abandon_rate - r) / (1.0 - r)


def amd_false_positives(live_answers: float, false_machine_rate: float) -> float:
    """Ofcom's reasoned estimate of the live people AMD took for machines, beside ``live_answers``
    people it passed on as people (see :attr:`PacingConfig.pacing_abandon_rate`)."""
    return live_answers * false_machine_rate / (1.0 - false_machine_rate)


def ofcom_abandon_rate(live_answers: int, abandoned: int, false_machine_rate: float) -> float:
    """The abandon rate as Ofcom counts it: the estimated AMD false positives are abandoned live calls."""
    f = amd_false_positives(live_answers, false_machine_rate)
    return (abandoned + f) / (live_answers + f) if live_answers else 0.0
