"""The records every part of the dialer shares: debtors, outcomes, attempts.

Money is :class:`~decimal.Decimal` (never float); instants are POSIX epoch
seconds (float, UTC) so that Redis, the scheduler and the simulator agree on one
clock; phone numbers are E.164 strings.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    """How one call attempt ended. Exactly one per attempt."""

    ANSWERED_HUMAN = "answered-human"          # a person answered; handled without an agent (IVR)
    ANSWERED_MACHINE = "answered-machine"      # voicemail / answering machine
    NO_ANSWER = "no-answer"
    BUSY = "busy"
    FAILED = "failed"                          # network or trunk failure
    INVALID_NUMBER = "invalid-number"          # the number does not exist
    ABANDONED = "abandoned"                    # a person answered and no agent came within 2 s
    CONNECTED_TO_AGENT = "connected-to-agent"
    INTERRUPTED = "interrupted"                # the dialer died mid-call; reconciled on restart

    @property
    def is_live_answer(self) -> bool:
        """Counts in the denominator of the abandon rate."""
        return self in (Outcome.ANSWERED_HUMAN, Outcome.ABANDONED, Outcome.CONNECTED_TO_AGENT)


class DebtorStatus(StrEnum):
    SCHEDULED = "scheduled"      # waiting in the hopper for its due time
    CLAIMED = "claimed"          # taken by a dialer process, call being set up or in progress
    DONE = "done"                # reached: nothing more to do in this campaign
    EXHAUSTED = "exhausted"      # attempt limit reached without a result
    UNREACHABLE = "unreachable"  # every number is invalid or dead


@dataclass(frozen=True)
class Debtor:
    """One debtor as imported: who, how to reach them, what they owe."""

    debtor_id: str
    name: str
    phones: tuple[str, ...]
    amount_due: Decimal
    language: str = "nl"
    timezone: str = "Europe/Amsterdam"
    currency: str = "EUR"
    invoice: str | None = None
    due_date: dt.date | None = None
    risk_score: float | None = None
    segment: str | None = None
    custom: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {
                "debtor_id": self.debtor_id,
                "name": self.name,
                "phones": list(self.phones),
                "amount_due": str(self.amount_due),
                "language": self.language,
                "timezone": self.timezone,
                "currency": self.currency,
                "invoice": self.invoice,
                "due_date": self.due_date.isoformat() if self.due_date else None,
                "risk_score": self.risk_score,
                "segment": self.segment,
                "custom": self.custom,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Debtor:
        raw: dict[str, Any] = json.loads(text)
        return cls(
            debtor_id=raw["debtor_id"],
            name=raw["name"],
            phones=tuple(raw["phones"]),
            amount_due=Decimal(raw["amount_due"]),
            language=raw.get("language", "nl"),
            timezone=raw.get("timezone", "Europe/Amsterdam"),
            currency=raw.get("currency", "EUR"),
            invoice=raw.get("invoice"),
            due_date=dt.date.fromisoformat(raw["due_date"]) if raw.get("due_date") else None,
            risk_score=raw.get("risk_score"),
            segment=raw.get("segment"),
            custom=raw.get("custom") or {},
        )


@dataclass
class DebtorState:
    """What the dialer has done with a debtor so far (kept beside the debtor record)."""

    attempts: int = 0
    history: list[float] = field(default_factory=list)   # dial instants of recent attempts
    next_phone: int = 0                                   # index into Debtor.phones
    dead_phones: list[str] = field(default_factory=list)
    last_outcome: str | None = None
    last_attempt_at: float | None = None
    abandoned_at: float | None = None                     # Ofcom: 72 h quiet period after an abandon
    heard_at: float | None = None                         # the last call that played the reminder to the end

    HISTORY_KEEP_S = 8 * 86400  # enough for the longest cap window (a rolling week)

    def to_json(self) -> str:
        return json.dumps(self.__dict__, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes | None) -> DebtorState:
        if not text:
            return cls()
        raw = json.loads(text)
        return cls(**{k: v for k, v in raw.items() if k in cls.__dataclass_fields__})

    def record_attempt(self, at: float) -> None:
        self.attempts += 1
        self.last_attempt_at = at
        self.history = [t for t in self.history if at - t < self.HISTORY_KEEP_S] + [at]


ATTEMPT_TIMESTAMPS = ("queued_at", "dialled_at", "ringing_at", "answered_at", "connected_at", "ended_at")
