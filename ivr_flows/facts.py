"""The facts a flow can speak and branch on: the debtor, the call, the flow's parameters.

Built once per call from plain values (no I/O), so the interpreter stays pure.
Flow parameters appear as ``params.NAME``; a parameter whose name ends in
``amount`` is money (:class:`~decimal.Decimal`). Two facts are derived for
payment plans: ``plan_max_terms`` (how many terms keep each term at or above
``params.min_term_amount``, at most ``params.max_terms``) and, once a flow has
collected ``plan_terms``, ``term_amount``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_UP, Decimal
from typing import Any

from dialer.core.records import Debtor

BASE_FACTS = frozenset({
    "name", "amount", "currency", "due_date", "invoice", "risk", "segment", "language", "attempt",
    "heard_before", "inbound", "machine", "callback_number", "today", "days_overdue",
})
DERIVED_FACTS = frozenset({"plan_max_terms", "term_amount"})


@dataclass(frozen=True)
class CallFacts:
    """What is known about a call before the flow starts."""

    debtor: Debtor | None              # None: a caller we could not match to a debtor
    language: str
    today: dt.date
    attempt: int = 1
    heard_before: bool = False         # the debtor heard the reminder on an earlier call
    inbound: bool = False
    machine: bool = False
    callback_number: str = ""          # E.164; what a voicemail asks them to call
    extra: Mapping[str, Any] = field(default_factory=dict)


def param_value(name: str, value: Any) -> Any:
    if name.endswith("amount") and isinstance(value, int | float | str) and not isinstance(value, bool):
        return Decimal(str(value))
    return value


def initial_facts(call: CallFacts, params: Mapping[str, Any]) -> dict[str, Any]:
    d = call.debtor
    facts: dict[str, Any] = {
        "name": d.name if d else "",
        "amount": d.amount_due if d else None,
        "currency": d.currency if d else "EUR",
        "due_date": d.due_date if d else None,
        "invoice": d.invoice if d else None,
        "risk": d.risk_score if d else None,
        "segment": d.segment if d else None,
        "language": call.language,
        "attempt": call.attempt,
        "heard_before": call.heard_before,
        "inbound": call.inbound,
        "machine": call.machine,
        "callback_number": call.callback_number,
        "today": call.today,
        "days_overdue": (call.today - d.due_date).days if d and d.due_date else None,
    }
    for key, value in params.items():
        facts[f"params.{key}"] = param_value(key, value)
    facts.update(call.extra)
    derive(facts)
    return facts


def derive(facts: dict[str, Any]) -> None:
    """(Re)compute the derived payment-plan facts after a change."""
    amount = facts.get("amount")
    minimum = facts.get("params.min_term_amount")
    most = facts.get("params.max_terms")
    if isinstance(amount, Decimal) and isinstance(minimum, Decimal) and minimum > 0:
        terms = int(amount // minimum)
        if isinstance(most, int):
            terms = min(terms, most)
        facts["plan_max_terms"] = terms
    terms_chosen = facts.get("plan_terms")
    if isinstance(amount, Decimal) and isinstance(terms_chosen, int) and terms_chosen > 0:
        facts["term_amount"] = (amount / terms_chosen).quantize(Decimal("0.01"), rounding=ROUND_UP)
