"""When to call a debtor next: retry delays, attempt caps and calling windows.

Pure functions of (debtor, state, campaign, instants) so the engine, the
simulator and the tests agree on one set of rules, and a rule can be checked
without a clock or Redis. Every rule here is a *not before* constraint; the
answer is the earliest instant where all of them hold at once, found by moving
forward to whichever constraint is violated until none is (each move only goes
forward, so this settles quickly; it is bounded all the same).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, replace
from decimal import Decimal

from dialer.campaign import CampaignConfig, Priority
from dialer.core.records import Debtor, DebtorState, DebtorStatus, Outcome
from dialer.windows import local_instant, zone

WEEK_S = 7 * 86400.0
HORIZON_DAYS = 400
_MAX_ROUNDS = 200

NEVER = math.inf  # dial_check's answer when no later instant will do either


@dataclass(frozen=True)
class FollowUp:
    """What happens to a debtor after an attempt, and why (shown to supervisors)."""

    status: DebtorStatus
    due: float | None
    state: DebtorState
    reason: str


def _tz(debtor: Debtor) -> str | None:
    return debtor.timezone or None


def phone_to_dial(debtor: Debtor, state: DebtorState) -> str | None:
    """The next live phone, starting from ``state.next_phone``; None when all are dead."""
    n = len(debtor.phones)
    for step in range(n):
        phone = debtor.phones[(state.next_phone + step) % n]
        if phone not in state.dead_phones:
            return phone
    return None


def first_due(debtor: Debtor, cfg: CampaignConfig, now: float) -> float | None:
    """A fresh debtor is called as soon as a window opens: contact right after the due
    date is what gets invoices paid. None when no window opens within the horizon."""
    return cfg.windows.next_open(now, _tz(debtor), HORIZON_DAYS)


def dial_check(debtor: Debtor, state: DebtorState, cfg: CampaignConfig, now: float) -> float | None:
    """None when the debtor may be dialled at ``now``; else the earliest instant it may.

    ``NEVER`` (math.inf) when it may not be dialled again at all (max_total reached,
    every phone dead, or no window within the horizon): finish it rather than reschedule.
    The retry delay is counted from the last dial instant, the only one the state keeps.
    """
    if state.attempts >= cfg.attempts.max_total or phone_to_dial(debtor, state) is None:
        return NEVER
    not_before = now
    if state.last_attempt_at is not None and state.last_outcome is not None:
        try:
            outcome = Outcome(state.last_outcome)
        except ValueError:
            outcome = None
        if outcome is not None:
            not_before = max(not_before, state.last_attempt_at + cfg.retry.delay_for(outcome))
    due, _ = _earliest(debtor, state, cfg, now, not_before, "")
    if due is None:
        return NEVER
    return None if due <= now else due


#: IVR outcomes of a live answer after which the debtor was not really reached (ivr_flows.FlowOutcome).
_NOT_REACHED = {"no-input": "no_input", "hung-up": "no_input"}


def follow_up(debtor: Debtor, state: DebtorState, outcome: Outcome, dialled_at: float, ended_at: float,
              phone: str, cfg: CampaignConfig, *, ivr_outcome: str | None = None,
              message_heard: bool = False) -> FollowUp:
    """Record the attempt and decide what follows; ``state`` itself is left untouched.

    ``ivr_outcome`` is what the IVR flow made of a live answer: a wrong person drops that
    number for this debtor (never dialled again, nothing disclosed) and moves on to the next;
    silence or a hang-up before the message is a retry, not a contact. ``message_heard``
    (the reminder was played to the end) is remembered for the flows' "heard before".
    """
    new = replace(state, history=list(state.history), dead_phones=list(state.dead_phones))
    new.record_attempt(dialled_at)
    new.last_outcome = outcome.value
    if outcome is Outcome.ABANDONED:
        new.abandoned_at = max(ended_at, dialled_at)
    if message_heard:
        new.heard_at = ended_at
    wrong_person = outcome is Outcome.ANSWERED_HUMAN and ivr_outcome == "wrong-person"
    if (outcome is Outcome.INVALID_NUMBER or wrong_person) and phone not in new.dead_phones:
        new.dead_phones.append(phone)
    new.next_phone = _next_live_index(debtor, new, phone)

    if outcome is Outcome.CONNECTED_TO_AGENT:
        return FollowUp(DebtorStatus.DONE, None, new, "reached: talked to an agent")
    retry_key = "wrong_person" if wrong_person else _NOT_REACHED.get(ivr_outcome or "")
    if outcome is Outcome.ANSWERED_HUMAN and retry_key is None:
        return FollowUp(DebtorStatus.DONE, None, new, "reached: handled by the IVR")
    if phone_to_dial(debtor, new) is None:
        why = "someone else answered on every number" if wrong_person else "every phone number is dead"
        return FollowUp(DebtorStatus.UNREACHABLE, None, new, why)
    if new.attempts >= cfg.attempts.max_total:
        return FollowUp(DebtorStatus.EXHAUSTED, None, new,
                        f"attempt limit reached ({new.attempts} of max_total {cfg.attempts.max_total})")

    delay = getattr(cfg.retry, retry_key) if retry_key else cfg.retry.delay_for(outcome)
    label = ivr_outcome if retry_key else outcome.value
    why = (f"{label}: retry after {_human(delay)}" if delay
           else f"{label}: trying the next phone")
    due, reason = _earliest(debtor, new, cfg, ended_at, ended_at + delay, why)
    if due is None:
        return FollowUp(DebtorStatus.EXHAUSTED, None, new,
                        f"no calling window opens within {HORIZON_DAYS} days")
    return FollowUp(DebtorStatus.SCHEDULED, due, new, reason)


def priority_score(debtor: Debtor, cfg: CampaignConfig) -> float:
    """Lower is called first among debtors due at once; a missing value sorts last (inf)."""
    match cfg.priority:
        case Priority.NEWEST_DUE:
            return -float(debtor.due_date.toordinal()) if debtor.due_date else math.inf
        case Priority.OLDEST_DUE:
            return float(debtor.due_date.toordinal()) if debtor.due_date else math.inf
        case Priority.AMOUNT_DUE:
            amount = debtor.amount_due
            return -float(amount) if isinstance(amount, Decimal) and amount.is_finite() else math.inf
        case Priority.RISK_SCORE:
            return -float(debtor.risk_score) if debtor.risk_score is not None else math.inf
        case _:
            return 0.0


# -- the constraint search -------------------------------------------------------------

def _next_live_index(debtor: Debtor, state: DebtorState, phone: str) -> int:
    """Rotate to the phone after the one just tried, so no number is hammered while
    another has not been tried."""
    n = len(debtor.phones)
    if n == 0:
        return 0
    base = debtor.phones.index(phone) if phone in debtor.phones else state.next_phone
    for step in range(1, n + 1):
        index = (base + step) % n
        if debtor.phones[index] not in state.dead_phones:
            return index
    return base % n


def _earliest(debtor: Debtor, state: DebtorState, cfg: CampaignConfig, start: float, not_before: float,
              why: str) -> tuple[float | None, str]:
    """The earliest instant >= max(start, not_before) at which every rule holds, with the
    rule that decided it; None when no window opens within the horizon."""
    tz_name = _tz(debtor)
    zi = zone(tz_name or cfg.windows.default_timezone)
    limits = cfg.attempts
    t = max(start, not_before)
    reason = why if not_before > start else ""
    history = sorted(state.history)
    for _ in range(_MAX_ROUNDS):
        candidates: list[tuple[float, str]] = []
        if state.last_attempt_at is not None:
            candidates.append((state.last_attempt_at + limits.min_gap_s,
                               f"min_gap {_human(limits.min_gap_s)} between attempts"))
        if state.abandoned_at is not None:
            candidates.append((state.abandoned_at + cfg.retry.abandoned,
                               f"no call for {_human(cfg.retry.abandoned)} after an abandoned call"))
        day = dt.datetime.fromtimestamp(t, zi).date()
        today = [h for h in history if dt.datetime.fromtimestamp(h, zi).date() == day]
        if len(today) >= limits.max_per_day:
            candidates.append((local_instant(day + dt.timedelta(days=1), dt.time(0, 0), zi),
                               f"max_per_day {limits.max_per_day} reached"))
        week = [h for h in history if t - WEEK_S < h <= t]
        if len(week) >= limits.max_per_week:
            candidates.append((week[len(week) - limits.max_per_week] + WEEK_S,
                               f"max_per_week {limits.max_per_week} reached in the last 7 days"))
        moved = False
        for when, what in candidates:
            if when > t:
                t, reason, moved = when, what, True
        if moved:
            continue
        opened = cfg.windows.next_open(t, tz_name, HORIZON_DAYS)
        if opened is None or opened - start > HORIZON_DAYS * 86400:
            return None, "no calling window"
        if opened > t:
            t = opened
            reason = f"{reason}; next calling window" if reason else "next calling window"
            continue
        return t, reason or "now"
    return None, "no instant satisfies every rule"


def _human(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
