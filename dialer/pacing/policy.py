"""Pacing policies: how many calls to launch now. Pure functions of a snapshot, no I/O.

The engine builds a :class:`PacingState` every tick and asks the campaign's
policy for a number of new calls; it then clamps that number to the free lines
and the calls-per-second budget, so a policy can never exceed either.

- :class:`Progressive`: one call in flight per idle agent (no abandons possible
  beyond an agent logging out mid-ring).
- :class:`FixedRatio`: ``ratio`` calls in flight per idle agent ("power" or
  "ratio" dialling, VICIdial's fixed dial level).
- :class:`Agentless`: fill every line; the IVR handles the answers.
- :class:`dialer.pacing.predictive.PredictivePolicy` (``dial_mode: predictive``): the
  model-based policy, in its own module; see docs/pacing.md.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from dialer.core.telephony import AgentSnapshot


@dataclass(frozen=True)
class PacingStats:
    """What the campaign has observed so far (counted by the engine)."""

    calls_finished: int = 0
    live_answers: int = 0           # humans reached: connected, abandoned or IVR-handled
    abandoned: int = 0
    window_live_answers: int = 0    # the same within the campaign's abandon window
    window_abandoned: int = 0
    hour_live_answers: int = 0      # the same within the current clock hour
    hour_abandoned: int = 0
    hour_elapsed_s: float = 0.0     # how far into the current clock hour we are

    @property
    def live_answer_rate(self) -> float | None:
        return self.live_answers / self.calls_finished if self.calls_finished else None

    @property
    def window_abandon_rate(self) -> float:
        return self.window_abandoned / self.window_live_answers if self.window_live_answers else 0.0


class Observations:
    """What recent calls taught about this campaign's lines and agents (fed by the engine).

    Bounded, most-recent-first memories, so the estimates follow the answer
    rate and talk times as they drift during the day. The calls resolved are remembered by
    count and by time: the last ``memory`` of them, and any older ones resolved within the last
    ``memory_s`` seconds. On a big desk 400 calls resolve within seconds, and which ones do
    depends on when they were placed: launched in bursts, a batch's no-answers all end at the
    ring timeout together, so a window of the last few hundred read a live share of 1.5% one
    moment and 10% the next on a 7.5% list (200 agents), and the policy dialled on each swing.
    Minutes of calls average over many bursts. (At most ``most`` are kept, so that rebuilding
    the sorted delays stays a millisecond or two on a desk of thousands.)
    """

    def __init__(self, memory: int = 400, memory_s: float = 120.0, most: int = 10_000,
                 dials_s: float = 120.0) -> None:
        self.memory, self.memory_s, self.most, self.dials_s = memory, memory_s, most, dials_s
        self.answer_delays: deque[float] = deque()               # dial -> person on the line, s
        self.other_delays: deque[float] = deque()                # dial -> end, calls nobody answered
        self.talk_times: deque[float] = deque(maxlen=memory)      # agent connected -> call ended, s
        self.live_flags: deque[bool] = deque()                    # per finished call: a person needed us
        self.recent_live: deque[float] = deque()                  # loop time each live answer ended
        self.calls_finished = 0
        self.live_answers = 0
        self.version = 0                                          # bumped on every observation
        self._recent_live_count = 0
        self._answer_at: deque[float] = deque()                   # when each of those was resolved
        self._other_at: deque[float] = deque()
        self._flag_at: deque[float] = deque()
        self._by_dial_second: dict[int, list[int]] = {}           # whole second of dial -> [resolved, live]

    def call_resolved(self, live: bool, after_s: float, *, at: float | None = None) -> None:
        """A call stopped ringing ``after_s`` after its dial (at loop time ``at``): a person
        needing an agent, or not. (Without ``at``, only the count bounds the memory.)

        Counted at this moment rather than when the call ends: conversations end long after
        no-answers, so counting at the end would make the first minutes of a campaign look
        as if nobody answered, and the dialer would over-dial just when it knows least.
        """
        stamp = -math.inf if at is None else at
        now = math.inf if at is None else at
        self.calls_finished += 1
        self.live_answers += live
        self.live_flags.append(live)
        self._flag_at.append(stamp)
        self._recent_live_count += live
        while self._forgettable(self._flag_at, now):
            self._flag_at.popleft()
            self._recent_live_count -= self.live_flags.popleft()
        delays, times = (self.answer_delays, self._answer_at) if live else (self.other_delays, self._other_at)
        delays.append(after_s)
        times.append(stamp)
        while self._forgettable(times, now):
            times.popleft()
            delays.popleft()
        if at is not None:
            self._count_by_dial(math.floor(at - after_s), live, at)
        self.version += 1

    def _count_by_dial(self, second: int, live: bool, now: float) -> None:
        bucket = self._by_dial_second.get(second)
        if bucket is None:
            bucket = self._by_dial_second[second] = [0, 0]
            if len(self._by_dial_second) > self.dials_s + 60:
                oldest = now - self.dials_s - 1.0
                for old in [k for k in self._by_dial_second if k < oldest]:
                    del self._by_dial_second[old]
        bucket[0] += 1
        bucket[1] += live

    def dialled_since(self, since: float) -> tuple[int, int]:
        """The calls dialled at or after ``since`` (to the whole second, at most ``dials_s`` ago)
        that have stopped ringing, and how many of them reached a person.

        Counted by the moment of dial, not of resolution: of the calls dialled in the last
        minute, the answers are in and the no-answers are still ringing, so a share read off
        the latest resolutions overstates the answers just after a burst of launches, and
        understates them after a lull.
        """
        first = math.floor(since)
        resolved = live = 0
        for second, (n, k) in self._by_dial_second.items():
            if second >= first:
                resolved += n
                live += k
        return resolved, live

    def restart_live_share(self, keep_s: float, now: float) -> None:
        """Forget which calls reached a person, but for those resolved in the last ``keep_s``
        seconds: the share has changed (see ``PredictivePolicy``), and the older calls would
        hold the estimate at the old share for minutes."""
        while self._flag_at and self._flag_at[0] < now - keep_s:
            self._flag_at.popleft()
            self._recent_live_count -= self.live_flags.popleft()
        self.version += 1

    def _forgettable(self, times: deque[float], now: float) -> bool:
        """The oldest of a memory goes: more than ``memory`` are kept and it is older than
        ``memory_s``, or more than ``most`` are kept."""
        return len(times) > self.memory and (times[0] < now - self.memory_s or len(times) > self.most)

    def call_finished(self, live: bool, *, at: float) -> None:
        """A call ended (the memory of how many people an hour brings)."""
        if live:
            self.recent_live.append(at)

    def live_rate(self) -> float | None:
        """Share of recent calls that reached a person (who then needs an agent)."""
        if not self.live_flags:
            return None
        return self._recent_live_count / len(self.live_flags)

    def live_per_hour(self, now: float) -> float:
        """Live answers an hour brings at the recent pace (also before a full hour has passed)."""
        while self.recent_live and self.recent_live[0] < now - 3600.0:     # older than an hour
            self.recent_live.popleft()
        if len(self.recent_live) < 2:
            return float(len(self.recent_live))
        span = max(now - self.recent_live[0], 60.0)
        return len(self.recent_live) * 3600.0 / min(span, 3600.0)



@dataclass(frozen=True)
class PacingState:
    agents: AgentSnapshot
    calls_ringing: int             # placed, not yet answered or ended
    calls_waiting_for_agent: int   # answered by a person, waiting for an agent
    lines_in_use: int
    max_lines: int
    stats: PacingStats
    max_abandon_rate: float        # abandons per live answer seen that may be spent (see pacing_abandon_rate)
    now: float = 0.0                             # event-loop time of this decision
    ringing_s: tuple[float, ...] = ()            # seconds since dial of each unanswered call
    observed: Observations | None = None
    agent_patience_s: float = 2.0
    typical_wrap_s: float | None = None          # the agent desk's wrap-up time, when it knows one
    ring_timeout_s: float | None = None          # an unanswered call is ended after ringing this long


class PacingPolicy(Protocol):
    name: str

    def calls_to_launch(self, state: PacingState) -> int: ...


def _in_flight(state: PacingState) -> int:
    return state.calls_ringing + state.calls_waiting_for_agent


@dataclass
class Progressive:
    name: str = "progressive"

    def calls_to_launch(self, state: PacingState) -> int:
        return max(0, state.agents.idle - _in_flight(state))


@dataclass
class FixedRatio:
    ratio: float = 1.5
    name: str = "ratio"

    def calls_to_launch(self, state: PacingState) -> int:
        target = math.ceil(self.ratio * state.agents.idle - 1e-9)
        return max(0, target - _in_flight(state))


@dataclass
class Agentless:
    name: str = "agentless"

    def calls_to_launch(self, state: PacingState) -> int:
        return max(0, state.max_lines - state.lines_in_use)
