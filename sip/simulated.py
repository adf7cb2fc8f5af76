"""A simulated telephone network and agent desk behind the :mod:`dialer.core.telephony` interface.

Three users drive it: the demo campaign (a whole working day in virtual time),
``callpact simulate`` (several pacing policies compared on one scenario) and
real-time runs. So:

* Time comes only from the running event loop (``loop.time()``,
  ``loop.call_at``, futures): a virtual-time loop jumps straight to the next
  timer and the same code runs unchanged in real time. Event ``at`` fields and
  the agents' time accounting use the *scheduled* instant rather than the
  moment a callback happened to run, so integrals are exact in real time too.
* Every random fate of a call is drawn at originate time from a stream seeded by
  ``(seed, number, variables["debtor_attempt"])``. The same debtor attempt thus
  meets the same fate (busy, ring time, human or machine, patience...) under any
  pacing policy — common random numbers, which is what makes a policy
  comparison on one scenario meaningful rather than noise. Agent talk and wrap
  times come from the desk's own seeded streams, one each (the n-th connection
  of a run gets the n-th talk time, the n-th wrap-up the n-th wrap time).

People asked a question (:meth:`SimulatedCall.listen`) answer by keypad or, when
the question has a grammar, by voice (``voice_share``), from the call's own
stream too; a :class:`Respondent` given to the network may answer instead (the
demo's simulated debtors understand the flow's menus). Some debtors whose call
they missed (no answer, busy, machine) call back later (``callback_prob``,
``callback_delay_s``) as inbound calls to the campaign's caller ID, handed to
the network's inbound handler; whether and when is drawn from the attempt's
stream as well.

Simplifications worth knowing: one agent pool serves every queue; AMD is right
unless ``amd_false_machine``/``amd_false_human`` say otherwise; a person's
patience (``human_hangup_s``) runs from the ANSWERED event while nobody talks to
them, including while they wait in the agent queue.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any, Protocol

from dialer.core.errors import ConfigError
from dialer.core.telephony import (
    AgentDesk,
    AgentSnapshot,
    AnsweredBy,
    Call,
    CallEvent,
    CallEventKind,
    Grammar,
    HangupCause,
    Heard,
    HeardKind,
    Inbound,
    OriginateError,
    OriginateRequest,
    PlayResult,
    Prompt,
    Telephony,
)
from dialer.core.yamlconf import Section
from sip.distributions import (
    Distribution,
    LogNormal,
    Uniform,
    as_distribution,
    read_distribution,
)

__all__ = [
    "AgentStats",
    "Fate",
    "FateKind",
    "NetworkProfile",
    "Piecewise",
    "Question",
    "Respondent",
    "SimulatedAgents",
    "SimulatedCall",
    "SimulatedNetwork",
    "prompt_duration",
]

PCM_BYTES_PER_S = 16000  # 8 kHz, 16-bit mono, as Prompt.audio is specified


# --------------------------------------------------------------------------- profile


@dataclass(frozen=True)
class Piecewise:
    """A step function of seconds since the network started.

    Lets a scenario say "answer rates are low in the morning and rise after
    17:00" without a model: ``Piecewise([(0, 0.25), (36000, 0.4)])``. Before the
    first step the first value holds.
    """

    steps: tuple[tuple[float, float], ...]

    def __init__(self, steps: Sequence[tuple[float, float]]) -> None:
        clean = tuple((float(at), float(value)) for at, value in steps)
        if not clean:
            raise ValueError("a piecewise value needs at least one (at_s, value) step")
        for (a, _), (b, _) in itertools.pairwise(clean):
            if b <= a:
                raise ValueError(f"step times must increase: {b:g}s comes after {a:g}s")
        object.__setattr__(self, "steps", clean)

    def at(self, elapsed_s: float) -> float:
        value = self.steps[0][1]
        for at_s, step_value in self.steps:
            if at_s > elapsed_s:
                break
            value = step_value
        return value

    def values(self) -> tuple[float, ...]:
        return tuple(value for _, value in self.steps)


def _check_prob(name: str, value: float) -> None:
    if not (0.0 <= value <= 1.0):
        raise ValueError(f"{name} must be between 0 and 1, not {value!r}")


# Defaults (module constants: frozen, shared safely by every profile)
_DEFAULT_AMD_S = Uniform(2.0, 4.0)
_DEFAULT_RING_S = LogNormal(10.0, 5.0)
_DEFAULT_SETUP_S = Uniform(0.3, 1.0)
_DEFAULT_INVALID_S = Uniform(0.5, 1.5)
_DEFAULT_HUMAN_HANGUP_S = Uniform(5.0, 15.0)
_DEFAULT_MACHINE_HANGUP_S = Uniform(15.0, 25.0)
_DEFAULT_MACHINE_TALK_S = Uniform(3.0, 8.0)
_DEFAULT_KEYPAD_S = Uniform(0.8, 2.5)
_DEFAULT_KEYPAD = tuple((d, 1.0) for d in "0123456789")
_DEFAULT_CALLBACK_DELAY_S = LogNormal(2400.0, 1800.0)


@dataclass(frozen=True)
class NetworkProfile:
    """How the simulated world answers the phone.

    Probabilities are conditional, in this order: ``failed_prob`` of all
    attempts to valid numbers; ``busy_prob`` of the rest; ``answer_prob`` of
    those that ring (a drawn ``ring_s`` beyond the request's ring timeout still
    turns an answer into NO_ANSWER); ``machine_share`` of answers. Durations
    accept a plain number of seconds (fixed).
    """

    answer_prob: float | Piecewise = 0.35
    machine_share: float = 0.25
    amd_s: Distribution = _DEFAULT_AMD_S                            # after the answer, before ANSWERED
    ring_s: Distribution = _DEFAULT_RING_S                          # RINGING to answer, for calls that answer
    busy_prob: float = 0.05
    failed_prob: float = 0.02
    setup_s: Distribution = _DEFAULT_SETUP_S                        # originate to RINGING (or BUSY/FAILED)
    invalid_numbers: frozenset[str] = frozenset()
    invalid_s: Distribution = _DEFAULT_INVALID_S                    # originate to HANGUP INVALID_NUMBER
    human_hangup_s: Distribution = _DEFAULT_HUMAN_HANGUP_S          # patience of a person nobody talks to
    machine_hangup_s: Distribution = _DEFAULT_MACHINE_HANGUP_S      # answer to hangup: greeting + beep
    machine_talk_s: Distribution = _DEFAULT_MACHINE_TALK_S          # agent time lost on a machine AMD passed
    amd_false_machine: float = 0.0                                  # share of people AMD reports as MACHINE
    amd_false_human: float = 0.0                                    # share of machines AMD reports as HUMAN
    prompt_words_per_s: float = 2.5
    # When a person is asked for keys: which (key -> weight; a mapping is accepted), how often
    # they give none, and how long each press takes.
    keypad: tuple[tuple[str, float], ...] = _DEFAULT_KEYPAD
    keypad_no_input: float = 0.15
    keypad_s: Distribution = _DEFAULT_KEYPAD_S
    # Asked with a grammar, how often a person answers by voice rather than by keypad.
    voice_share: float = 0.3
    # Of interruptible prompts, how often a person presses a key before the prompt ends (barge-in).
    barge_in_share: float = 0.0
    # Debtors whose call was missed (no answer, busy, machine) who call back, and after how long.
    callback_prob: float = 0.0
    callback_delay_s: Distribution = _DEFAULT_CALLBACK_DELAY_S

    def __post_init__(self) -> None:
        for name in ("amd_s", "ring_s", "setup_s", "invalid_s", "human_hangup_s",
                     "machine_hangup_s", "machine_talk_s", "keypad_s", "callback_delay_s"):
            object.__setattr__(self, name, as_distribution(getattr(self, name)))
        pairs = tuple(self.keypad.items() if isinstance(self.keypad, Mapping) else self.keypad)
        if not pairs or any(len(d) != 1 or d not in "0123456789*#" or w < 0 for d, w in pairs) \
                or sum(w for _, w in pairs) <= 0:
            raise ValueError(f"keypad must map DTMF keys to non-negative weights, not {self.keypad!r}")
        object.__setattr__(self, "keypad", pairs)
        object.__setattr__(self, "invalid_numbers", frozenset(self.invalid_numbers))
        if isinstance(self.answer_prob, Piecewise):
            for value in self.answer_prob.values():
                _check_prob("answer_prob", value)
        else:
            object.__setattr__(self, "answer_prob", float(self.answer_prob))
            _check_prob("answer_prob", self.answer_prob)
        for name in ("machine_share", "busy_prob", "failed_prob", "amd_false_machine",
                     "amd_false_human", "keypad_no_input", "voice_share", "callback_prob", "barge_in_share"):
            _check_prob(name, getattr(self, name))
        if not (self.prompt_words_per_s > 0 and math.isfinite(self.prompt_words_per_s)):
            raise ValueError(f"prompt_words_per_s must be > 0, not {self.prompt_words_per_s!r}")

    def answer_prob_at(self, elapsed_s: float) -> float:
        if isinstance(self.answer_prob, Piecewise):
            return self.answer_prob.at(elapsed_s)
        return self.answer_prob

    @classmethod
    def from_section(cls, section: Section) -> NetworkProfile:
        """Read a scenario's ``network:`` mapping; every key is optional, unknown keys are errors.

        ``answer_prob`` is a number or a list of ``{at: 2h, value: 0.4}`` steps
        (``at`` is time since the start of the run); ``invalid_numbers`` is a
        list of E.164 numbers; durations are numbers, ``"90s"``-style strings or
        distributions (see :func:`sip.distributions.parse_distribution`).
        """
        defaults = cls()
        kwargs: dict[str, Any] = {}
        if section.has("answer_prob"):
            kwargs["answer_prob"] = _read_prob_or_steps(section, "answer_prob")
        for name in ("machine_share", "busy_prob", "failed_prob", "amd_false_machine",
                     "amd_false_human", "keypad_no_input", "voice_share", "callback_prob", "barge_in_share"):
            kwargs[name] = section.number(name, getattr(defaults, name), minimum=0, maximum=1)
        if section.has("keypad"):
            keys = section.section("keypad")
            weights = {d: keys.number(d, minimum=0) for d in keys.remaining_keys()
                       if d in "0123456789*#" and len(d) == 1}
            keys.finish(allowed_hint=list("0123456789*#"))
            if not weights or sum(weights.values()) <= 0:
                raise section.error("keypad", "give at least one key a weight above 0")
            kwargs["keypad"] = tuple(weights.items())
        for name in ("amd_s", "ring_s", "setup_s", "invalid_s", "human_hangup_s",
                     "machine_hangup_s", "machine_talk_s", "keypad_s", "callback_delay_s"):
            kwargs[name] = read_distribution(section, name, getattr(defaults, name))
        kwargs["invalid_numbers"] = frozenset(section.items(
            "invalid_numbers",
            lambda path, v: _e164(section, path, v),
            [],
        ))
        kwargs["prompt_words_per_s"] = section.number(
            "prompt_words_per_s", defaults.prompt_words_per_s, minimum=0.1)
        section.finish(allowed_hint=[f.name for f in fields(cls)])
        return cls(**kwargs)


def _e164(section: Section, path: str, value: Any) -> str:
    if not isinstance(value, str) or not value.startswith("+") or not value[1:].isdigit():
        raise ConfigError(f"{section.key_path(path)}: {value!r} is not an E.164 number like +31612345678",
                          where=section.where("invalid_numbers"))
    return value


def _read_prob_or_steps(section: Section, key: str) -> float | Piecewise:
    value = section.raw(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not 0 <= value <= 1:
            raise section.error(key, f"must be between 0 and 1, not {value:g}")
        return float(value)
    if not isinstance(value, list) or not value:
        raise section.error(key, "must be a probability like 0.35 or a list of {at: 2h, value: 0.4} steps")
    steps: list[tuple[float, float]] = []
    for i, item in enumerate(value):
        sub_key = f"{key}[{i}]"
        if not isinstance(item, Mapping):
            raise section.error(sub_key, "must be a mapping like {at: 2h, value: 0.4}")
        sub = Section(item, section.source, section.key_path(sub_key))
        at = sub.duration("at", minimum=0)
        prob = sub.number("value", minimum=0, maximum=1)
        sub.finish(allowed_hint=("at", "value"))
        if steps and at <= steps[-1][0]:
            raise sub.error("at", f"steps must be in increasing time order; {at:g}s is not after "
                                  f"{steps[-1][0]:g}s")
        steps.append((at, prob))
    return Piecewise(steps)


# --------------------------------------------------------------------------- people answering


@dataclass(frozen=True)
class Question:
    """What a simulated person is asked: the arguments of :meth:`Call.listen`, and what they heard last."""

    grammar: Grammar | None
    language: str
    max_digits: int
    terminator: str | None
    timeout_s: float
    last_prompt: str


class Respondent(Protocol):
    def answer(self, question: Question, rng: random.Random) -> Heard | None:
        """How a person answers ``question`` (draws only from ``rng``); None: the default behaviour."""
        ...

    def interrupt(self, prompt_text: str, rng: random.Random) -> str | None:
        """The key a person presses to cut ``prompt_text`` short (barge-in); None: no key fits."""
        ...


# --------------------------------------------------------------------------- fate


class FateKind(StrEnum):
    INVALID = "invalid"
    FAILED = "failed"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    ANSWERED = "answered"


@dataclass(frozen=True)
class Fate:
    """Everything random about one call attempt, drawn at originate time.

    Exposed on :attr:`SimulatedCall.fate` so a benchmark can check that two
    policies really gave a debtor attempt the same fate.
    """

    kind: FateKind
    setup_s: float
    ring_s: float                      # drawn time to answer (meaningful when kind is ANSWERED)
    amd_s: float
    truth: AnsweredBy | None           # who really answered
    reported: AnsweredBy | None        # what AMD says (answered_by of the ANSWERED event)
    human_patience_s: float
    machine_hangup_s: float
    machine_talk_s: float
    invalid_s: float


def draw_fate(profile: NetworkProfile, rng: random.Random, *, number: str, answer_prob: float,
              ring_timeout_s: float) -> Fate:
    """Draw a fate; the draws happen in a fixed order whatever the outcome (stable streams)."""
    u_failed, u_busy, u_answer, u_machine, u_amd = (rng.random() for _ in range(5))
    setup = profile.setup_s.sample(rng)
    ring = profile.ring_s.sample(rng)
    amd = profile.amd_s.sample(rng)
    patience = profile.human_hangup_s.sample(rng)
    machine_hangup = profile.machine_hangup_s.sample(rng)
    machine_talk = profile.machine_talk_s.sample(rng)
    invalid = profile.invalid_s.sample(rng)

    truth: AnsweredBy | None = None
    reported: AnsweredBy | None = None
    if number in profile.invalid_numbers:
        kind = FateKind.INVALID
    elif u_failed < profile.failed_prob:
        kind = FateKind.FAILED
    elif u_busy < profile.busy_prob:
        kind = FateKind.BUSY
    elif u_answer < answer_prob and ring <= ring_timeout_s:
        kind = FateKind.ANSWERED
        truth = AnsweredBy.MACHINE if u_machine < profile.machine_share else AnsweredBy.HUMAN
        if truth is AnsweredBy.HUMAN:
            reported = AnsweredBy.MACHINE if u_amd < profile.amd_false_machine else AnsweredBy.HUMAN
        else:
            reported = AnsweredBy.HUMAN if u_amd < profile.amd_false_human else AnsweredBy.MACHINE
    else:
        kind = FateKind.NO_ANSWER
    return Fate(kind=kind, setup_s=setup, ring_s=ring, amd_s=amd, truth=truth, reported=reported,
                human_patience_s=patience, machine_hangup_s=machine_hangup,
                machine_talk_s=machine_talk, invalid_s=invalid)


def prompt_duration(prompt: Prompt, words_per_s: float) -> float:
    """Seconds a prompt takes to say: its audio length when rendered, else its word count."""
    if prompt.audio is not None:
        return len(prompt.audio) / PCM_BYTES_PER_S
    return len(prompt.text.split()) / words_per_s


# --------------------------------------------------------------------------- agents


def _loop_time_if_running() -> float | None:
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return None


_IDLE, _TALKING, _WRAPPING = "idle", "talking", "wrapping"


@dataclass(eq=False)
class _Waiter:
    """A call waiting for (or given) an agent."""

    future: asyncio.Future[str | None]
    enqueued_at: float
    talk_s: float | None
    on_assign: Callable[[str, float], None] | None
    on_talk_end: Callable[[float], None] | None
    timer: asyncio.TimerHandle | None = None
    agent: _Agent | None = None


@dataclass(eq=False)
class _Agent:
    agent_id: str
    state: str
    since: float
    leaving: bool = False
    waiter: _Waiter | None = None
    handle: asyncio.TimerHandle | None = None


@dataclass(frozen=True)
class AgentStats:
    """Time integrals over the run so far (seconds of agent time) and connection counts."""

    logged_in_s: float
    idle_s: float
    talk_s: float
    wrap_s: float
    connections: int
    gave_up: int                       # calls whose patience ran out in the queue
    idle_spells: tuple[float, ...]     # each agent's idle wait before each connection
    call_waits: tuple[float, ...]      # each connected call's wait in the queue

    @property
    def utilisation(self) -> float:
        """Talk time / logged-in time: the figure pacing is judged on."""
        return self.talk_s / self.logged_in_s if self.logged_in_s else 0.0

    @property
    def occupancy(self) -> float:
        """(Talk + wrap) / logged-in time."""
        return (self.talk_s + self.wrap_s) / self.logged_in_s if self.logged_in_s else 0.0

    @property
    def mean_idle_spell_s(self) -> float:
        return sum(self.idle_spells) / len(self.idle_spells) if self.idle_spells else 0.0


class SimulatedAgents(AgentDesk):
    """A pool of agents: idle, talking or wrapping up; serves waiting calls FIFO.

    The longest-idle agent takes the longest-waiting call (the usual ACD rule),
    which also makes ``idle_spells`` the waits a pacing policy inflicts on its
    agents. Talk and wrap-up times come from two streams of their own
    (``random.Random(f"{seed}:talk")`` and ``f"{seed}:wrap"``): wrap-ups end in an order each
    pacing policy sets, and gamma or lognormal draws use a varying count of numbers, so one
    shared stream would hand the n-th connection a different talk time under each policy.
    """

    def __init__(self, logged_in: int, talk_s: Distribution | float, wrap_s: Distribution | float,
                 *, seed: int = 0) -> None:
        if logged_in < 0:
            raise ValueError(f"logged_in must be >= 0, not {logged_in}")
        self.talk_dist = as_distribution(talk_s)
        self.wrap_dist = as_distribution(wrap_s)
        self._talk_rng = random.Random(f"{seed}:talk")
        self._wrap_rng = random.Random(f"{seed}:wrap")
        self._initial = logged_in
        self._agents: dict[str, _Agent] = {}
        self._idle: deque[_Agent] = deque()           # longest idle first
        self._waiting: deque[_Waiter] = deque()       # longest waiting first
        self._next_id = 1
        self._started = False
        self._acc = {_IDLE: 0.0, _TALKING: 0.0, _WRAPPING: 0.0}
        self._idle_spells: list[float] = []
        self._call_waits: list[float] = []
        self._gave_up = 0
        now = _loop_time_if_running()
        if now is not None:               # else start() or the first use starts the clock
            self.start(now)

    # -- clock -----------------------------------------------------------------------
    def start(self, now: float | None = None) -> None:
        """Start the time accounting (logged-in seconds count from here); idempotent.

        Runs at construction inside a running loop; otherwise call it (or
        :meth:`SimulatedNetwork.start`) when the run begins, or the first use
        starts the clock and earlier idle time is not counted.
        """
        if self._started:
            return
        self._started = True
        if now is None:
            now = asyncio.get_running_loop().time()
        for _ in range(self._initial):
            self._login(now)

    def _now(self) -> float:
        now = asyncio.get_running_loop().time()
        self.start(now)
        return now

    # -- AgentDesk ---------------------------------------------------------------------
    def snapshot(self) -> AgentSnapshot:
        now = self._now()
        ages: dict[tuple[str, bool], list[float]] = {
            (_TALKING, False): [], (_WRAPPING, False): [], (_TALKING, True): [], (_WRAPPING, True): []}
        for a in self._agents.values():
            if a.state != _IDLE:
                ages[a.state, a.leaving].append(now - a.since)
        return AgentSnapshot(logged_in=len(self._agents), idle=len(self._idle),
                             talking_s=tuple(ages[_TALKING, False]), wrapping_s=tuple(ages[_WRAPPING, False]),
                             away_talking_s=tuple(ages[_TALKING, True]),
                             away_wrapping_s=tuple(ages[_WRAPPING, True]))

    @property
    def waiting(self) -> int:
        """Calls now waiting in the queue for an agent."""
        return len(self._waiting)

    def set_logged_in(self, n: int) -> None:
        """Change the staffing now.

        Leavers are chosen idle first (they go at once), then wrapping, then
        talking agents, who finish their call and wrap-up before going; they
        count as logged in until then. New logins are idle at once and take
        waiting calls immediately.
        """
        if n < 0:
            raise ValueError(f"logged_in must be >= 0, not {n}")
        now = self._now()
        staying = [a for a in self._agents.values() if not a.leaving]
        if n < len(staying):
            rank = {_IDLE: 0, _WRAPPING: 1, _TALKING: 2}
            # among equals, the one who started that state last goes first
            staying.sort(key=lambda a: (rank[a.state], -a.since))
            for agent in staying[: len(staying) - n]:
                if agent.state == _IDLE:
                    self._idle.remove(agent)
                    self._logout(agent, now)
                else:
                    agent.leaving = True
        else:
            missing = n - len(staying)
            for agent in [a for a in self._agents.values() if a.leaving][:missing]:
                agent.leaving = False
                missing -= 1
            for _ in range(missing):
                self._login(now)
            self._dispatch(now)

    async def acquire(self, patience_s: float, *, talk_s: float | None = None) -> str | None:
        """Wait for an agent (FIFO); their id, or None after ``patience_s`` seconds.

        The agent then talks for a ``talk_s`` draw (or the given ``talk_s``) and
        wraps up; use :class:`SimulatedCall` to get the call's HANGUP with it.
        """
        waiter = self._enqueue(patience_s, talk_s=talk_s)
        return await self._wait(waiter)

    @property
    def typical_wrap_s(self) -> float:
        """Mean wrap-up time, for pacing (a PBX would report its queue's wrap-up setting)."""
        return self.wrap_dist.mean

    def stats(self) -> AgentStats:
        now = self._now()
        acc = dict(self._acc)
        for agent in self._agents.values():
            acc[agent.state] += now - agent.since
        return AgentStats(
            logged_in_s=acc[_IDLE] + acc[_TALKING] + acc[_WRAPPING],
            idle_s=acc[_IDLE], talk_s=acc[_TALKING], wrap_s=acc[_WRAPPING],
            connections=len(self._idle_spells), gave_up=self._gave_up,
            idle_spells=tuple(self._idle_spells), call_waits=tuple(self._call_waits),
        )

    # -- queue (also used by SimulatedCall) ----------------------------------------------
    def _enqueue(self, patience_s: float, *, talk_s: float | None = None,
                 on_assign: Callable[[str, float], None] | None = None,
                 on_talk_end: Callable[[float], None] | None = None) -> _Waiter:
        loop = asyncio.get_running_loop()
        now = self._now()
        waiter = _Waiter(loop.create_future(), now, talk_s, on_assign, on_talk_end)
        self._waiting.append(waiter)
        self._dispatch(now)
        if not waiter.future.done():
            give_up_at = now + max(0.0, patience_s)
            waiter.timer = loop.call_at(give_up_at, self._give_up, waiter)
        return waiter

    async def _wait(self, waiter: _Waiter) -> str | None:
        try:
            return await waiter.future
        except asyncio.CancelledError:
            if waiter.future.done() and not waiter.future.cancelled():
                agent_id = waiter.future.result()
                if agent_id is not None:
                    self._release(waiter, self._now())
            else:
                self._withdraw(waiter)
            raise

    def _withdraw(self, waiter: _Waiter) -> None:
        """The call left the queue (hung up, cancelled) before getting an agent."""
        if waiter.future.done() and not waiter.future.cancelled():
            return                        # served or gave up already
        if waiter.timer is not None:
            waiter.timer.cancel()
        if waiter in self._waiting:
            self._waiting.remove(waiter)
        if not waiter.future.done():
            waiter.future.set_result(None)

    def _give_up(self, waiter: _Waiter) -> None:
        if waiter.future.done():
            return
        self._gave_up += 1
        self._waiting.remove(waiter)
        waiter.future.set_result(None)

    def _release(self, waiter: _Waiter, at: float) -> None:
        """The call ended from its side during the talk: the agent goes to wrap-up now."""
        agent = waiter.agent
        if agent is not None and agent.waiter is waiter:
            if agent.handle is not None:
                agent.handle.cancel()
            self._end_talk(agent, at, notify=False)

    # -- state machine -----------------------------------------------------------------
    def _set_state(self, agent: _Agent, state: str, at: float) -> None:
        self._acc[agent.state] += at - agent.since
        agent.state = state
        agent.since = at

    def _login(self, now: float) -> None:
        agent = _Agent(f"agent-{self._next_id}", _IDLE, now)
        self._next_id += 1
        self._agents[agent.agent_id] = agent
        self._idle.append(agent)

    def _logout(self, agent: _Agent, at: float) -> None:
        self._acc[agent.state] += at - agent.since
        del self._agents[agent.agent_id]

    def _dispatch(self, at: float) -> None:
        loop = asyncio.get_running_loop()
        while self._waiting and self._idle:
            waiter = self._waiting.popleft()
            if waiter.future.done():      # cancelled while queued; nobody to serve
                continue
            agent = self._idle.popleft()
            if waiter.timer is not None:
                waiter.timer.cancel()
            # max(0, ...): in real time a callback may run a hair after the instant it stands for
            self._idle_spells.append(max(0.0, at - agent.since))
            self._call_waits.append(max(0.0, at - waiter.enqueued_at))
            self._set_state(agent, _TALKING, at)
            talk = waiter.talk_s if waiter.talk_s is not None else self.talk_dist.sample(self._talk_rng)
            agent.waiter = waiter
            waiter.agent = agent
            agent.handle = loop.call_at(at + talk, self._end_talk, agent, at + talk)
            if waiter.on_assign is not None:
                waiter.on_assign(agent.agent_id, at)
            waiter.future.set_result(agent.agent_id)

    def _end_talk(self, agent: _Agent, at: float, notify: bool = True) -> None:
        waiter = agent.waiter
        agent.waiter = None
        self._set_state(agent, _WRAPPING, at)
        wrap = self.wrap_dist.sample(self._wrap_rng)
        if notify and waiter is not None and waiter.on_talk_end is not None:
            waiter.on_talk_end(at)
        if wrap > 0:
            agent.handle = asyncio.get_running_loop().call_at(at + wrap, self._end_wrap, agent, at + wrap)
        else:                             # no wrap-up: free at once, not one loop turn later
            self._end_wrap(agent, at)

    def _end_wrap(self, agent: _Agent, at: float) -> None:
        agent.handle = None
        if agent.leaving:
            self._logout(agent, at)
            return
        self._set_state(agent, _IDLE, at)
        self._idle.append(agent)
        self._dispatch(at)


# --------------------------------------------------------------------------- calls


class SimulatedCall(Call):
    """One simulated call leg; its fate is fixed at originate, its timing by the loop."""

    def __init__(self, request: OriginateRequest, network: SimulatedNetwork, fate: Fate,
                 placed_at: float, inbound: Inbound | None = None) -> None:
        super().__init__(request, inbound)
        self.fate = fate
        self.placed_at = placed_at
        self.answered_at: float | None = None
        self.answered_by: AnsweredBy | None = None     # as reported by AMD
        self.agent_id: str | None = None
        self.connected_at: float | None = None
        self.cause: HangupCause | None = None
        self.ended_at: float | None = None
        self._network = network
        self._handles: list[asyncio.TimerHandle] = []
        self._far_end: asyncio.TimerHandle | None = None   # the far end hangs up when left alone
        self._machine_done = False                          # machine wants to go once the play ends
        self._plays: set[asyncio.Future[None]] = set()
        self._waiter: _Waiter | None = None
        self._questions = 0
        self.last_prompt = ""
        self.prompt_s = 0.0                                 # seconds of prompts heard (to the end or not)

    @property
    def truth(self) -> AnsweredBy | None:
        """Who really answered (AMD may have reported otherwise)."""
        return self.fate.truth

    # -- scheduling ----------------------------------------------------------------------
    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        t, fate = self.placed_at, self.fate
        if fate.kind == FateKind.INVALID:
            self._at(loop, t + fate.invalid_s, self._finish, HangupCause.INVALID_NUMBER)
            return
        if fate.kind == FateKind.FAILED:
            self._at(loop, t + fate.setup_s, self._finish, HangupCause.FAILED)
            return
        if fate.kind == FateKind.BUSY:
            self._at(loop, t + fate.setup_s, self._finish, HangupCause.BUSY)
            return
        ringing = t + fate.setup_s
        self._at(loop, ringing, self._ring)
        if fate.kind == FateKind.NO_ANSWER:
            self._at(loop, ringing + self.request.ring_timeout_s, self._finish, HangupCause.NO_ANSWER)
        else:
            self._at(loop, ringing + fate.ring_s + fate.amd_s, self._answer, ringing + fate.ring_s)

    def _at(self, loop: asyncio.AbstractEventLoop, when: float, fn: Callable[..., None],
            *args: Any) -> None:
        self._handles.append(loop.call_at(when, fn, when, *args))

    def _ring(self, at: float) -> None:
        self._emit(CallEvent(CallEventKind.RINGING, at))

    def _answer(self, at: float, picked_up_at: float) -> None:
        if self.ended:
            return
        self.answered_at = at
        self.answered_by = self.fate.reported
        self._network.answered[self.fate.reported] += 1  # type: ignore[index]
        if self.fate.truth is AnsweredBy.HUMAN and self.fate.reported is AnsweredBy.MACHINE:
            self._network.false_machines.add(self.request.attempt_id)
        self._emit(CallEvent(CallEventKind.ANSWERED, at, answered_by=self.fate.reported))
        if self.fate.truth is AnsweredBy.MACHINE:
            self._arm_far_end(max(at, picked_up_at + self.fate.machine_hangup_s))
        else:
            self._arm_far_end(at + self.fate.human_patience_s)

    def _arm_far_end(self, when: float) -> None:
        if self._far_end is not None:
            self._far_end.cancel()
        self._far_end = asyncio.get_running_loop().call_at(when, self._far_end_leaves, when)

    def _far_end_leaves(self, at: float) -> None:
        self._far_end = None
        if self._plays:            # only a machine gets here mid-play: it records to the end
            self._machine_done = True
            return
        self._finish(at, HangupCause.NORMAL, "far end hung up")

    def _finish(self, at: float, cause: HangupCause, detail: str = "") -> None:
        if self.ended:
            return
        self._emit(CallEvent(CallEventKind.HANGUP, at, cause=cause, detail=detail))
        self.cause = cause
        self.ended_at = at
        for handle in self._handles:
            handle.cancel()
        self._handles.clear()
        if self._far_end is not None:
            self._far_end.cancel()
            self._far_end = None
        for fut in self._plays:
            if not fut.done():
                fut.set_result(None)
        self._plays.clear()
        if self._waiter is not None:     # still queued, or talking and hung up from a side
            if self.agent_id is None:
                self._network.agents._withdraw(self._waiter)
            else:
                self._network.agents._release(self._waiter, at)
            self._waiter = None
        self._network._call_ended(self)

    # -- Call ----------------------------------------------------------------------------
    async def play(self, prompt: Prompt, *, barge_in: bool = False) -> PlayResult:
        """Return after the prompt's spoken duration, or as soon as the call ends.

        While a person is being spoken to their patience clock is stopped; it
        restarts in full when the prompt ends. A machine that reaches the end of
        its recording time mid-prompt records to the end of the prompt. With
        ``barge_in``, a person sometimes (``barge_in_share``) presses a key part-way
        through: the key the network's respondent picks for this prompt, or one
        from ``keypad``.
        """
        if self.ended:
            return PlayResult(completed=False)
        if self.answered_at is None:
            raise RuntimeError(f"{self.attempt_id}: play() before the call was answered")
        now = asyncio.get_running_loop().time()
        end = now + prompt_duration(prompt, self._network.profile.prompt_words_per_s)
        self.last_prompt = prompt.text
        key = self._barge_in_key(prompt) if barge_in else None
        if key is not None:
            rng = self._question_stream("barge-at")
            await self._engaged_until(now + (end - now) * rng.uniform(0.3, 0.9))
            self.prompt_s += asyncio.get_running_loop().time() - now
            if self.ended:
                return PlayResult(completed=False)
            return PlayResult(completed=False, barge_in="dtmf", digits=key)
        await self._engaged_until(end)
        self.prompt_s += asyncio.get_running_loop().time() - now
        # a machine that recorded to the end and then hung up did hear all of it
        cut_short = self.ended and self.ended_at is not None and self.ended_at < end
        return PlayResult(completed=not cut_short)

    def _barge_in_key(self, prompt: Prompt) -> str | None:
        """Whether (and with which key) a person cuts this prompt short; drawn from the call's stream."""
        share = self._network.profile.barge_in_share
        if share <= 0 or self.fate.truth is not AnsweredBy.HUMAN:
            return None
        rng = self._question_stream("barge")
        if rng.random() >= share:
            return None
        respondent = self._network.respondent
        if respondent is not None and hasattr(respondent, "interrupt"):
            return respondent.interrupt(prompt.text, rng)
        keys, weights = zip(*self._network.profile.keypad, strict=True)
        return rng.choices(keys, weights)[0]

    async def _engaged_until(self, end: float) -> None:
        """Keep the far end occupied (listening or keying) until ``end`` or the call ends.

        A person's patience clock is stopped meanwhile and restarts in full afterwards.
        """
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self._plays.add(fut)
        if self.fate.truth is AnsweredBy.HUMAN and self._far_end is not None:
            self._far_end.cancel()
            self._far_end = None
        handle = loop.call_at(end, self._play_over, fut, end)
        try:
            await fut
        finally:
            handle.cancel()
            self._play_over(fut, loop.time())

    def _question_stream(self, what: str) -> random.Random:
        self._questions += 1
        return random.Random(f"{self._network.seed}:{self.request.number}:"
                             f"{self.request.variables.get('debtor_attempt', '')}:{what}:{self._questions}")

    async def listen(self, *, grammar: Grammar | None = None, language: str = "nl",
                     max_digits: int = 1, timeout_s: float = 5.0, terminator: str | None = "#",
                     initial_digits: str = "") -> Heard:
        """A person answers by voice (``voice_share`` of questions with a grammar: a phrase of a
        choice, with a confidence) or by keypad (as :meth:`collect_dtmf`), or not at all
        (``keypad_no_input``); the network's respondent, if any, decides first. A machine
        never answers. Draws come from the call's own stream, numbered per question.
        """
        if self.ended:
            return Heard(HeardKind.HANGUP)
        if self.answered_at is None:
            raise RuntimeError(f"{self.attempt_id}: listen() before the call was answered")
        profile = self._network.profile
        loop = asyncio.get_running_loop()
        if initial_digits and len(initial_digits) >= max_digits:
            return Heard(HeardKind.DTMF, digits=initial_digits[:max_digits])
        rng = self._question_stream("listen")
        heard: Heard | None = None
        if self.fate.truth is AnsweredBy.HUMAN:
            respondent = self._network.respondent
            if respondent is not None:
                heard = respondent.answer(Question(grammar, language, max_digits, terminator, timeout_s,
                                                   self.last_prompt), rng)
            if heard is None and grammar and rng.random() < profile.voice_share:
                name = rng.choice(sorted(grammar))
                phrases = list(grammar[name]) or [name]
                heard = Heard(HeardKind.SPEECH, choice=name, text=phrases[0],
                              confidence=round(rng.uniform(0.55, 0.98), 3))
        if heard is None:
            digits = await self.collect_dtmf(max_digits=max_digits - len(initial_digits),
                                             timeout_s=timeout_s, terminator=terminator)
            digits = initial_digits + digits
            if self.ended:
                return Heard(HeardKind.HANGUP)
            return Heard(HeardKind.DTMF, digits=digits) if digits else Heard(HeardKind.NO_INPUT)
        if heard.kind is HeardKind.NO_INPUT:
            took = timeout_s
        else:
            took = min(timeout_s, sum(profile.keypad_s.sample(rng) for _ in range(max(1, len(heard.digits)))))
        await self._engaged_until(loop.time() + took)
        return Heard(HeardKind.HANGUP) if self.ended else heard

    async def wait_for_beep(self, timeout_s: float = 10.0) -> bool:
        """A machine beeps when its greeting ends (a few seconds after it picked up); a person never."""
        if self.ended or self.answered_at is None or self.fate.truth is not AnsweredBy.MACHINE:
            return False
        rng = random.Random(f"{self._network.seed}:{self.request.number}:"
                            f"{self.request.variables.get('debtor_attempt', '')}:beep")
        loop = asyncio.get_running_loop()
        picked_up = self.answered_at - self.fate.amd_s
        beep = max(loop.time(), picked_up + rng.uniform(3.0, 8.0))
        if beep - loop.time() > timeout_s:
            await asyncio.sleep(timeout_s)
            return False
        await asyncio.sleep(beep - loop.time())
        return not self.ended

    async def collect_dtmf(self, *, max_digits: int = 1, timeout_s: float = 5.0,
                           terminator: str | None = "#") -> str:
        """A person presses ``max_digits`` keys drawn from ``profile.keypad`` (one key-press
        time each), or nothing (``keypad_no_input``); a machine never presses. While the
        person is busy answering their patience clock is stopped, as during a prompt.

        Draws come from the call's own stream (seeded like its fate, numbered per
        question), so the same debtor attempt answers the same way under any policy.
        """
        if self.ended:
            return ""
        if self.answered_at is None:
            raise RuntimeError(f"{self.attempt_id}: collect_dtmf() before the call was answered")
        profile = self._network.profile
        self._questions += 1
        rng = random.Random(f"{self._network.seed}:{self.request.number}:"
                            f"{self.request.variables.get('debtor_attempt', '')}:keypad:{self._questions}")
        keys, weights = zip(*profile.keypad, strict=True)
        digits = ""
        elapsed = 0.0
        answers = self.fate.truth is AnsweredBy.HUMAN and rng.random() >= profile.keypad_no_input
        if answers:
            for _ in range(max_digits):
                elapsed += profile.keypad_s.sample(rng)
                key = rng.choices(keys, weights)[0]
                if elapsed > timeout_s or key == terminator:
                    break
                digits += key
        done_at = asyncio.get_running_loop().time() + (min(elapsed, timeout_s) if answers else timeout_s)
        await self._engaged_until(done_at)
        return "" if self.ended and self.ended_at is not None and self.ended_at < done_at else digits

    def _play_over(self, fut: asyncio.Future[None], at: float) -> None:
        if not fut.done():
            fut.set_result(None)
        if fut not in self._plays:
            return
        self._plays.discard(fut)
        if self.ended or self._plays or self.agent_id is not None:
            return
        if self.fate.truth is AnsweredBy.HUMAN:
            self._arm_far_end(at + self.fate.human_patience_s)
        elif self._machine_done:
            self._finish(at, HangupCause.NORMAL, "far end hung up")

    async def connect_agent(self, queue: str, patience_s: float,
                            context: Mapping[str, str]) -> str | None:
        """Queue for an agent of the (single) simulated pool.

        None when patience runs out or the far end hangs up first; otherwise the
        agent's id, and the call's HANGUP (NORMAL) comes when the talk is over.
        A machine that AMD passed as human wastes ``machine_talk_s`` of the agent.
        """
        if self.ended:
            return None
        if self.answered_at is None:
            raise RuntimeError(f"{self.attempt_id}: connect_agent() before the call was answered")
        if self._waiter is not None:
            raise RuntimeError(f"{self.attempt_id}: connect_agent() called twice")
        talk = self.fate.machine_talk_s if self.fate.truth is AnsweredBy.MACHINE else None
        agents = self._network.agents
        waiter = agents._enqueue(patience_s, talk_s=talk, on_assign=self._on_agent,
                                 on_talk_end=self._on_talk_end)
        self._waiter = waiter
        try:
            agent_id = await waiter.future
        except asyncio.CancelledError:
            # an agent already bridged stays bridged: cancelling the wait does not undo it
            if self.agent_id is None:
                agents._withdraw(waiter)
                self._waiter = None
            raise
        if agent_id is None:
            self._waiter = None
        return agent_id

    def _on_agent(self, agent_id: str, at: float) -> None:
        self.agent_id = agent_id
        self.connected_at = at
        self._machine_done = False
        if self._far_end is not None:
            self._far_end.cancel()
            self._far_end = None

    def _on_talk_end(self, at: float) -> None:
        self._waiter = None              # the desk already sent the agent to wrap-up
        self._finish(at, HangupCause.NORMAL, "agent hung up")

    async def hangup(self) -> None:
        """End the call now (LOCAL); an agent on it goes to wrap-up."""
        if not self.ended:
            self._finish(asyncio.get_running_loop().time(), HangupCause.LOCAL)


# --------------------------------------------------------------------------- network


class SimulatedNetwork(Telephony):
    """Places :class:`SimulatedCall` s whose fates follow a :class:`NetworkProfile`.

    Counters for reports: :attr:`placed`, :attr:`rejected` (max_lines),
    :attr:`ended_by_cause`, :attr:`answered` (by reported answerer),
    :attr:`lines_in_use`, :attr:`peak_lines`.
    """

    agents: SimulatedAgents

    def __init__(self, profile: NetworkProfile, agents: SimulatedAgents, *, seed: int,
                 max_lines: int | None = None, respondent: Respondent | None = None) -> None:
        self.profile = profile
        self.respondent = respondent
        self.inbound_calls = 0
        self._inbound_active: set[SimulatedCall] = set()
        self._inbound_tasks: set[asyncio.Task[None]] = set()
        self.agents = agents
        self.seed = seed
        self.max_lines = max_lines
        self.placed = 0
        self.rejected = 0
        self.ended_by_cause: Counter[HangupCause] = Counter()
        self.answered: Counter[AnsweredBy] = Counter()
        self.false_machines: set[str] = set()   # attempts whose person AMD took for a machine
        self.peak_lines = 0
        self.started_at: float | None = None
        self._active: set[SimulatedCall] = set()
        now = _loop_time_if_running()
        if now is not None:               # else start() or the first originate starts the clock
            self._clock_start(now)

    @property
    def lines_in_use(self) -> int:
        return len(self._active)

    @property
    def active_calls(self) -> frozenset[SimulatedCall]:
        return frozenset(self._active)

    def _clock_start(self, now: float) -> None:
        if self.started_at is None:
            self.started_at = now
        self.agents.start(now)

    def elapsed(self) -> float:
        """Seconds since the network started (what ``answer_prob`` steps are keyed on)."""
        now = asyncio.get_running_loop().time()
        self._clock_start(now)
        assert self.started_at is not None
        return now - self.started_at

    def counters(self) -> dict[str, int]:
        """Flat counters for reports and logs."""
        out = {"placed": self.placed, "rejected": self.rejected, "lines_in_use": self.lines_in_use,
               "peak_lines": self.peak_lines}
        out.update({f"answered_{k.value}": v for k, v in self.answered.items()})
        out.update({f"ended_{k.value}": v for k, v in self.ended_by_cause.items()})
        return out

    def fate_stream(self, request: OriginateRequest) -> random.Random:
        """The stream a request's fate comes from: same debtor attempt, same stream."""
        attempt = request.variables.get("debtor_attempt", "")
        return random.Random(f"{self.seed}:{request.number}:{attempt}")

    async def start(self) -> None:
        self._clock_start(asyncio.get_running_loop().time())

    async def close(self) -> None:
        for call in list(self._active | self._inbound_active):
            await call.hangup()

    async def originate(self, request: OriginateRequest) -> SimulatedCall:
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._clock_start(now)
        if self.max_lines is not None and len(self._active) >= self.max_lines:
            self.rejected += 1
            raise OriginateError(f"all {self.max_lines} lines are in use")
        assert self.started_at is not None
        fate = draw_fate(self.profile, self.fate_stream(request), number=request.number,
                         answer_prob=self.profile.answer_prob_at(now - self.started_at),
                         ring_timeout_s=request.ring_timeout_s)
        call = SimulatedCall(request, self, fate, now)
        self.placed += 1
        self._active.add(call)
        self.peak_lines = max(self.peak_lines, len(self._active))
        call._schedule(loop)
        return call

    def _call_ended(self, call: SimulatedCall) -> None:
        self._active.discard(call)
        self._inbound_active.discard(call)
        assert call.cause is not None
        self.ended_by_cause[call.cause] += 1
        self._maybe_call_back(call)

    # -- callers back ------------------------------------------------------------------------
    def _maybe_call_back(self, call: SimulatedCall) -> None:
        """Some debtors who missed the call ring the number back later (drawn from the attempt's stream)."""
        if self.inbound_handler is None or call.inbound is not None or self.profile.callback_prob <= 0:
            return
        missed = call.cause in (HangupCause.NO_ANSWER, HangupCause.BUSY) \
            or call.fate.truth is AnsweredBy.MACHINE
        if not missed or call.ended_at is None:
            return
        rng = random.Random(f"{self.seed}:{call.request.number}:"
                            f"{call.request.variables.get('debtor_attempt', '')}:callback")
        if rng.random() >= self.profile.callback_prob:
            return
        at = call.ended_at + self.profile.callback_delay_s.sample(rng)
        patience = self.profile.human_hangup_s.sample(rng)
        asyncio.get_running_loop().call_at(at, self._call_in, call.request, patience, at)

    def _call_in(self, original: OriginateRequest, patience: float, at: float) -> None:
        handler = self.inbound_handler
        if handler is None:
            return
        self.inbound_calls += 1
        call_id = f"in-{self.inbound_calls}"
        fate = Fate(kind=FateKind.ANSWERED, setup_s=0.0, ring_s=0.0, amd_s=0.0, truth=AnsweredBy.HUMAN,
                    reported=AnsweredBy.HUMAN, human_patience_s=patience, machine_hangup_s=0.0,
                    machine_talk_s=0.0, invalid_s=0.0)
        request = OriginateRequest(
            attempt_id=call_id, number=original.number, caller_id=original.caller_id, ring_timeout_s=0.0,
            variables={"debtor_attempt": f"{original.variables.get('debtor_attempt', '')}:callback"})
        inbound = Inbound(call_id=call_id, caller=original.number, dialled=original.caller_id, at=at)
        call = SimulatedCall(request, self, fate, at, inbound)
        call.answered_at = at
        call.answered_by = AnsweredBy.HUMAN
        self._inbound_active.add(call)   # inbound channels: not counted against the outbound max_lines
        call._arm_far_end(at + patience)
        task = asyncio.get_running_loop().create_task(handler(call, inbound), name=call_id)
        self._inbound_tasks.add(task)
        task.add_done_callback(self._inbound_tasks.discard)

    async def drain_inbound(self) -> None:
        """Wait for the inbound calls in progress to end (set no handler first to refuse new ones)."""
        while self._inbound_tasks:
            await asyncio.gather(*list(self._inbound_tasks), return_exceptions=True)
