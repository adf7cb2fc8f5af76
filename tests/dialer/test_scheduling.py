"""Retry timing, attempt caps, quiet periods, phone rotation and priority."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.campaign import CampaignConfig, parse_campaign
from dialer.core.records import Debtor, DebtorState, DebtorStatus, Outcome
from dialer.scheduling import dial_check, first_due, follow_up, phone_to_dial, priority_score

AMS = "Europe/Amsterdam"
NY = "America/New_York"
H = 3600.0


def at(y: int, m: int, d: int, h: int = 0, mi: int = 0, tz: str = AMS) -> float:
    return dt.datetime(y, m, d, h, mi, tzinfo=ZoneInfo(tz)).timestamp()


def campaign(extra: str = "") -> CampaignConfig:
    return parse_campaign("name: t\n" + extra, "c.yaml")


def debtor(phones: tuple[str, ...] = ("+31612345678",), tz: str = AMS, **kw: object) -> Debtor:
    amount = kw.pop("amount", Decimal("100"))
    return Debtor(debtor_id="d1", name="A. Jansen", phones=phones, amount_due=amount,
                  timezone=tz, **kw)  # type: ignore[arg-type]


CFG = campaign()
TUE_10 = at(2026, 1, 6, 10)   # Tuesday 6 January 2026, 10:00 in Amsterdam


def test_fresh_debtor_is_due_at_once_in_a_window_else_at_the_next_opening() -> None:
    assert first_due(debtor(), CFG, TUE_10) == TUE_10
    assert first_due(debtor(), CFG, at(2026, 1, 10, 16)) == at(2026, 1, 12, 9)   # Sat after 14:00 → Mon


def test_fresh_new_york_debtor_waits_for_new_york_morning() -> None:
    cfg = campaign("jurisdiction: US\n")
    assert first_due(debtor(tz=NY), cfg, TUE_10) == at(2026, 1, 6, 9, tz=NY)


def test_retry_delay_depends_on_the_outcome() -> None:
    ended = TUE_10 + 60
    no_answer = follow_up(debtor(), DebtorState(), Outcome.NO_ANSWER, TUE_10, ended, "+31612345678", CFG)
    assert no_answer.status is DebtorStatus.SCHEDULED and no_answer.due == ended + 2 * H
    machine = follow_up(debtor(), DebtorState(), Outcome.ANSWERED_MACHINE, TUE_10, ended, "+31612345678",
                        CFG)
    assert machine.due == ended + 4 * H
    quick = campaign("attempts: {min_gap: 0}\n")
    busy = follow_up(debtor(), DebtorState(), Outcome.BUSY, TUE_10, ended, "+31612345678", quick)
    assert busy.due == ended + 15 * 60


def test_min_gap_wins_over_a_shorter_retry_delay() -> None:
    busy = follow_up(debtor(), DebtorState(), Outcome.BUSY, TUE_10, TUE_10 + 30, "+31612345678", CFG)
    assert busy.due == TUE_10 + H
    assert "min_gap" in busy.reason


def test_retry_that_falls_after_closing_moves_to_the_next_morning() -> None:
    late = at(2026, 1, 6, 16, 30)
    fu = follow_up(debtor(), DebtorState(), Outcome.NO_ANSWER, late, late + 60, "+31612345678", CFG)
    assert fu.due == at(2026, 1, 7, 9)


def test_daily_cap_counts_the_debtors_local_day() -> None:
    cfg = campaign("jurisdiction: US\nattempts: {min_gap: 0}\nretry: {no_answer: 0}\n"
                   "calling_hours: {weekly: {mon: ['08:00-21:00'], tue: ['08:00-21:00']}}\n")
    d = debtor(tz=NY)
    state = DebtorState()
    for hour in (9, 12):
        state = follow_up(d, state, Outcome.NO_ANSWER, at(2026, 1, 5, hour, tz=NY),
                          at(2026, 1, 5, hour, tz=NY) + 60, d.phones[0], cfg).state
    third = at(2026, 1, 5, 20, tz=NY)   # already Tuesday in UTC
    fu = follow_up(d, state, Outcome.NO_ANSWER, third, third + 60, d.phones[0], cfg)
    assert fu.due == at(2026, 1, 6, 8, tz=NY)
    assert "max_per_day" in fu.reason


def test_weekly_cap_waits_until_the_oldest_attempt_is_seven_days_old() -> None:
    cfg = campaign("attempts: {max_per_week: 3, min_gap: 0}\nretry: {no_answer: 0}\n")
    d = debtor()
    state = DebtorState()
    times = [at(2026, 1, 5, 10), at(2026, 1, 6, 11), at(2026, 1, 7, 12)]
    for t in times:
        fu = follow_up(d, state, Outcome.NO_ANSWER, t, t + 60, d.phones[0], cfg)
        state = fu.state
    assert fu.due == times[0] + 7 * 86400            # Mon 12 Jan 10:00, inside the window
    assert "max_per_week" in fu.reason
    assert dial_check(d, state, cfg, at(2026, 1, 9, 10)) == times[0] + 7 * 86400


def test_abandoned_number_is_quiet_for_72_hours() -> None:
    fu = follow_up(debtor(), DebtorState(), Outcome.ABANDONED, TUE_10, TUE_10 + 5, "+31612345678", CFG)
    assert fu.state.abandoned_at == TUE_10 + 5
    assert fu.due == TUE_10 + 5 + 72 * H            # Friday 10:00:05, open
    assert dial_check(debtor(), fu.state, CFG, TUE_10 + 48 * H) == TUE_10 + 5 + 72 * H


def test_abandon_quiet_period_ending_on_saturday_evening_moves_to_monday() -> None:
    thu = at(2026, 1, 8, 16)
    fu = follow_up(debtor(), DebtorState(), Outcome.ABANDONED, thu, thu, "+31612345678", CFG)
    assert fu.due == at(2026, 1, 12, 9)


def test_dial_check_allows_a_dialable_debtor_and_defers_others() -> None:
    d = debtor()
    assert dial_check(d, DebtorState(), CFG, TUE_10) is None
    recent = DebtorState(attempts=1, history=[TUE_10 - 1800], last_outcome="busy",
                         last_attempt_at=TUE_10 - 1800)
    assert dial_check(d, recent, CFG, TUE_10) == TUE_10 + 1800          # min_gap 1h
    assert dial_check(d, DebtorState(), CFG, at(2026, 1, 11, 10)) == at(2026, 1, 12, 9)   # Sunday
    done = DebtorState(attempts=12, history=[], last_attempt_at=TUE_10 - 86400)
    assert dial_check(d, done, CFG, TUE_10) == math.inf


def test_phones_rotate_and_dead_numbers_are_skipped() -> None:
    d = debtor(phones=("+31611111111", "+31622222222"))
    s0 = DebtorState()
    assert phone_to_dial(d, s0) == "+31611111111"
    fu = follow_up(d, s0, Outcome.NO_ANSWER, TUE_10, TUE_10 + 30, "+31611111111", CFG)
    assert phone_to_dial(d, fu.state) == "+31622222222"
    fu = follow_up(d, fu.state, Outcome.INVALID_NUMBER, fu.due, fu.due + 5, "+31622222222", CFG)
    assert fu.status is DebtorStatus.SCHEDULED
    assert fu.state.dead_phones == ["+31622222222"]
    assert fu.due == TUE_10 + 2 * H + 30 + H          # min_gap only, not the no-answer delay
    assert phone_to_dial(d, fu.state) == "+31611111111"
    fu = follow_up(d, fu.state, Outcome.NO_ANSWER, fu.due, fu.due + 30, "+31611111111", CFG)
    assert phone_to_dial(d, fu.state) == "+31611111111"       # the dead one is never offered again
    fu = follow_up(d, fu.state, Outcome.INVALID_NUMBER, fu.due, fu.due, "+31611111111", CFG)
    assert fu.status is DebtorStatus.UNREACHABLE and fu.due is None
    assert phone_to_dial(d, fu.state) is None


def test_follow_up_leaves_the_given_state_untouched() -> None:
    state = DebtorState()
    follow_up(debtor(), state, Outcome.INVALID_NUMBER, TUE_10, TUE_10, "+31612345678", CFG)
    assert state == DebtorState()


def test_reached_debtors_are_done() -> None:
    for outcome in (Outcome.CONNECTED_TO_AGENT, Outcome.ANSWERED_HUMAN):
        fu = follow_up(debtor(), DebtorState(), outcome, TUE_10, TUE_10 + 90, "+31612345678", CFG)
        assert fu.status is DebtorStatus.DONE and fu.due is None and fu.state.attempts == 1


def test_exhausted_at_max_total() -> None:
    cfg = campaign("attempts: {max_total: 2}\n")
    first = follow_up(debtor(), DebtorState(), Outcome.NO_ANSWER, TUE_10, TUE_10, "+31612345678", cfg)
    assert first.status is DebtorStatus.SCHEDULED
    second = follow_up(debtor(), first.state, Outcome.NO_ANSWER, first.due, first.due, "+31612345678", cfg)
    assert second.status is DebtorStatus.EXHAUSTED and second.due is None
    assert "max_total" in second.reason


def test_no_window_at_all_exhausts_with_a_reason() -> None:
    cfg = campaign("calling_hours: {weekly: {}}\n")
    assert first_due(debtor(), cfg, TUE_10) is None
    fu = follow_up(debtor(), DebtorState(), Outcome.BUSY, TUE_10, TUE_10, "+31612345678", cfg)
    assert fu.status is DebtorStatus.EXHAUSTED and "window" in fu.reason


def test_priority_orders_debtors_due_at_the_same_time() -> None:
    old = debtor(due_date=dt.date(2025, 10, 1), amount=Decimal("50"), risk_score=0.2)
    new = debtor(due_date=dt.date(2025, 12, 20), amount=Decimal("900"), risk_score=0.9)
    unknown = debtor(amount=Decimal("10"))

    def order(priority: str) -> list[Debtor]:
        cfg = campaign(f"priority: {priority}\n")
        return sorted([unknown, old, new], key=lambda d: priority_score(d, cfg))

    assert order("newest_due") == [new, old, unknown]
    assert order("oldest_due") == [old, new, unknown]
    assert order("amount_due") == [new, old, unknown]
    assert order("risk_score") == [new, old, unknown]
    assert priority_score(new, campaign("priority: none\n")) == 0


@settings(max_examples=40, deadline=None)
@given(
    start=st.floats(min_value=at(2026, 1, 1), max_value=at(2026, 12, 20)),
    tz=st.sampled_from([AMS, NY]),
    outcomes=st.lists(st.sampled_from([Outcome.NO_ANSWER, Outcome.BUSY, Outcome.ANSWERED_MACHINE,
                                       Outcome.FAILED, Outcome.ABANDONED, Outcome.INTERRUPTED]),
                      min_size=1, max_size=12),
)
def test_every_scheduled_retry_obeys_every_rule_at_once(start: float, tz: str,
                                                        outcomes: list[Outcome]) -> None:
    cfg = campaign("attempts: {max_per_day: 2, max_per_week: 4, max_total: 50, min_gap: 30m}\n"
                   "retry: {busy: 5m, failed: 1m}\n")
    d = debtor(tz=tz)
    zi = ZoneInfo(tz)
    due = first_due(d, cfg, start)
    state = DebtorState()
    for outcome in outcomes:
        assert due is not None
        assert cfg.windows.is_open(due, tz)
        assert dial_check(d, state, cfg, due) is None
        fu = follow_up(d, state, outcome, due, due + 40, d.phones[0], cfg)
        assert fu.status is DebtorStatus.SCHEDULED, fu.reason
        nxt, state = fu.due, fu.state
        assert nxt is not None
        assert nxt >= due + 40 + cfg.retry.delay_for(outcome)
        assert nxt >= due + cfg.attempts.min_gap_s
        if state.abandoned_at is not None:
            assert nxt >= state.abandoned_at + 72 * H
        local_day = dt.datetime.fromtimestamp(nxt, zi).date()
        assert sum(dt.datetime.fromtimestamp(h, zi).date() == local_day for h in state.history) < 2
        assert sum(nxt - 7 * 86400 < h for h in state.history) < 4
        due = nxt


def test_ivr_results_that_did_not_reach_the_debtor_are_retried_or_move_on() -> None:
    ended = TUE_10 + 60
    two = debtor(phones=("+31612345678", "+31687654321"))
    wrong = follow_up(two, DebtorState(), Outcome.ANSWERED_HUMAN, TUE_10, ended, "+31612345678", CFG,
                      ivr_outcome="wrong-person")
    assert wrong.status is DebtorStatus.SCHEDULED and wrong.due == ended + H
    assert wrong.state.dead_phones == ["+31612345678"]          # never dialled for this debtor again
    assert phone_to_dial(two, wrong.state) == "+31687654321"
    only = follow_up(debtor(), DebtorState(), Outcome.ANSWERED_HUMAN, TUE_10, ended, "+31612345678", CFG,
                     ivr_outcome="wrong-person")
    assert only.status is DebtorStatus.UNREACHABLE and "someone else" in only.reason
    for silent in ("no-input", "hung-up"):
        fu = follow_up(debtor(), DebtorState(), Outcome.ANSWERED_HUMAN, TUE_10, ended, "+31612345678", CFG,
                       ivr_outcome=silent)
        assert fu.status is DebtorStatus.SCHEDULED and fu.due == ended + 4 * H, silent
        assert silent in fu.reason
    for reached in ("promise-to-pay", "refused", "already-paid", "informed", None):
        fu = follow_up(debtor(), DebtorState(), Outcome.ANSWERED_HUMAN, TUE_10, ended, "+31612345678", CFG,
                       ivr_outcome=reached)
        assert fu.status is DebtorStatus.DONE, reached
    quick = campaign("retry: {no_input: 30m, wrong_person: 0}\nattempts: {min_gap: 0}\n")
    assert follow_up(debtor(), DebtorState(), Outcome.ANSWERED_HUMAN, TUE_10, ended, "+31612345678", quick,
                     ivr_outcome="no-input").due == ended + 1800
    assert follow_up(two, DebtorState(), Outcome.ANSWERED_HUMAN, TUE_10, ended, "+31612345678", quick,
                     ivr_outcome="wrong-person").due == ended


def test_a_reminder_heard_to_the_end_is_remembered_for_the_next_call() -> None:
    ended = TUE_10 + 60
    heard = follow_up(debtor(), DebtorState(), Outcome.ANSWERED_HUMAN, TUE_10, ended, "+31612345678",
                      CFG, ivr_outcome="promise-to-pay", message_heard=True)
    assert heard.state.heard_at == ended
    again = follow_up(debtor(), heard.state, Outcome.NO_ANSWER, ended + 4 * H, ended + 4 * H + 30,
                      "+31612345678", CFG)
    assert again.state.heard_at == ended                     # a later missed call does not forget it
    assert follow_up(debtor(), DebtorState(), Outcome.ANSWERED_HUMAN, TUE_10, ended, "+31612345678", CFG,
                     ivr_outcome="hung-up").state.heard_at is None
