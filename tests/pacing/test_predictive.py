"""The predictive policy as a pure function of what it sees (no engine, no clock)."""

from __future__ import annotations

import copy
import dataclasses
import itertools
import math
import random
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from dialer.core.telephony import AgentSnapshot
from dialer.pacing.policy import Observations, PacingState, PacingStats
from dialer.pacing.predictive import (
    MeterParams,
    PredictiveParams,
    PredictivePolicy,
    SpendingMeter,
    first_step_over,
    hour_legal_count,
    hour_sure_count,
    live_share_rise,
    sorted_quantiles,
    spendable,
    wilson_upper,
)
from dialer.pacing.settings import PacingConfig
from dialer.pacing.sums import expected_shortfall, share_below


def observations(live_share: float, *, answer_mean: float = 16.0, talk_mean: float = 120.0,
                 n: int = 400, seed: int = 1) -> Observations:
    rng = random.Random(seed)
    obs = Observations()
    for i in range(n):
        live = rng.random() < live_share
        if live:
            obs.call_resolved(True, rng.lognormvariate(0, 0.35) * answer_mean)
            obs.talk_times.append(rng.lognormvariate(0, 0.5) * talk_mean)
        else:
            obs.call_resolved(False, rng.choice([1.0, 25.0, 18.0]))
        obs.call_finished(live, at=float(i))
    return obs


def state(*, logged_in: int = 20, idle: int = 0, talking: tuple[float, ...] = (),
          ringing: tuple[float, ...] = (), waiting: int = 0, obs: Observations | None = None,
          stats: PacingStats | None = None, now: float = 10_000.0) -> PacingState:
    agents = AgentSnapshot(logged_in, idle, talking, (0.0,) * (logged_in - idle - len(talking)))
    return PacingState(agents=agents, calls_ringing=len(ringing), calls_waiting_for_agent=waiting,
                       lines_in_use=len(ringing) + waiting + len(talking), max_lines=1000,
                       stats=stats or PacingStats(), max_abandon_rate=0.03, now=now, ringing_s=ringing,
                       observed=obs, agent_patience_s=2.0, typical_wrap_s=10.0)


def test_expected_shortfall_matches_the_normal_closed_form() -> None:
    import numpy as np

    # E[X+] of N(0, 1) is 1/sqrt(2π); far above zero it is the mean; far below, zero.
    values = expected_shortfall(np.array([0.0, 10.0, -10.0]), np.array([1.0, 1.0, 1.0]))
    assert values[0] == pytest.approx(0.398942, abs=1e-5)
    assert values[1] == pytest.approx(10.0, abs=1e-6)
    assert values[2] == pytest.approx(0.0, abs=1e-6)


def test_the_horizons_are_numpys_quantiles_to_the_last_bit() -> None:
    # The policy reads its horizons off sorted delays without numpy's partition; a decision may
    # sit on a threshold, so anything but the same floats would change simulated days.
    rng = np.random.default_rng(5)
    qs = (0.1, 0.3, 0.5, 0.7, 0.9)
    for n in [1, 2, 3, 5, 7, 10, 41, 399, 400]:
        for values in (rng.lognormal(2.7, 0.45, n), np.round(rng.uniform(0, 30, n), 1), np.full(n, 14.0)):
            ordered = np.sort(values)
            assert np.array_equal(sorted_quantiles(ordered, qs), np.quantile(ordered, qs))
    assert np.array_equal(sorted_quantiles(np.array([1.0, 2.0]), (0.0, 0.5, 1.0)), [1.0, 1.5, 2.0])


def test_with_little_data_it_dials_one_call_per_idle_agent() -> None:
    policy = PredictivePolicy()
    few = observations(0.25, n=20)
    assert policy.calls_to_launch(state(idle=5, talking=(30.0,) * 15, obs=few)) == 5
    assert policy.calls_to_launch(state(idle=5, talking=(30.0,) * 15, ringing=(3.0, 4.0), obs=few)) == 3


def test_on_a_big_desk_the_live_share_is_read_over_minutes_not_the_last_few_hundred_calls() -> None:
    # 200 agents on a 7.5% list resolve 400 calls in about 16 s, and in bursts: a batch launched
    # together ends its no-answers at the ring timeout together. Ten seconds of a batch's
    # timeouts (250 calls, none live) after minutes at the list's real share must not read as a
    # list where hardly anybody answers (the last 400 alone: 11 live of 400, 2.8%).
    obs = Observations()
    for i in range(7500):                          # 300 s at 25 calls a second, 7.5% live
        obs.call_resolved(i % 40 < 3, 14.0 if i % 40 < 3 else 25.0, at=i / 25.0)
    for i in range(250):
        obs.call_resolved(False, 25.0, at=300.0 + i / 25.0)
    assert len(obs.live_flags) > 2900               # the last two minutes
    assert obs.live_rate() > 0.065
    assert len(obs.answer_delays) > 200 and len(obs.other_delays) > 2600
    # A small desk keeps its last 400: those span more than the two minutes.
    small = Observations()
    for i in range(2000):
        small.call_resolved(i % 4 == 0, 14.0, at=i * 2.0)
    assert len(small.live_flags) == 400 and small.live_rate() == 0.25
    assert len(small.answer_delays) == 400


def test_calls_are_counted_by_the_second_they_were_dialled_not_resolved() -> None:
    obs = Observations()
    obs.call_resolved(False, 25.0, at=130.0)          # dialled at 105
    obs.call_resolved(True, 14.0, at=125.0)           # dialled at 111
    obs.call_resolved(True, 3.0, at=126.5)            # dialled at 123.5
    assert obs.dialled_since(105.0) == (3, 2)
    assert obs.dialled_since(110.2) == (2, 2)         # (to the whole second: 110 on)
    assert obs.dialled_since(124.0) == (0, 0)
    # Only the last couple of minutes are kept.
    for i in range(400):
        obs.call_resolved(False, 25.0, at=1000.0 + i)
    assert obs.dialled_since(0.0)[0] <= 200


def _ages_left(ages: list[float], answer: np.ndarray, other: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(ages, float)
    return 1.0 - share_below(answer, a), 1.0 - share_below(other, a)


def test_a_jump_in_the_live_share_is_seen_in_the_calls_of_the_last_two_minutes() -> None:
    answer = np.sort(np.random.default_rng(3).lognormal(np.log(14.0), 0.4, 400))
    other = np.sort(np.r_[np.full(300, 25.0), np.random.default_rng(4).uniform(1, 20, 100)])
    # The memory says 12%; of 40 calls dialled since, 16 reached a person, 20 did not, and 4
    # are still ringing, near the ring timeout (likely no-answers).
    a, b = _ages_left([22.0, 23.0, 24.0, 24.0], answer, other)
    rise = live_share_rise(0.12, 36, 16, a, b, z=3.0)
    assert rise is not None and 0.38 < rise < 0.44
    # 6 of 40 is the memory's share: no jump.
    assert live_share_rise(0.12, 36, 5, a, b, z=3.0) is None
    # A batch just launched: its answers are in, its no-answers still ringing. Counted as
    # resolved calls only, 12 of 16 would look like 75%, a jump; the 60 calls ringing for 20 s,
    # most past the answers' typical delay, say the share is about what the memory holds.
    young = _ages_left([20.0] * 60, answer, other)
    assert live_share_rise(0.12, 16, 12, a[:0], b[:0], z=3.0) is not None
    assert live_share_rise(0.12, 16, 12, *young, z=3.0) is None
    # A lower share is never taken up here (the memory catches up with a fall; a fall costs
    # agent time, not abandons), nor is a handful of calls.
    assert live_share_rise(0.40, 40, 2, a, b, z=3.0) is None
    assert live_share_rise(0.12, 4, 4, a[:0], b[:0], z=3.0) is None


def first_wave(live: int, resolved: int) -> Observations:
    obs = Observations()
    for i in range(resolved):
        obs.call_resolved(i < live, 14.0 if i < live else 25.0)
    return obs


def warm_up(policy: PredictivePolicy, live: int, *, idle: int = 20, at: float = 31.0) -> int:
    """A campaign's first 20 calls: placed at 0 s, ``live`` of them answered by people (now
    talking), the rest unanswered; the decision asked for ``at`` seconds later."""
    ringing_then = replace(state(idle=20, obs=Observations(), now=1.0), calls_ringing=20,
                           ringing_s=(1.0,) * 20, ring_timeout_s=25.0)
    policy.calls_to_launch(replace(ringing_then, now=0.0, calls_ringing=0, ringing_s=()))
    policy.calls_to_launch(ringing_then)
    later = state(idle=idle, talking=(20.0,) * (20 - idle), obs=first_wave(live, 20), now=at)
    return policy.calls_to_launch(replace(later, ring_timeout_s=25.0))


def test_the_warm_up_dials_ahead_once_a_ring_timeouts_worth_of_calls_has_resolved() -> None:
    # 2 of the first 20 calls reached a person: the live share is at most ~26% (Wilson, 95%
    # one-sided), so 18 idle agents can take the people of about 50 calls even 1.5 deviations up.
    n = warm_up(PredictivePolicy(), live=2, idle=18)
    p = wilson_upper(2, 20, 1.645)
    assert 0.2 < p < 0.3
    assert n > 2 * 18
    def people_up(calls: int) -> float:
        return p * calls + 1.5 * math.sqrt(p * (1 - p) * calls)
    assert people_up(n) <= 18 < people_up(n + 1)


def test_the_warm_up_is_progressive_before_any_call_can_have_rung_out() -> None:
    # 25 s into the campaign the calls that have resolved are the quick failures: the share of
    # people among them says nothing yet, so one call per idle agent.
    assert warm_up(PredictivePolicy(), live=0, idle=20, at=25.0) == 20
    # Where half of the first calls reached a person, the bound allows barely more than that.
    assert warm_up(PredictivePolicy(), live=10, idle=10) == 11


def test_without_a_ring_timeout_the_warm_up_is_progressive() -> None:
    policy = PredictivePolicy()
    few = first_wave(2, 20)
    assert policy.calls_to_launch(state(idle=18, talking=(20.0,) * 2, obs=few, now=0.0)) == 18
    assert policy.calls_to_launch(state(idle=18, talking=(20.0,) * 2, obs=few, now=60.0)) == 18


def test_idle_agents_get_several_calls_each_when_a_quarter_of_calls_reach_someone() -> None:
    policy = PredictivePolicy()
    n = policy.calls_to_launch(state(idle=4, talking=(10.0,) * 16, obs=observations(0.25)))
    assert 4 < n <= 4 * 6          # more than progressive, far less than filling every line


def test_a_lower_answer_rate_means_more_calls_for_the_same_agents() -> None:
    s_good = state(idle=4, talking=(10.0,) * 16, obs=observations(0.40))
    s_poor = state(idle=4, talking=(10.0,) * 16, obs=observations(0.15))
    assert PredictivePolicy().calls_to_launch(s_poor) > PredictivePolicy().calls_to_launch(s_good)


def test_agents_about_to_finish_are_dialled_for_before_they_are_free() -> None:
    obs = observations(0.25, talk_mean=60.0)
    just_started = state(idle=2, talking=(1.0,) * 18, obs=obs)
    near_the_end = state(idle=2, talking=(90.0,) * 18, obs=obs)       # past the typical 60 s call
    policy = PredictivePolicy()
    assert policy.calls_to_launch(near_the_end) > 2 * PredictivePolicy().calls_to_launch(just_started)


def test_it_never_exceeds_the_maximum_dial_level() -> None:
    policy = PredictivePolicy(PredictiveParams(max_level=2.0))
    s = state(logged_in=10, idle=10, obs=observations(0.02, n=2000))   # few answer: wants many
    assert policy.calls_to_launch(s) == 20
    s = state(logged_in=10, idle=5, talking=(5.0,) * 5, ringing=(1.0,) * 14, obs=observations(0.02, n=2000))
    assert policy.calls_to_launch(s) == 1                     # 2 x 10 - 14 ringing - 5 talking


def test_weighing_the_first_few_calls_first_gives_the_answer_weighing_all_would() -> None:
    # A poor list with every agent idle wants far more calls than are weighed first; a good list
    # with one idle agent wants fewer. Either way the count is the one weighing every call gives.
    counts = []
    for obs, idle in ((observations(0.03, n=2000), 20), (observations(0.25), 4), (observations(0.6), 1)):
        s = state(idle=idle, talking=(30.0,) * (20 - idle), obs=obs)
        quick = PredictivePolicy(PredictiveParams(max_level=10.0)).calls_to_launch(s)
        every = PredictivePolicy(PredictiveParams(max_level=10.0, probe_calls=1000))
        assert quick == every.calls_to_launch(s)
        counts.append(quick)
    assert counts[0] > PredictiveParams.probe_calls > counts[-1]


def test_over_the_abandon_limit_it_dials_only_for_agents_nearly_sure_to_be_free() -> None:
    over = PacingStats(window_live_answers=400, window_abandoned=14)   # 3.5%
    obs = observations(0.25)
    for talking in ((10.0,) * 16, (200.0,) * 16):          # calls just begun; calls past their typical end
        normal = PredictivePolicy().calls_to_launch(state(idle=4, talking=talking, obs=obs))
        held = PredictivePolicy().calls_to_launch(state(idle=4, talking=talking, obs=obs, stats=over))
        assert 4 <= held < normal          # never below progressive, and far more careful than usual
    # Agents deep into long calls will be free soon: holding still dials ahead for them, which
    # progressive dialling (one call per idle agent) would not.
    assert PredictivePolicy().calls_to_launch(state(idle=4, talking=(200.0,) * 16, obs=obs, stats=over)) > 4


def test_the_hours_legal_count_is_whole_abandons() -> None:
    assert hour_legal_count(0.03, 199.0) == 5             # 5.97: a sixth abandon would be 3.02%
    assert hour_legal_count(0.03, 200.0) == 6
    assert hour_legal_count(0.03, 3500.0) == 105
    assert hour_legal_count(0.03, 10.0) == 1              # a thin hour still plans with one


def test_the_hour_plans_with_the_count_its_answers_will_surely_reach() -> None:
    assert hour_sure_count(0.03, 0, 470.0, 1.5) == 13        # 470 expected, 437.5 sure: not 14
    assert hour_sure_count(0.03, 466, 4.0, 1.5) == 14        # near the end the count is known
    assert hour_sure_count(0.03, 200, 0.0, 1.5) == hour_legal_count(0.03, 200.0) == 6


def test_a_budget_expects_to_spend_its_count_less_a_margin_for_bursts() -> None:
    for left in (1.0, 6.0, 14.0, 100.0):
        m = spendable(left, 1.5, 2.0)
        assert m + 1.5 * math.sqrt(2.0 * m) == pytest.approx(left)     # 1.5 deviations up: the count
    assert spendable(0.0, 1.5, 2.0) == spendable(-2.0, 1.5, 2.0) == 0.0
    # The margin is a smaller share of a larger count: an hour of 14 may plan with more of it.
    shares = [spendable(count, 1.5, 2.0) / count for count in (6.0, 14.0, 100.0)]
    assert shares == sorted(shares) and shares[0] < 0.5 < shares[1]


def _allowed(used: int = 0, *, expected_now: float = 0.0, per_hour: float = 470.0, into_s: float = 1800.0,
             window: tuple[int, int] = (2000, 40), hold_hour: bool = True) -> float:
    """The rate the budgets allow with ``used`` abandons this hour (470 answers an hour, half-way:
    a sure count of 13)."""
    stats = PacingStats(window_live_answers=window[0], window_abandoned=window[1],
                        hour_live_answers=int(per_hour * into_s / 3600.0), hour_abandoned=used,
                        hour_elapsed_s=into_s)
    return PredictivePolicy().allowed_rate(stats, per_hour, expected_now, hold_hour=hold_hour)


def test_the_rate_allowed_falls_as_the_hours_count_is_spent_and_is_nil_when_it_is() -> None:
    rates = [_allowed(used) for used in range(14)]
    assert rates[0] == 0.03                    # plenty left: the legal pace, never faster
    assert all(a > b for a, b in itertools.pairwise(rates[1:]))
    assert rates[-1] == 0.0
    assert rates[9] < 0.5 * 0.03               # 4 left for the half hour's 235 answers
    # The abandons the calls already out will cause count as spent.
    assert _allowed(8, expected_now=3.0) == pytest.approx(_allowed(11))
    assert _allowed(8, expected_now=5.0) == 0.0


def test_what_is_left_of_the_hour_may_be_spent_faster_as_the_hour_runs_out() -> None:
    assert _allowed(6, into_s=900.0) < _allowed(6, into_s=1800.0) < _allowed(6, into_s=3000.0)


def test_an_hour_too_thin_for_three_abandons_answers_to_the_window_only() -> None:
    # 70 answers an hour (a legal count of 2), both spent: the window still has room.
    assert _allowed(2, per_hour=70.0, window=(400, 5)) > 0.0
    assert _allowed(3, per_hour=140.0, window=(400, 5)) == 0.0     # a count of 3 is kept
    assert _allowed(0, per_hour=70.0, window=(400, 15)) == 0.0     # and the window's own count too


def test_a_small_desk_answers_to_the_window_alone_and_a_big_one_holds_its_hours_too() -> None:
    # The hour's count (13) is spent; the 24-hour window (2000 answers, 40 abandons) has room.
    assert _allowed(13) == 0.0
    assert _allowed(13, hold_hour=False) > 0.01
    small = PredictivePolicy()
    assert small.holds_hours(5, now=0.0)        # auto: the first hour is held (agents log in)...
    assert not small.holds_hours(5, now=3600.0)  # ...then five agents are a small desk
    assert small.holds_hours(20, now=4000.0)    # twenty are not...
    assert small.holds_hours(12, now=9000.0)    # ...and stay held when some go to lunch
    assert PredictivePolicy(PredictiveParams(hourly_cap="always")).holds_hours(5, now=1e6)
    assert not PredictivePolicy(PredictiveParams(hourly_cap="never")).holds_hours(100, now=0.0)


def test_the_meter_learns_how_far_the_model_undercounts_the_abandons() -> None:
    meter = SpendingMeter()
    live = abandoned = 0
    for minute in range(240):                  # four hours: 4 answers a minute, expected 0.04
        live += 4
        abandoned += minute % 10 == 0          # real: 0.1 a minute, 2.5x the model's figure...
        meter.launched(0.04)
        meter.update(60.0 * minute, live_answers=live, abandoned=abandoned)
    assert meter.calibration == pytest.approx(2.5, rel=0.1)
    assert meter.spending == pytest.approx(0.1 / 4, rel=0.1)        # ... so 2.5% of answers
    for minute in range(240, 480):             # then the model is right
        live += 4
        abandoned += minute % 25 == 0
        meter.launched(0.04)
        meter.update(60.0 * minute, live_answers=live, abandoned=abandoned)
    assert meter.calibration < 1.75            # more than half-way back in four hours: it follows


def _steered(spending: float, minutes: int = 30) -> tuple[float, float, PredictivePolicy]:
    """Run the policy's θ loop with the model's expected abandons at ``spending`` per answer
    (the meter calibrated to 1); return the first θ, the last, and the policy."""
    policy = PredictivePolicy(PredictiveParams(meter=MeterParams(prior=1.0, prior_weight=1e6)))
    obs = observations(0.25)
    first = policy.theta
    for second in range(0, 60 * minutes, 5):
        obs.call_resolved(True, 10.0)                             # an answer every 5 s: 720 an hour
        obs.call_finished(True, at=10_000.0 + second)
        policy.meter.launched(spending)
        stats = PacingStats(hour_live_answers=second // 5, hour_elapsed_s=float(second),
                            window_live_answers=second // 5 + 1000, window_abandoned=10)
        theta = policy._steer(state(stats=stats, obs=obs, now=10_000.0 + second), obs, 0.0)
    return first, theta, policy


def test_theta_falls_while_the_spending_runs_above_what_the_budgets_allow_and_rises_below() -> None:
    first, over, _ = _steered(0.05)            # 5% of answers: far above the legal rate
    assert over < first / 3
    first, under, _ = _steered(0.002)          # 0.2%: far below
    assert under > 2 * first


def test_a_spent_hour_cuts_theta_at_once() -> None:
    _, theta, policy = _steered(0.01, minutes=20)
    stats = PacingStats(abandoned=21, hour_live_answers=240, hour_abandoned=21, hour_elapsed_s=1200.0,
                        window_live_answers=1240, window_abandoned=31)
    policy.meter.launched(0.01)
    obs = observations(0.25)
    spent = policy._steer(state(stats=stats, obs=obs, now=10_000.0 + 1205), obs, 0.0)
    assert spent < 0.14 * theta


def test_a_supervisors_new_limits_keep_what_the_policy_has_learned() -> None:
    # Twenty minutes of spending far below the budgets have raised θ; lowering the dial level
    # mid-day must not send the policy back to its first guess, nor forget the meter.
    first, _, policy = _steered(0.002, minutes=20)
    changed = policy.reconfigured(PacingConfig(max_dial_level=2.0, hourly_cap="never"))
    assert changed.params.max_level == 2.0 and changed.params.hourly_cap == "never"
    assert changed.params.theta_time_s == policy.params.theta_time_s      # the model's own knobs stay
    assert changed.theta == policy.theta > 2 * first
    assert changed.meter is policy.meter
    s = state(logged_in=10, idle=10, obs=observations(0.02, n=2000))     # few answer: wants many
    assert changed.calls_to_launch(s) == 20                               # 2 x 10 agents


def test_agents_in_a_long_wrap_up_are_not_counted_as_free_at_once() -> None:
    obs = observations(0.25)
    agents = AgentSnapshot(20, 0, (1.0,) * 10, (0.0,) * 10)
    short = replace(state(obs=obs), agents=agents, typical_wrap_s=5.0)
    long = replace(state(obs=obs), agents=agents, typical_wrap_s=60.0)
    assert PredictivePolicy().calls_to_launch(long) < PredictivePolicy().calls_to_launch(short) / 2


def test_agents_who_leave_after_their_call_are_not_dialled_for() -> None:
    # Lunch: 10 of 15 talking agents log out when their call ends. Calls launched for them would
    # be answered by people who find nobody; only the 5 idle and the 5 talkers who stay count.
    obs = observations(0.25)
    talks = tuple(float(100 + 10 * i) for i in range(15))
    desk = state(idle=5, talking=talks, obs=obs)

    def launched(agents: AgentSnapshot) -> int:
        return PredictivePolicy().calls_to_launch(replace(desk, agents=agents))

    everyone_returns = launched(AgentSnapshot(20, 5, talks))
    ten_leave = launched(AgentSnapshot(20, 5, talks[:5], away_talking_s=talks[5:]))
    assert ten_leave < everyone_returns
    assert ten_leave == launched(AgentSnapshot(10, 5, talks[:5]))      # as if they had gone already
    assert launched(AgentSnapshot(20, 5, (), away_talking_s=talks)) == launched(AgentSnapshot(5, 5, ()))
    assert launched(AgentSnapshot(15, 0, (), away_talking_s=talks)) == 0   # nobody stays: no call


def test_a_call_ending_now_frees_nobody_before_a_wrap_up_longer_than_every_horizon() -> None:
    # Agents deep into long calls would end them any second, but a 60 s wrap-up follows: nobody
    # they free can take a person answered within the look-ahead, so they change nothing.
    obs = observations(0.25)
    policy = PredictivePolicy()
    ending = replace(state(idle=3, talking=(900.0,) * 17, obs=obs), typical_wrap_s=60.0)
    nobody = replace(ending, agents=AgentSnapshot(20, 3, ()))
    d, none_ringing = _dists(obs), np.asarray(ending.ringing_s, float)
    assert np.array_equal(policy._expected_abandons(ending, d, 20, d.p_live, none_ringing),
                          policy._expected_abandons(nobody, d, 20, d.p_live, none_ringing))
    short_wrap = replace(ending, typical_wrap_s=1.0)
    assert PredictivePolicy().calls_to_launch(short_wrap) > PredictivePolicy().calls_to_launch(ending)


def _dists(obs: Observations):
    from dialer.pacing.predictive import _Distributions

    return _Distributions(obs)


def _learned_30s_wrap_ups(policy: PredictivePolicy) -> float:
    """Show the policy 40 conversations each followed by a 30 s wrap-up; return the time after."""
    t = 0.0
    for _ in range(40):
        for dt in range(0, 31):                                          # a snapshot a second
            policy._learn_wrap_ups(AgentSnapshot(20, 19, (), (float(dt),)), t + dt)
        policy._learn_wrap_ups(AgentSnapshot(20, 20, ()), t + 31.0)      # free again
        t += 100.0
    return t


def test_wrap_ups_are_learned_from_the_snapshots() -> None:
    policy = PredictivePolicy()
    _learned_30s_wrap_ups(policy)
    assert len(policy._wrap_seen) == 40
    assert all(w == pytest.approx(30.5) for w in policy._wrap_seen)   # ended between two snapshots


def test_agents_near_the_end_of_their_wrap_up_are_dialled_for_sooner() -> None:
    obs = observations(0.25)

    def calls_at(age: float, p: PredictivePolicy, typical: float | None) -> int:
        s = replace(state(obs=obs), agents=AgentSnapshot(20, 10, (), (age,) * 10), typical_wrap_s=typical)
        return copy.deepcopy(p).calls_to_launch(s)

    learned = PredictivePolicy()
    _learned_30s_wrap_ups(learned)
    assert calls_at(29.0, learned, None) > calls_at(2.0, learned, None)
    # Before any wrap-up was seen end, the desk's wrap-up setting says the same.
    fresh = PredictivePolicy()
    assert calls_at(29.0, fresh, 30.0) > calls_at(2.0, fresh, 30.0)


def test_calls_go_out_while_each_one_adds_no_more_than_theta() -> None:
    cost = np.array([0.0, 0.001, 0.003, 0.006, 0.010, 0.015])      # steps .001 .002 .003 .004 .005
    assert first_step_over(cost, 0.0025) == 2
    assert first_step_over(cost, 0.0) == 0
    assert first_step_over(cost, 1.0) == 5                         # all of them: the cap decides


def test_no_agents_no_calls() -> None:
    assert PredictivePolicy().calls_to_launch(state(logged_in=0, obs=observations(0.25))) == 0



def test_the_knob_table_in_the_docs_names_every_knob_with_its_default() -> None:
    # docs/pacing.md is where a reader learns what each knob does and why it has its default; a
    # knob added, renamed or re-tuned in the code without it would leave the table lying.
    doc = (Path(__file__).resolve().parents[2] / "docs" / "pacing.md").read_text()
    section = doc[doc.index("## The knobs"):doc.index("## Tuning it")]
    knobs = {f"{prefix}{f.name}": f.default
             for prefix, params in (("", PredictiveParams), ("meter.", MeterParams))
             for f in dataclasses.fields(params) if f.name != "meter"}
    tabled: list[str] = []
    for first, default in re.findall(r"^\| (`[^|]*)\| ([^|]*)\|", section, re.M):
        names = re.findall(r"`([a-z_.]+)`", first)
        written = [_cell(v) for v in re.findall(r"\d+(?:\.\d+)?|none|`\w+`", default.split("(")[0])]
        in_code = [v for name in names for v in _flat(knobs.get(name, "(not a knob)"))]
        assert written == in_code, f"{names}: the table says {default.strip()!r}, the code {in_code}"
        tabled += names
    assert sorted(tabled) == sorted(knobs)


def _cell(text: str) -> object:
    """A default as the table writes it: a number, ``none`` or a word in backticks."""
    return None if text == "none" else text.strip("`") if text.startswith("`") else float(text)


def _flat(default: object) -> list[object]:
    return [v for item in default for v in _flat(item)] if isinstance(default, tuple) else [default]
