"""Scenario files for ``callpact simulate``: one working day of a simulated call centre.

The format is small, documented in ``docs/simulate.md`` and kept stable; it is
read as strictly as a campaign (unknown keys, bad values, bad schedules are
errors naming the file, line and key path)::

    seed: 7
    duration_s: 28800            # one 8-hour day (also "8h")
    agents: 20                   # or [{at_s: 0, agents: 20}, {at_s: 14400, agents: 12}, ...]
    answer_prob: 0.30            # or [{at_s: 0, p: 0.20}, {at_s: 14400, p: 0.35}]
    machine_share: 0.15          # share of answers that are machines; AMD decides after amd_s
    amd_s: 2.5
    ring_s: {dist: lognormal, mean: 14, sd: 6}   # dial to answer, for calls that will be answered
    no_answer_timeout_s: 25
    talk_s: {dist: lognormal, mean: 120, sd: 70}
    wrap_s: {dist: fixed, mean: 10}
    patience_s: 2                # a live answer waits this long for an agent, then is abandoned
    abandon_limit: 0.03
    lines: 300                   # max concurrent outbound calls
    cps: 20                      # max originations per second

A :class:`Scenario` maps onto the simulator's parts: a
:class:`~sip.simulated.NetworkProfile` (no busy or failed calls, no call
set-up delay, AMD always right), a :class:`~sip.simulated.SimulatedAgents`
desk whose staffing follows the ``agents`` schedule, and a campaign
configuration (always-open calling hours, no jurisdiction) carrying the pacing
limits: ``ring_timeout = no_answer_timeout_s``, ``agent_patience = patience_s``,
``max_abandon_rate = abandon_limit``, ``max_lines = lines``,
``calls_per_second = cps``, dial level 1 to :data:`~dialer.pacing.settings.MAX_DIAL_LEVEL`, the
most a campaign may set, so the lines and calls per second are the limits that bind.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dialer.campaign import MIN_RING_S, CampaignConfig, parse_campaign
from dialer.core.errors import ConfigError
from dialer.core.yamlconf import Section, load_yaml, load_yaml_text
from dialer.pacing.settings import LEGAL_MAX_ABANDON_RATE, MAX_AGENT_PATIENCE_S, MAX_DIAL_LEVEL
from dialer.simulation.always_open import always_open_campaign
from sip.distributions import Distribution, Fixed, parse_distribution
from sip.simulated import NetworkProfile, Piecewise, SimulatedAgents

__all__ = ["MAX_DIAL_LEVEL", "SCENARIO_KEYS", "Scenario", "load_scenario", "parse_scenario"]

CAMPAIGN_NAME = "simulate"
MAX_RING_TIMEOUT_S = 120.0
MAX_DURATION_S = 7 * 86400.0

SCENARIO_KEYS = ("seed", "duration_s", "agents", "answer_prob", "machine_share", "amd_s", "ring_s",
                 "no_answer_timeout_s", "talk_s", "wrap_s", "patience_s", "abandon_limit", "lines", "cps",
                 "amd_false_machine")

_AGENTS_HINT = ("a number of agents like 20, or a schedule like "
                "[{at_s: 0, agents: 20}, {at_s: 4h, agents: 12}]")
_PROB_HINT = "a probability like 0.30, or steps like [{at_s: 0, p: 0.20}, {at_s: 4h, p: 0.35}]"


@dataclass(frozen=True)
class Scenario:
    """One validated scenario; durations in seconds."""

    seed: int
    duration_s: float
    agents: tuple[tuple[float, int], ...]      # (at_s, logged-in agents) steps; the first at 0
    answer_prob: float | Piecewise
    machine_share: float
    amd_s: Distribution
    ring_s: Distribution
    no_answer_timeout_s: float
    talk_s: Distribution
    wrap_s: Distribution
    patience_s: float
    abandon_limit: float
    lines: int
    cps: float
    amd_false_machine: float = 0.0             # share of people AMD takes for machines (Ofcom: abandoned)
    name: str = "scenario"
    source: str = ""

    # -- derived ---------------------------------------------------------------------------------
    @property
    def initial_agents(self) -> int:
        return self.agents[0][1]

    @property
    def max_agents(self) -> int:
        return max(n for _, n in self.agents)

    def answer_prob_at(self, elapsed_s: float) -> float:
        if isinstance(self.answer_prob, Piecewise):
            return self.answer_prob.at(elapsed_s)
        return self.answer_prob

    def describe(self) -> str:
        """One line for table titles."""
        if len(self.agents) == 1:
            agents = f"{self.initial_agents} agents"
        else:
            agents = "agents " + "→".join(str(n) for _, n in self.agents)
        if isinstance(self.answer_prob, Piecewise):
            answer = "answer " + "→".join(f"{p:.0%}" for p in self.answer_prob.values())
        else:
            answer = f"answer {self.answer_prob:.0%}"
        amd = (f" (AMD takes {self.amd_false_machine:.1%} of people for machines)"
               if self.amd_false_machine else "")
        return (f"{self.name}: {self.duration_s / 3600:g} h, {agents}, {answer}, "
                f"machines {self.machine_share:.0%}{amd}, talk {self.talk_s.describe()}, "
                f"abandon limit {self.abandon_limit:.1%}, seed {self.seed}")

    # -- the simulator's parts -------------------------------------------------------------------
    def network_profile(self) -> NetworkProfile:
        """The phone network: only ringing, answers (people or machines) and no-answers."""
        return NetworkProfile(
            answer_prob=self.answer_prob,
            machine_share=self.machine_share,
            amd_s=self.amd_s,
            ring_s=self.ring_s,
            busy_prob=0.0,
            failed_prob=0.0,
            setup_s=Fixed(0.0),           # ring_s is counted from the dial
            amd_false_machine=self.amd_false_machine,
            amd_false_human=0.0,
        )

    def agent_desk(self) -> SimulatedAgents:
        """The desk at the start of the day; :meth:`schedule_agents` applies later steps."""
        return SimulatedAgents(self.initial_agents, self.talk_s, self.wrap_s, seed=self.seed)

    def schedule_agents(self, desk: SimulatedAgents, start_loop: float) -> list[asyncio.TimerHandle]:
        """Apply the staffing steps after the first at ``start_loop + at_s`` (in the running loop)."""
        loop = asyncio.get_running_loop()
        return [loop.call_at(start_loop + at, desk.set_logged_in, n) for at, n in self.agents[1:]]

    def campaign_text(self) -> str:
        """A campaign YAML for the engine: no jurisdiction, always open, the scenario's limits."""
        return always_open_campaign(
            CAMPAIGN_NAME, dial_mode="predictive", max_abandon_rate=self.abandon_limit, abandon_window="24h",
            max_dial_level=MAX_DIAL_LEVEL, max_lines=self.lines, calls_per_second=self.cps,
            ring_timeout=self.no_answer_timeout_s, agent_patience=self.patience_s,
            amd_false_machine_rate=self.amd_false_machine or None,
            attempts={"max_per_day": 100, "max_per_week": 500, "max_total": 10000, "min_gap": 0})

    def campaign(self) -> CampaignConfig:
        return parse_campaign(self.campaign_text(), f"{self.source or self.name} (simulated campaign)")


# -- reading -----------------------------------------------------------------------------------------

def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    return _build(load_yaml(path), str(path), path.stem)


def parse_scenario(text: str, source: str = "scenario", name: str | None = None) -> Scenario:
    return _build(load_yaml_text(text, source), source, name or Path(source).stem or "scenario")


def _build(data: Any, source: str, name: str) -> Scenario:
    top = Section(data, source)
    seed = top.number("seed", 1, minimum=0, integer=True)
    duration = top.duration("duration_s", minimum=60, maximum=MAX_DURATION_S)
    agents = _read_agents(top, duration)
    answer = _read_answer_prob(top, duration)
    machine = top.number("machine_share", 0.0, minimum=0, maximum=1)
    amd = _distribution(top, "amd_s", Fixed(0.0))
    ring = _distribution(top, "ring_s")
    timeout = top.duration("no_answer_timeout_s", 25.0, maximum=MAX_RING_TIMEOUT_S)
    if timeout < MIN_RING_S:
        raise top.error("no_answer_timeout_s", f"{timeout:g}s is too short: a campaign lets a phone ring at "
                                               f"least {MIN_RING_S:g}s before giving up, so a simulation "
                                               f"with less would show a dialer that cannot be run")
    talk = _distribution(top, "talk_s")
    wrap = _distribution(top, "wrap_s", Fixed(0.0))
    patience = top.duration("patience_s", MAX_AGENT_PATIENCE_S)
    if not 0 < patience <= MAX_AGENT_PATIENCE_S:
        raise top.error("patience_s", f"must be more than 0s and at most {MAX_AGENT_PATIENCE_S:g}s, not "
                                      f"{patience:g}s: a person who answers must hear an agent or the "
                                      f"information message within 2 s (Ofcom, FCC), and a campaign "
                                      f"refuses more")
    limit = top.number("abandon_limit", LEGAL_MAX_ABANDON_RATE, maximum=LEGAL_MAX_ABANDON_RATE)
    if limit <= 0:
        raise top.error("abandon_limit", f"must be more than 0, not {limit:g}")
    lines = top.number("lines", 300, minimum=1, maximum=10000, integer=True)
    cps = top.number("cps", 20.0, maximum=1000)
    if cps <= 0:
        raise top.error("cps", f"must be more than 0, not {cps:g}")
    false_machine = top.number("amd_false_machine", 0.0, minimum=0, maximum=1)
    if false_machine >= limit:
        raise top.error("amd_false_machine", f"{false_machine:g} is not below abandon_limit {limit:g}: every "
                                             f"person AMD takes for a machine counts as abandoned (Ofcom), "
                                             f"so these alone would break the limit")
    top.finish(SCENARIO_KEYS)
    return Scenario(
        seed=seed, duration_s=duration, agents=agents, answer_prob=answer, machine_share=machine,
        amd_s=amd, ring_s=ring, no_answer_timeout_s=timeout, talk_s=talk, wrap_s=wrap,
        patience_s=patience, abandon_limit=limit, lines=lines, cps=cps, amd_false_machine=false_machine,
        name=name, source=source,
    )


def _distribution(top: Section, key: str, default: Distribution | None = None) -> Distribution:
    if default is not None and not top.has(key):
        return default
    value = top.raw(key)
    if isinstance(value, Mapping) and value.get("dist") == "fixed" and "mean" in value:
        # ``{dist: fixed, mean: 10}`` (the spelling) next to ``{dist: fixed, value: 10}``.
        sub = Section(value, top.source, top.key_path(key))
        if not getattr(value, "key_lines", None):
            sub._line = top._lines.get(key)
        sub.choice("dist", ["fixed"])
        seconds = sub.duration("mean", minimum=0)
        sub.finish(("dist", "mean"))
        return Fixed(seconds)
    return parse_distribution(value, top, key)


def _steps(top: Section, key: str, value_key: str, hint: str, duration: float,
           read_value: Any) -> list[tuple[float, Any]]:
    value = top.raw(key)
    if not isinstance(value, list) or not value:
        raise top.error(key, f"must be {hint}")
    steps: list[tuple[float, Any]] = []
    for i, item in enumerate(value):
        sub_key = f"{key}[{i}]"
        if not isinstance(item, Mapping):
            raise ConfigError(f"{top.key_path(sub_key)}: must be a mapping like "
                              f"{{at_s: 0, {value_key}: ...}}", where=top.where(key))
        sub = Section(item, top.source, top.key_path(sub_key))
        if not getattr(item, "key_lines", None):
            sub._line = top._lines.get(key)
        at = sub.duration("at_s", minimum=0)
        got = read_value(sub)
        sub.finish(("at_s", value_key))
        if i == 0 and at != 0:
            raise sub.error("at_s", f"the first step must be at_s: 0 (the start of the day), not {at:g}s")
        if steps and at <= steps[-1][0]:
            raise sub.error("at_s", f"steps must be in increasing time order; {at:g}s is not after "
                                    f"{steps[-1][0]:g}s")
        if at >= duration:
            raise sub.error("at_s", f"{at:g}s is not within the run (duration_s {duration:g}s)")
        steps.append((at, got))
    return steps


def _read_agents(top: Section, duration: float) -> tuple[tuple[float, int], ...]:
    if not top.has("agents"):
        top.raw("agents")                       # the "required key is missing" error
    value = top._data["agents"]
    if isinstance(value, bool) or not isinstance(value, int | float | list):
        raise top.error("agents", f"must be {_AGENTS_HINT}")
    if not isinstance(value, list):
        n = top.number("agents", minimum=1, maximum=10000, integer=True)
        return ((0.0, n),)
    steps = _steps(top, "agents", "agents", _AGENTS_HINT, duration,
                   lambda sub: sub.number("agents", minimum=0, maximum=10000, integer=True))
    if not any(n > 0 for _, n in steps):
        raise ConfigError("agents: at least one step must have agents logged in", where=top.where("agents"))
    return tuple((at, int(n)) for at, n in steps)


def _read_answer_prob(top: Section, duration: float) -> float | Piecewise:
    if not top.has("answer_prob"):
        top.raw("answer_prob")
    value = top._data["answer_prob"]
    if isinstance(value, list):
        steps = _steps(top, "answer_prob", "p", _PROB_HINT, duration,
                       lambda sub: sub.number("p", minimum=0, maximum=1))
        return Piecewise(steps)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise top.error("answer_prob", f"must be {_PROB_HINT}")
    return top.number("answer_prob", minimum=0, maximum=1)
