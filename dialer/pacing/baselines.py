"""Baseline pacing policies that ``callpact simulate`` compares callpact's predictive policy with.

:class:`AdaptiveTapered` models VICIdial's adaptive dial level with the
``ADAPT_TAPERED`` dial method, the most widely deployed open-source predictive
dialer's answer to the same problem. The progressive and fixed-ratio baselines
are :class:`dialer.pacing.policy.Progressive` and :class:`dialer.pacing.policy.FixedRatio`.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from dialer.pacing.policy import PacingState

__all__ = ["AdaptiveTapered"]


@dataclass
class AdaptiveTapered:
    """VICIdial's adaptive dial level, ``dial_method: ADAPT_TAPERED``, modelled from its source.

    Source read: ``bin/AST_VDadapt.pl`` (version 2.4, subroutines
    ``count_agents_lines``, ``calculate_drops`` and ``calculate_dial_level``)
    and ``bin/AST_VDauto_dial.pl`` (how the dial level becomes calls) of the
    astguiclient/VICIdial tree, as mirrored at github.com/inktel/Vicidial. What
    the scripts do, and what this class does in the same way:

    * **Samples** (every loop pass, 1 s): ready agents (``READY``/``DONE``),
      live calls waiting for an agent (``vicidial_auto_calls`` status
      ``LIVE``) and all agents; the last 15 samples are averaged and the
      *differential* is ``avg(ready) - avg(waiting)``.
    * **Dial level** (every 15 s)::

          level = level * (1 + (differential + dl_diff_target) / avg(agents) * intensity factor)

      capped at ``adaptive_maximum_level`` and floored at 1.0
      (``adaptive_intensity`` 0 and ``adaptive_dl_diff_target`` 0 are the
      defaults, used here).
    * **Drop brakes** (drop counts refreshed every 60 s, applied at the next
      15 s adjustment): if the last minute had more than 20 calls and more than
      50% of them dropped, the level is halved. If more than 50 calls were made
      *today* and drops / human answers *today* exceed
      ``adaptive_dropped_percentage``, ``ADAPT_TAPERED`` multiplies the level
      by ``tapered_rate = min(1, hours left until adaptive_latest_server_time /
      10)`` (the script subtracts HHMM clock times and divides by 1000), or
      sets it to 1.0 once that time has passed. As the new level is stored and
      the next adjustment starts from it, the taper compounds every 15 s while
      the day's drop rate stays over the limit. (``ADAPT_HARD_LIMIT`` would
      set 1.0, ``ADAPT_AVERAGE`` halve.)
    * **Calls** (``AST_VDauto_dial.pl``, default
      ``available_only_ratio_tally: N``): goal = round(level × non-paused
      agents (ready + in call)); calls to place = goal − the campaign's active
      calls (sent, ringing, waiting, with an agent). Agents in wrap-up are
      paused in VICIdial and not counted. With ``available_only`` the goal is
      level × ready agents plus the calls with agents.

    Mapping to callpact: "today" is the run so far (the simulator runs one
    day); ``day_end`` is the loop time of ``adaptive_latest_server_time`` (the
    simulator passes the end of the scenario); ``max_level`` defaults to
    VICIdial's ``adaptive_maximum_level`` of 3.0, the simulator passes the
    campaign's maximum dial level so every policy works under the same cap.
    VICIdial only adapts while the hopper has leads, which here it always has.

    The simulator runs it with ``available_only=True``
    (``available_only_ratio_tally: Y``), the setting VICIdial tuning guides
    recommend for predictive campaigns and the stronger baseline: with the
    default ``N`` the level also multiplies agents already in a call, so calls
    go out while nobody is free, and on the example scenario it abandons more
    (3.5%) and keeps agents busier for less (55.8% utilisation against 62.7%).
    """

    max_level: float = 3.0
    drop_limit: float = 0.03            # adaptive_dropped_percentage / 100, of human answers
    day_end: float | None = None        # loop time of adaptive_latest_server_time; None: never tapers
    level: float = 1.0                  # auto_dial_level, the starting level
    intensity: float = 0.0              # adaptive_intensity, -40..40
    dl_diff_target: float = 0.0         # adaptive_dl_diff_target
    available_only: bool = False        # available_only_ratio_tally
    name: str = "adaptive_tapered"
    sample_every_s: float = 1.0
    window: int = 15
    adjust_every_s: float = 15.0
    drops_every_s: float = 60.0
    _samples: deque[tuple[int, int, int]] = field(default_factory=deque, repr=False)
    _next_sample: float | None = field(default=None, repr=False)
    _next_adjust: float | None = field(default=None, repr=False)
    _next_drops: float | None = field(default=None, repr=False)
    _calls_today: int = field(default=0, repr=False)
    _answers_today: int = field(default=0, repr=False)
    _drops_today: int = field(default=0, repr=False)
    _calls_one: int = field(default=0, repr=False)
    _drops_one: int = field(default=0, repr=False)
    _last_totals: tuple[int, int] = field(default=(0, 0), repr=False)

    # -- AST_VDadapt.pl ---------------------------------------------------------------------------
    def _observe(self, s: PacingState) -> None:
        now = s.now
        if self._next_sample is None:
            self._next_sample = now
            self._next_adjust = now + self.adjust_every_s
            self._next_drops = now             # drop_count_updater starts at 61: count at once
        if now >= self._next_sample:
            a = s.agents
            self._samples.append((a.idle, s.calls_waiting_for_agent, a.logged_in))
            while len(self._samples) > self.window:
                self._samples.popleft()
            self._next_sample = now + self.sample_every_s
        assert self._next_drops is not None and self._next_adjust is not None
        if now >= self._next_drops:
            self._calculate_drops(s)
            self._next_drops = now + self.drops_every_s
        if now >= self._next_adjust:
            self._calculate_dial_level(s)
            self._next_adjust = now + self.adjust_every_s

    def _calculate_drops(self, s: PacingState) -> None:
        st = s.stats
        calls, drops = st.calls_finished, st.abandoned
        last_calls, last_drops = self._last_totals
        self._calls_one, self._drops_one = calls - last_calls, drops - last_drops
        self._last_totals = (calls, drops)
        self._calls_today, self._answers_today, self._drops_today = calls, st.live_answers, drops

    def _calculate_dial_level(self, s: PacingState) -> None:
        if not self._samples:
            return
        n = len(self._samples)
        ready = sum(r for r, _, _ in self._samples) / n
        waiting = sum(w for _, w, _ in self._samples) / n
        agents = sum(t for _, _, t in self._samples) / n
        if agents <= 0:                         # the script skips campaigns with no agents
            return
        target = ready - waiting + self.dl_diff_target
        mul = target / agents if target != 0 else 0.0
        intensity = self.intensity / 100
        diff = mul * abs(intensity - 1) if mul < 0 else mul * (intensity + 1)
        level = self.level * (diff + 1)
        level = min(level, self.max_level)
        level = max(level, 1.0)
        # drop-percentage rules
        if self._calls_one > 20 and self._drops_one / self._calls_one > 0.5:
            level /= 2
        answers = max(self._answers_today, 1)
        if self._calls_today > 50 and self._drops_today > 0 and \
                self._drops_today / answers > self.drop_limit:
            hours_left = math.inf if self.day_end is None else (self.day_end - s.now) / 3600
            if hours_left < 0:
                level = 1.0
            else:
                level *= min(1.0, hours_left / 10)
        self.level = max(level, 1.0)

    # -- AST_VDauto_dial.pl -----------------------------------------------------------------------
    def calls_to_launch(self, state: PacingState) -> int:
        self._observe(state)
        a = state.agents
        # VICIdial counts every agent INCALL, one who pauses after the call too: it knows no "away".
        with_agent = a.talking + len(a.away_talking_s)
        active = state.calls_ringing + state.calls_waiting_for_agent + with_agent
        if self.available_only:
            goal = round(self.level * a.idle) + with_agent
        else:
            goal = round(self.level * (a.idle + with_agent))
        return max(0, goal - active)
