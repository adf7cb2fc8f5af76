"""Predictive pacing: launch a call only while it is unlikely to reach a person nobody can take.

Each tick the policy looks a few seconds ahead, to the moments at which a call
launched now would typically be answered (quantiles of the observed
dial-to-person delay), and at each such horizon ``h`` compares two random counts:

* **agents free** by ``h`` plus the caller's patience: the idle agents, each
  talking agent with probability ``P(T <= t + h - w | T >= t)`` (``T`` the talk
  time from the empirical distribution of recent calls, ``t`` the time in call so
  far, ``w`` the wrap-up), and each agent in wrap-up with probability
  ``P(W <= a + h | W >= a)`` (``a`` its time in wrap-up so far, ``W`` the wrap-up
  length from the wrap-ups seen end; the desk's fixed wrap-up time until enough
  have);
* **people on the line** by ``h``: those already waiting, each ringing call with
  probability ``p·(G(r+h) - G(r-)) / (1 - p·G(r-) - (1-p)·H(r))`` (``p`` the
  share of calls that reach a person, ``G`` the distribution of their
  dial-to-answer delay, ``H`` that of the calls that end unanswered, ``r`` the
  time since dial), and each of ``n`` new calls with probability ``p·G(h)``.

Both are sums of independent Bernoulli variables, approximated as normal, so
the expected shortfall ``E[(people - agents)+]`` — the expected abandons — has a
closed form (``σ·φ(μ/σ) + μ·Φ(μ/σ)``). The ``n``-th new call is launched when,
at every horizon, the expected abandons it adds per person it is expected to
reach stay below a threshold ``θ``: a greedy marginal rule, so calls go out
exactly while an agent is likely to be free for them.

``θ`` is steered by the abandon budget. Real abandons set what is left of it:
the current clock hour's legal count (3% of the answers the hour brings, in
whole abandons) and the legal window's. The model's expected abandons, learned
against the real ones (they undercount them 2–4×, and by how much depends on
the campaign), measure how fast it is being spent: they are smooth where the
real ones come in bursts, so the spending can be read off minutes, not hours.
Each budget may spend what is left minus ``spend_z`` standard deviations of an
overdispersed count, over the answers still to come: freely while plenty is
left, ever more carefully as it runs down, nothing once it is spent, and never
faster than the legal rate itself (a burst near the end of an hour would break
it). ``θ`` follows the lower of the two rates (a PI loop in log space). An hour too thin
to hold three abandons answers to the window alone: its count would be noise. So does
every hour of a small desk, unless the campaign says otherwise (``hourly_cap``): the
law counts the window, and a five-agent hour's count is one burst.
With no budget left ``θ`` falls to a sliver, not to progressive dialling: the
policy still dials ahead for agents nearly certain to be free, which progressive
dialling would leave idle (with short calls, most of the time).
While too few calls have been observed to trust the estimates (the start of a
campaign) the model is not used: for the first ring timeout the policy dials one
call per idle agent, which cannot overload them, and from then on as many as keep
the people all calls out may bring within the idle agents at a live share bounded
above (Wilson's interval on the calls placed a ring timeout ago, all resolved).

This combines the queueing view of Issabel's dialer (agents likely to be free
within seconds, from the talk-time distribution) and the answer-probability
view of the predictive-dialing literature (Samuelson, "Predictive dialing for
outbound telephone call centers", Interfaces 29(5), 1999) with the
abandon-rate feedback that VICIdial applies reactively (its adaptive dial
level); see docs/pacing.md.
"""

from __future__ import annotations

import copy
import math
from collections import Counter, deque
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from dialer.core.telephony import AgentSnapshot
from dialer.pacing.policy import Observations, PacingState, PacingStats
from dialer.pacing.settings import HOURLY_CAP_MIN_AGENTS, amd_false_positives
from dialer.pacing.sums import cdf, conditional_sums, max_shortfall, ringing_sums, share_below

if TYPE_CHECKING:
    from dialer.pacing.settings import PacingConfig

class _Distributions:
    """Sorted samples of the observed delays, rebuilt only when observations change."""

    def __init__(self, obs: Observations) -> None:
        self.version = obs.version
        self.answer = np.sort(np.fromiter(obs.answer_delays, float))
        self.other = np.sort(np.fromiter(obs.other_delays, float))
        self.talk = np.sort(np.fromiter(obs.talk_times, float))
        self.talk_mean = float(self.talk.mean()) if self.talk.size else 0.0
        self.p_live = obs.live_rate() or 0.0
        self.horizons: np.ndarray | None = None

    def answer_quantiles(self, qs: tuple[float, ...]) -> np.ndarray:
        if self.horizons is None:
            self.horizons = sorted_quantiles(self.answer, qs)
        return self.horizons

    def talks_done_by(self, elapsed: np.ndarray, within: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """How many talks of ``elapsed`` so far end within each ``within`` (mean, variance), each
        with P(T <= elapsed + within | T >= elapsed); exponential beyond the data."""
        within = np.maximum(within, 0.0)
        tail = 1.0 - np.exp(-within / max(self.talk_mean, 1.0))
        return conditional_sums(self.talk, elapsed, within, tail)


def sorted_quantiles(sorted_values: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    """``np.quantile(sorted_values, qs)`` (its default, linear method, to the last bit) for values
    already sorted: numpy's general path partitions the array again, four times the cost, on
    every rebuild of the distributions."""
    n = sorted_values.size
    virtual = (n - 1) * np.asarray(qs, float)
    below = np.minimum(np.floor(virtual).astype(np.intp), n - 1)
    above = np.minimum(below + 1, n - 1)
    t = virtual - below
    lo, hi = sorted_values[below], sorted_values[above]
    diff = hi - lo
    # numpy's lerp: from the lower value under t = 0.5, from the upper one from there on.
    return np.where(t >= 0.5, hi - diff * (1 - t), lo + diff * t)


@dataclass(frozen=True, kw_only=True)
class MeterParams:
    """The :class:`SpendingMeter`'s knobs: its prior and its two memories."""

    prior: float = 2.5                  # real abandons per expected one, before any is seen
    prior_weight: float = 1.0           # expected abandons' worth of that prior
    memory_s: float = 14400.0           # how long the calibration remembers
    rate_memory_s: float = 180.0        # how long the spending rate remembers


@dataclass(frozen=True, kw_only=True)
class PredictiveParams:
    """The predictive policy's knobs, apart from what it learns (the table in docs/pacing.md says why
    each has its default). The first five come from the campaign's ``pacing:`` section
    (:meth:`with_campaign`); the rest are the model's own, tuned in the experiment log."""

    max_abandon_rate: float = 0.03
    min_level: float = 1.0
    max_level: float = 3.0
    hourly_cap: str = "auto"            # hold clock hours too: always, never, or auto (see holds_hours)
    false_machine_rate: float = 0.0     # share of people AMD takes for machines (unseen abandons)
    warmup_calls: int = 40
    warmup_live: int = 12
    horizons_q: tuple[float, ...] = (0.1, 0.3, 0.5, 0.7, 0.9)   # answer-delay quantiles looked at
    refresh_s: float = 10.0             # rebuild the observed distributions at most this often
    min_talks: int = 30                 # ended conversations needed before predicting agents' return
    window_min_live: int = 300          # answers before the window's rate can put the policy on hold
    spend_z: float = 1.5                # a budget's count is kept this many deviations up
    burstiness: float = 2.0             # variance / mean of a count of abandons (they come in bursts)
    hour_min_count: int = 3             # an hour that may hold fewer abandons answers to the window
    hourly_cap_min_agents: int = HOURLY_CAP_MIN_AGENTS
    max_pace: float = 1.0               # no budget is spent faster than this, in limits
    lift: float = 1.0                   # log of the most θ may rise above its integral at once
    theta_time_s: float = 300.0         # how fast θ follows the rate the budgets allow
    first_theta_share: float = 0.75     # θ before any spending is measured, in limits
    hold_share: float = 0.075           # θ while the window is over the limit, in limits
    pinned_theta: float | None = None   # θ held here, never steered: the model's own frontier
    warmup_bound_z: float = 1.645       # warm-up: the live share is taken this far up its interval
    warmup_spread_z: float = 1.5        # warm-up: the people all calls out may bring, this far up
    warmup_cohort: int = 10             # warm-up: calls surely resolved before the bound is used
    resolve_slack_s: float = 5.0        # a call is surely resolved this long after its ring timeout
    probe_calls: int = 16               # new calls weighed first (all up to the cap if each is safe)
    rise_window_s: float = 120.0        # a jump in the live share is looked for among calls this recent
    rise_z: float = 3.0                 # ... and taken as one this many deviations up (a score test)
    rise_keep_s: float = 30.0           # on a jump, the share's memory restarts from its last seconds
    meter: MeterParams = MeterParams()  # the spending meter's calibration and memories

    def with_campaign(self, pacing: PacingConfig) -> PredictiveParams:
        """These knobs under the campaign's limits: a supervisor's ``pacing:`` settings replace
        the first five, and only those."""
        return replace(self, max_abandon_rate=pacing.pacing_abandon_rate, min_level=pacing.min_dial_level,
                       max_level=pacing.max_dial_level, hourly_cap=pacing.hourly_cap,
                       false_machine_rate=pacing.amd_false_machine_rate)

    @property
    def hold_theta(self) -> float:
        return self.hold_share * self.max_abandon_rate


@dataclass
class PredictivePolicy:
    """callpact's predictive pacing (see the module docstring for the model): fixed knobs
    (``params``) and what it has learned of the campaign so far, which survives a change of
    the knobs (:meth:`reconfigured`)."""

    params: PredictiveParams = PredictiveParams()
    name: str = "callpact"
    meter: SpendingMeter = field(init=False, repr=False)
    theta: float = field(init=False)
    _dists: _Distributions | None = field(default=None, init=False, repr=False)
    _last_now: float | None = field(default=None, init=False, repr=False)
    _last_signature: tuple[int, ...] | None = field(default=None, init=False, repr=False)
    _last_decided: float = field(default=-1e9, init=False, repr=False)
    _dists_at: float = field(default=-1e9, init=False, repr=False)
    _wrap_starts: Counter[float] = field(default_factory=Counter, init=False, repr=False)
    _wrap_seen: deque[float] = field(default_factory=lambda: deque(maxlen=400), init=False, repr=False)
    _wrap_sorted: np.ndarray | None = field(default=None, init=False, repr=False)
    _wrap_last_now: float | None = field(default=None, init=False, repr=False)
    _most_agents: int = field(default=0, init=False, repr=False)
    _first_seen: float | None = field(default=None, init=False, repr=False)
    _placed: deque[tuple[float, int]] = field(default_factory=deque, init=False, repr=False)
    _restarted_at: float = field(default=-1e9, init=False, repr=False)

    def __post_init__(self) -> None:
        self.meter = SpendingMeter(self.params.meter)
        self.theta = self.params.first_theta_share * self.params.max_abandon_rate

    @classmethod
    def for_campaign(cls, pacing: PacingConfig) -> PredictivePolicy:
        return cls(PredictiveParams().with_campaign(pacing))

    def reconfigured(self, pacing: PacingConfig) -> PredictivePolicy:
        """New limits, same learned state."""
        again = copy.copy(self)
        again.params = self.params.with_campaign(pacing)
        return again

    def holds_hours(self, logged_in: int, now: float) -> bool:
        """Whether each clock hour is held to the limit, not only the legal window (the law:
        per campaign per 24 hours); each call also notes the desk's size.

        A big desk's hours are: an hour of a few hundred answers holds enough abandons to spend
        evenly. A small desk's hour holds a count of about five, one burst: held to it,
        small-team-5-high-answer spent 1.2% of its day; answering to the window alone, 2.5%
        and 3.4 points more agent time (docs/pacing-log.md, sixth round). ``auto`` holds the hours
        for the run's first hour (agents still logging in; yesterday's slack in the window) and
        from then on while the most agents logged in at once so far reach ``hourly_cap_min_agents``.
        """
        self._most_agents = max(self._most_agents, logged_in)
        if self._first_seen is None:
            self._first_seen = now
        if self.params.hourly_cap != "auto":
            return self.params.hourly_cap == "always"
        return now - self._first_seen < 3600.0 or self._most_agents >= self.params.hourly_cap_min_agents

    # -- the decision ----------------------------------------------------------------------------
    def calls_to_launch(self, s: PacingState) -> int:
        agents = s.agents
        self._learn_wrap_ups(agents, s.now)
        in_flight = s.calls_ringing + s.calls_waiting_for_agent
        progressive = max(0, agents.idle - in_flight)
        # Agents who leave after this call (agents.away) take none of the calls launched now.
        cap = math.floor(self.params.max_level * agents.staying + 1e-9) - in_flight - agents.talking
        if cap <= 0 or agents.staying <= 0:
            return 0
        obs = s.observed
        if obs is None or not self._trusted(obs):
            return min(max(progressive, self._warmup_calls(s, obs)), cap)
        # Nothing happened since the last decision (no answer, no hang-up, no agent change, no
        # launch): the calls that decision sent are the ones in flight; deciding again is waste.
        signature = (agents.idle, agents.talking, agents.wrapping, agents.logged_in, agents.away,
                     s.calls_ringing, s.calls_waiting_for_agent, obs.version)
        if signature == self._last_signature and s.now - self._last_decided < 3.0:
            self._steer(s, obs, committed=0.0)
            return 0
        self._last_signature, self._last_decided = signature, s.now
        # The distributions move slowly: rebuild them from new observations every few seconds.
        if self._dists is None or (self._dists.version != obs.version
                                   and s.now - self._dists_at >= self.params.refresh_s):
            self._dists, self._dists_at = _Distributions(obs), s.now
        d = self._dists
        if d.p_live <= 0 or d.answer.size == 0:
            return min(progressive, cap)
        ringing = np.asarray(s.ringing_s, float)
        p = self._live_share(s, obs, d, ringing)
        # The first call too risky is nearly always among the first few: look there, and at every
        # count up to the cap only when none of those is (the same answer, a tenth of the work).
        probe = min(cap, max(progressive, self.params.probe_calls))
        abandons = self._expected_abandons(s, d, probe, p, ringing)
        theta = self._steer(s, obs, committed=float(abandons[0]))
        n = first_step_over(abandons / p, theta)
        if n == probe < cap:
            abandons = self._expected_abandons(s, d, cap, p, ringing)
            n = first_step_over(abandons / p, theta)
        if self.params.min_level >= 1.0:
            n = max(n, progressive)
        n = max(0, min(n, cap))
        self.meter.launched(float(abandons[n] - abandons[0]))
        return n

    def _learn_wrap_ups(self, agents: AgentSnapshot, now: float) -> None:
        """Learn how long wrap-ups last: a wrap-up is known by its start (now - time in it so
        far); one gone since the last snapshot ended between the two."""
        if not agents.wrapping_s and not self._wrap_starts:       # nobody wrapping, before or now
            self._wrap_last_now = now
            return
        starts = Counter(round(now - age, 3) for age in agents.wrapping_s)
        ended = self._wrap_starts - starts
        if ended and self._wrap_last_now is not None:
            ended_at = 0.5 * (self._wrap_last_now + now)
            for start, count in ended.items():
                self._wrap_seen.extend([max(0.0, ended_at - start)] * count)
            self._wrap_sorted = None
        self._wrap_starts, self._wrap_last_now = starts, now

    def _wrap_lengths(self) -> np.ndarray:
        """The wrap-ups seen end, sorted (rebuilt only after one more ended)."""
        if self._wrap_sorted is None:
            self._wrap_sorted = np.sort(np.fromiter(self._wrap_seen, float))
        return self._wrap_sorted

    def _wraps_done_by(self, ages: np.ndarray, within: np.ndarray,
                       fixed_wrap: float | None) -> tuple[np.ndarray, np.ndarray]:
        """How many wrap-ups of ``ages`` so far end within each ``within`` (mean, variance), each
        with P(W <= a + h | W >= a): from the wrap-ups seen end once there are enough, else the
        desk's fixed wrap-up time (else: free at once)."""
        if len(self._wrap_seen) >= self.params.min_talks:
            # overdue: free any moment
            return conditional_sums(self._wrap_lengths(), ages, within, np.ones(within.size))
        if fixed_wrap:
            done = (ages[:, None] + within[None, :] >= fixed_wrap).astype(float)
        else:
            done = np.ones((ages.size, within.size))
        return done.sum(axis=0), (done * (1 - done)).sum(axis=0)

    def _warmup_calls(self, s: PacingState, obs: Observations | None) -> int:
        """New calls while the estimates cannot be trusted yet: as many as keep the people that
        every call out may bring, ``warmup_spread_z`` deviations up, within the idle agents, at
        the highest live share the calls seen so far make likely.

        That share is read off a cohort the early answers cannot bias: the calls placed at least
        a ring timeout ago, all resolved by now (the calls resolved so far over-represent
        quick failures, which come first, and would understate it). Its live answers are
        counted as every live answer so far, of any age, and any of its calls still ringing
        past the timeout as one more, which can only overstate the share; the bound is
        Wilson's, ``warmup_bound_z`` up. Until such a cohort exists, and while
        the bound allows no more, this is progressive dialling. Agents about to be free are
        not counted on: the talk times are not known yet.
        """
        if obs is None or s.ring_timeout_s is None:
            return 0
        self._placed.append((s.now, obs.calls_finished + s.calls_ringing))
        resolved_by = s.now - s.ring_timeout_s - self.params.resolve_slack_s
        while len(self._placed) > 1 and self._placed[1][0] <= resolved_by:
            self._placed.popleft()
        if self._placed[0][0] > resolved_by or self._placed[0][1] < self.params.warmup_cohort:
            return 0
        # (A call of the cohort still ringing, past its timeout, is counted as a person.)
        overdue = sum(1 for age in s.ringing_s if age >= s.ring_timeout_s + self.params.resolve_slack_s)
        cohort = self._placed[0][1]
        p = wilson_upper(min(obs.live_answers + overdue, cohort), cohort, self.params.warmup_bound_z)
        free = s.agents.idle - s.calls_waiting_for_agent
        if p >= 1.0 or free <= 0:
            return 0
        # The most calls out, t, with p·t + z·sqrt(p(1-p)·t) <= free (a quadratic in sqrt(t)).
        b = self.params.warmup_spread_z * math.sqrt(p * (1.0 - p))
        root = (-b + math.sqrt(b * b + 4.0 * p * free)) / (2.0 * p)
        return max(0, math.floor(root * root + 1e-9) - s.calls_ringing)

    def _live_share(self, s: PacingState, obs: Observations, d: _Distributions,
                    ringing: np.ndarray) -> float:
        """The share of calls that reach a person: the memory's, unless the calls of the last
        ``rise_window_s`` show it has jumped well above that.

        The memory spans minutes (a few hundred calls), which keeps the estimate steady, but
        then a list that starts answering three times as often is dialled for the old share
        for minutes, and the surplus answers find no agent (a step from 15% to 45% put 16 of
        455 answers of its hour over, 3.5%). Only a rise is looked for: a fall costs agent
        time, not abandons, and the memory catches up with it. On a jump the memory restarts
        from its last ``rise_keep_s`` seconds, so it follows the new share within a minute.
        """
        window = min(self.params.rise_window_s, obs.dials_s)       # (older dials are not kept)
        resolved, live = obs.dialled_since(s.now - window)
        ages = ringing[ringing <= window]
        rise = live_share_rise(d.p_live, resolved, live, 1.0 - share_below(d.answer, ages),
                               1.0 - share_below(d.other, ages), self.params.rise_z)
        if rise is None:
            return d.p_live
        if s.now - self._restarted_at >= self.params.rise_window_s:
            self._restarted_at = s.now
            obs.restart_live_share(self.params.rise_keep_s, s.now)
        return rise

    def _trusted(self, obs: Observations) -> bool:
        k = self.params
        return (obs.calls_finished >= k.warmup_calls and obs.live_answers >= k.warmup_live
                and len(obs.talk_times) >= max(5, k.warmup_live // 2) and len(obs.answer_delays) >= 5)

    def _steer(self, s: PacingState, obs: Observations, committed: float) -> float:
        """θ for this decision: the one at which the spending matches what the budgets allow.

        ``committed`` is the abandons the calls already out are expected to cause (the
        model's figure); calibrated, they count as spent.
        """
        stats = s.stats
        limit = self.params.max_abandon_rate
        dt = 0.0 if self._last_now is None else max(0.0, s.now - self._last_now)
        self._last_now = s.now
        self.meter.update(s.now, live_answers=obs.live_answers, abandoned=stats.abandoned)
        if self.params.pinned_theta is not None:          # (tools/pacing_frontier.py: no budget, no law)
            return self.params.pinned_theta
        # The legal window is over its limit: risk next to nothing until answers dilute it. (Over
        # its first few hundred answers a rate says little; the budgets rule then.)
        if stats.window_live_answers >= self.params.window_min_live and \
                stats.window_abandoned > limit * stats.window_live_answers:
            return self.params.hold_theta
        per_hour = max(obs.live_per_hour(s.now), stats.hour_live_answers)
        wanted = self.allowed_rate(stats, per_hour, self.meter.calibration * committed,
                                   hold_hour=self.holds_hours(s.agents.logged_in, s.now))
        spending = self.meter.spending
        if not spending:            # nothing at risk lately: θ does not bind, so leave it be
            return self.theta
        error = math.log(max(wanted, 1e-6) / spending)
        self.theta *= math.exp(max(-1.0, min(1.0, error)) * dt / self.params.theta_time_s)
        self.theta = min(max(self.theta, limit / 60.0), 4.0 * limit)
        return self.theta * math.exp(max(-2.0, min(self.params.lift, error)))

    def allowed_rate(self, stats: PacingStats, per_hour: float, expected_now: float, *,
                     hold_hour: bool = True) -> float:
        """Abandons per live answer the budgets allow from now on (``expected_now``: the abandons
        the calls already out will cause, counted as spent).

        The window's budget is its legal count an hour ahead; the hour's is the legal count it
        will surely have, spread over the answers left in it (only with ``hold_hour``). Each
        keeps ``spend_z`` deviations of a bursty count in hand, and neither may be spent faster
        than the legal rate.

        With answering-machine detection, the people it takes for machines are abandons too
        (Ofcom), and no dialer sees which they are: ``max_abandon_rate`` already leaves their
        expected number out of the budgets (``PacingConfig.pacing_abandon_rate``), and the hour
        keeps their spread in hand as well, a Poisson count of that mean over the hour.
        """
        k = self.params
        limit = k.max_abandon_rate
        window_left = limit * (stats.window_live_answers + per_hour) - stats.window_abandoned - expected_now
        rate = spendable(window_left, k.spend_z, k.burstiness) / max(per_hour, 1.0)
        into_hour = min(max(stats.hour_elapsed_s / 3600.0, 0.0), 1.0)
        answers_left = max(per_hour * (1.0 - into_hour), 0.0)
        count = hour_sure_count(limit, stats.hour_live_answers, answers_left, k.spend_z)
        if hold_hour and count >= k.hour_min_count:
            hour_left = count - stats.hour_abandoned - expected_now
            unseen = amd_false_positives(stats.hour_live_answers + answers_left, k.false_machine_rate)
            rate = min(rate, spendable(hour_left, k.spend_z, k.burstiness, unseen)
                       / max(answers_left, 0.05 * per_hour, 1.0))
        return min(rate, k.max_pace * limit)

    def _expected_abandons(self, s: PacingState, d: _Distributions, cap: int, p: float,
                           ringing: np.ndarray) -> np.ndarray:
        """Expected abandons of the calls already out plus k = 0..cap new ones (index k), for a
        live share ``p`` (``ringing``: ``s.ringing_s`` as an array)."""
        horizons = d.answer_quantiles(self.params.horizons_q)
        # An agent freed a little after the answer still helps; half the patience, because the
        # people counted by a horizon were answered before it, not all at it.
        reach = horizons + 0.5 * s.agent_patience_s
        wrap = s.typical_wrap_s if s.typical_wrap_s is not None else (
            float(self._wrap_lengths().mean()) if self._wrap_seen else 0.0)

        # Agents free by each horizon.
        free_mu, free_var = np.full(reach.size, float(s.agents.idle)), np.zeros(reach.size)
        # A talking agent can be free by a horizon only if a wrap-up fits before it (with long
        # wrap-ups, none does: skip the agents x horizons work, which would add exact zeros).
        if s.agents.talking_s and d.talk.size >= self.params.min_talks and reach.max() > wrap:
            # (Before enough conversations have ended, the ones that did are the short ones:
            # trusting them would expect agents back too soon. Count only idle agents then.)
            mu, var = d.talks_done_by(np.asarray(s.agents.talking_s, float), reach - wrap)
            free_mu, free_var = free_mu + mu, free_var + var
        if s.agents.wrapping_s:
            mu, var = self._wraps_done_by(np.asarray(s.agents.wrapping_s, float), reach, s.typical_wrap_s)
            free_mu, free_var = free_mu + mu, free_var + var

        # People on the line by each horizon, from the calls already out.
        live_mu, live_var = np.full(reach.size, float(s.calls_waiting_for_agent)), np.zeros(reach.size)
        if ringing.size:
            mu, var = ringing_sums(d.answer, d.other, ringing, horizons, p)
            live_mu, live_var = live_mu + mu, live_var + var

        q_new = p * cdf(d.answer, horizons)                       # one new call, by each horizon
        # People who find no agent leave, so the abandons up to a moment are the largest
        # shortfall reached so far (a reflected process): estimate them, for k = 0..cap new
        # calls, by the largest expected shortfall over the horizons.
        return max_shortfall(live_mu - free_mu, live_var + free_var, q_new, cap)


@dataclass
class SpendingMeter:
    """How fast the abandon budget is being spent, read from the model's expected abandons.

    Real abandons are few and come in bursts: an hour of 200 answers holds about
    five, so a rate read from them swings for an hour. The model's expected
    abandons of each launch are a smooth stand-in, but they undercount (2–4×, by an
    amount that depends on the campaign): ``calibration`` learns the real ones per
    expected one, with a slowly fading memory, from a prior worth a few abandons.
    """

    params: MeterParams = MeterParams()
    _new: float = field(default=0.0, init=False)
    _expected: float = field(default=0.0, init=False)
    _real: float = field(default=0.0, init=False)
    _recent_expected: float = field(default=0.0, init=False)
    _recent_live: float = field(default=0.0, init=False)
    # (time, live answers, abandoned) at the last update
    _seen: tuple[float, int, int] | None = field(default=None, init=False)

    def launched(self, expected_abandons: float) -> None:
        """Calls went out that are expected to cause this many abandons (the model's figure)."""
        self._new += expected_abandons

    def update(self, now: float, *, live_answers: int, abandoned: int) -> None:
        """Take in the launches since the last update and the campaign's totals so far."""
        if self._seen is None:
            self._seen = (now, live_answers, abandoned)
        then, live_then, abandoned_then = self._seen
        dt = max(0.0, now - then)
        fade, decay = math.exp(-dt / self.params.memory_s), math.exp(-dt / self.params.rate_memory_s)
        self._expected = self._expected * fade + self._new
        self._real = self._real * fade + max(0, abandoned - abandoned_then)
        self._recent_expected = self._recent_expected * decay + self._new
        self._recent_live = self._recent_live * decay + max(0, live_answers - live_then)
        self._new = 0.0
        self._seen = (now, live_answers, abandoned)

    @property
    def calibration(self) -> float:
        p = self.params
        return (self._real + p.prior * p.prior_weight) / (self._expected + p.prior_weight)

    @property
    def spending(self) -> float | None:
        """Abandons per live answer over the last few minutes, calibrated (None: no answers yet)."""
        if self._recent_live < 1.0:
            return None
        return self.calibration * self._recent_expected / self._recent_live


def spendable(left: float, z: float, burstiness: float, unseen_var: float = 0.0) -> float:
    """The mean count ``m`` with ``m + z·sqrt(burstiness·m + unseen_var) = left``: the abandons to
    expect from a budget of ``left`` so that, ``z`` deviations up, it still holds (``unseen_var``:
    the variance of abandons no dialer sees, AMD's false positives, already out of ``left``)."""
    if left <= 0:
        return 0.0
    if unseen_var > 0:
        # (left - m)² = z²(D·m + V), the smaller root; nothing while the spread alone fills left.
        b = 2.0 * left + z * z * burstiness
        c = left * left - z * z * unseen_var
        if c <= 0:
            return 0.0
        return (b - math.sqrt(b * b - 4.0 * c)) / 2.0
    root = (-z * math.sqrt(burstiness) + math.sqrt(z * z * burstiness + 4.0 * left)) / 2.0
    return root * root


def hour_legal_count(limit: float, answers: float) -> int:
    """The most abandons an hour of ``answers`` live answers may hold (at least one to plan with)."""
    return max(1, math.floor(limit * answers + 1e-9))


def hour_sure_count(limit: float, answered: int, to_come: float, z: float) -> int:
    """The hour's legal count that its answers will surely reach: those so far and, of the
    ``to_come`` expected, ``z`` (Poisson) deviations fewer. Planned on the expected answers,
    an hour that brought a few less would find its last abandon over the limit."""
    return hour_legal_count(limit, answered + max(0.0, to_come - z * math.sqrt(to_come)))


def live_share_rise(p0: float, resolved: int, live: int, answer_left: np.ndarray,
                    other_left: np.ndarray, z: float) -> float | None:
    """The live share of a cohort of calls, if it is ``z`` deviations above ``p0``; else None.

    The cohort is every call dialled since some moment: ``resolved`` of them have stopped
    ringing (``live`` reached a person), and the rest are still ringing, each a chance
    ``answer_left`` of a person's call (the answer delays at least its age) and
    ``other_left`` of another's. Its log-likelihood in the share ``p`` is
    ``live·log p + (resolved - live)·log(1 - p) + Σ log(p·a + (1 - p)·b)``: the calls still
    ringing count for what their age says, so a cohort just launched, whose answers come
    first, does not look richer than it is. A score test at ``p0`` decides (one pass over the
    calls, about 34 µs a decision with the counting); only then is the most likely share
    found, by bisection on the score.
    """
    if not 0.0 < p0 < 1.0:
        return None
    # A call just dialled says nothing (p·1 + (1 - p)·1); one ringing longer than any call that
    # ended unanswered would count as a sure answer, where it is one whose end is late (the
    # "phantom answers" of ringing_sums): neither is weighed.
    informative = (answer_left != other_left) & (other_left > 0.0)
    a, b = answer_left[informative], other_left[informative]
    not_live = resolved - live
    if resolved + a.size < 10:
        return None

    def score(p: float) -> tuple[float, float]:
        """The log-likelihood's slope at ``p`` and its curvature (the observed information)."""
        mix = np.maximum(p * a + (1.0 - p) * b, 1e-12)
        ratio = (a - b) / mix
        return (live / p - not_live / (1.0 - p) + float(ratio.sum()),
                live / (p * p) + not_live / (1.0 - p) ** 2 + float((ratio * ratio).sum()))

    slope, info = score(p0)
    if slope <= 0.0 or slope * slope <= z * z * info:
        return None
    lo, hi = p0, 1.0 - 1e-9
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        if score(mid)[0] > 0.0:
            lo = mid
        else:
            hi = mid
    return lo


def wilson_upper(successes: int, trials: int, z: float) -> float:
    """The upper end of Wilson's score interval for a share (1 with no trials)."""
    if trials <= 0:
        return 1.0
    share = successes / trials
    z2 = z * z
    centre = share + z2 / (2 * trials)
    spread = z * math.sqrt(share * (1.0 - share) / trials + z2 / (4 * trials * trials))
    return min(1.0, (centre + spread) / (1.0 + z2 / trials))


def first_step_over(cost: np.ndarray, theta: float) -> int:
    """How many new calls to launch: the k-th goes while the cost it adds stays within ``theta``.

    ``cost[k]`` is the cost (expected abandons per expected person reached) of k new calls; the
    steps grow with k (E[(X)+] is convex in the mean), so the first step over ``theta`` ends it.
    """
    too_risky = np.flatnonzero(cost[1:] - cost[:-1] > theta)
    return int(too_risky[0]) if too_risky.size else len(cost) - 1
