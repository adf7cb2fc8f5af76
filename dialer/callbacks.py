"""Callback routing: who is calling back, and whether a flow or a person answers them.

A campaign calls out from a recognisable number; debtors who missed the call
ring it back. The inbound caller's number (E.164) is matched to the campaign's
debtors and their recent attempts (the Redis lookup is
:meth:`dialer.store.redis_store.Store.callback_candidates`); this module turns what was
found into *facts* and walks the campaign's rule table, first match wins. All
pure: no Redis, no clock, so every rule is tested with plain values.

Facts a rule may use: ``known`` (the number belongs to a debtor), ``shared``
(it belongs to several and none stands out), ``debtors``, ``amount``, ``risk``,
``segment``, ``language``, ``already_paid`` (a recent call said so, or the
debtor record does), ``heard`` (a recent call played the reminder to the end),
``called`` (we called within the look-back), ``attempts`` (how many times),
``last_outcome`` (the engine outcome of the latest recent attempt) and
``last_ivr_outcome``.

The defaults follow the collections practice in PRODUCT.md (seed 004): unknown
callers get the general menu; those who paid, the thank-you; high claims and
high risk go straight to an agent; low claims are never transferred and get
the payment link; low risk and callers who have not heard the message yet are
handled by the ``callback`` flow; those who heard it already get an agent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from dialer.core.errors import ConfigError
from dialer.core.records import Debtor, DebtorState
from dialer.core.yamlconf import Section
from ivr_flows.conditions import Condition, ConditionError, parse_condition

CALLBACK_FACTS = frozenset({
    "known", "shared", "debtors", "amount", "risk", "segment", "language", "already_paid", "heard",
    "called", "attempts", "last_outcome", "last_ivr_outcome",
})
AGENT = "agent"
_TRUE = ("1", "true", "yes", "ja")


@dataclass(frozen=True)
class CallbackRule:
    name: str
    when: Condition
    flow: str | None = None            # None: straight to an agent
    allow_transfer: bool = True        # a flow route: may the flow still put them through to a person?

    @property
    def route(self) -> str:
        return self.flow or AGENT


def _rule(name: str, when: str, flow: str | None = None, allow_transfer: bool = True) -> CallbackRule:
    return CallbackRule(name, parse_condition(when, set(CALLBACK_FACTS)), flow, allow_transfer)


DEFAULT_RULES: tuple[CallbackRule, ...] = (
    _rule("unknown-caller", "not known", "general_menu"),
    _rule("shared-number", "shared", "general_menu"),
    _rule("already-paid", "already_paid", "thank_you"),
    _rule("high-amount", "amount >= 1000"),
    _rule("high-risk", "risk >= 0.7"),
    _rule("low-amount", "amount < 50", "callback", allow_transfer=False),
    _rule("low-risk", "risk < 0.3", "callback"),
    _rule("not-heard", "not heard", "callback"),
    _rule("heard", "heard"),
)
DEFAULT_RULE = CallbackRule("default", parse_condition("known"), None)


@dataclass(frozen=True)
class CallbackConfig:
    lookback_s: float = 14 * 86400.0
    rules: tuple[CallbackRule, ...] = DEFAULT_RULES
    default: CallbackRule = DEFAULT_RULE
    agent_patience_s: float = 60.0     # a caller back waits this long in the queue for a person


@dataclass(frozen=True)
class Candidate:
    """A debtor whose number called, with their attempts inside the look-back (oldest first)."""

    debtor: Debtor
    state: DebtorState
    attempts: tuple[Mapping[str, str], ...] = ()


@dataclass(frozen=True)
class CallbackDecision:
    rule: str
    route: str                         # "agent" or a flow name
    allow_transfer: bool
    debtor: Debtor | None
    candidates: tuple[str, ...]        # debtor ids the number matched
    facts: Mapping[str, Any] = field(default_factory=dict)

    @property
    def to_agent(self) -> bool:
        return self.route == AGENT

    def record(self) -> dict[str, str]:
        """Why this caller went where they went, for the supervisor (no name, no number)."""
        return {
            "rule": self.rule,
            "route": self.route,
            "allow_transfer": "1" if self.allow_transfer else "0",
            "debtor_id": self.debtor.debtor_id if self.debtor else "",
            "candidates": ",".join(self.candidates),
            "facts": json.dumps({k: _plain(v) for k, v in self.facts.items()}, sort_keys=True,
                                separators=(",", ":")),
        }


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def _heard(attempt: Mapping[str, str]) -> bool:
    return attempt.get("message_heard") == "1"


def caller_facts(candidates: Sequence[Candidate]) -> tuple[dict[str, Any], Candidate | None]:
    """Facts about the caller and the debtor they most likely are (None: unknown or ambiguous).

    A number shared by several debtors points at one of them only when exactly
    one was called within the look-back (that is whose call they are
    returning); otherwise it is ``shared`` and nothing about any debt may be
    said before a person has found out who is calling.
    """
    chosen: Candidate | None = None
    if len(candidates) == 1:
        chosen = candidates[0]
    elif candidates:
        called = [c for c in candidates if c.attempts]
        if len(called) == 1:
            chosen = called[0]
    facts: dict[str, Any] = {"known": bool(candidates), "shared": len(candidates) > 1 and chosen is None,
                             "debtors": len(candidates)}
    if chosen is None:
        facts.update(heard=False, called=False, attempts=0, already_paid=False)
        return facts, None
    d, attempts = chosen.debtor, chosen.attempts
    last = attempts[-1] if attempts else {}
    facts.update(
        amount=d.amount_due, risk=d.risk_score, segment=d.segment, language=d.language,
        heard=any(_heard(a) for a in attempts), called=bool(attempts), attempts=len(attempts),
        already_paid=any(a.get("ivr_outcome") == "already-paid" for a in attempts)
        or str(d.custom.get("paid", "")).strip().lower() in _TRUE,
        last_outcome=last.get("outcome"), last_ivr_outcome=last.get("ivr_outcome"),
    )
    return facts, chosen


def route_callback(config: CallbackConfig, candidates: Sequence[Candidate]) -> CallbackDecision:
    """The first rule whose condition holds decides; else the table's default."""
    facts, chosen = caller_facts(candidates)
    rule = next((r for r in config.rules if r.when.evaluate(facts)), config.default)
    return CallbackDecision(rule=rule.name, route=rule.route, allow_transfer=rule.allow_transfer,
                            debtor=chosen.debtor if chosen else None,
                            candidates=tuple(c.debtor.debtor_id for c in candidates), facts=facts)


# --------------------------------------------------------------------------- campaign YAML


def read_callbacks(sec: Section) -> CallbackConfig:
    """The ``callbacks:`` section of a campaign; every key optional (defaults above)."""
    from ivr_flows.loader import resolve_flow

    lookback = sec.duration("lookback", 14 * 86400.0, minimum=3600, maximum=90 * 86400)
    patience = sec.duration("agent_patience", 60.0, minimum=1, maximum=600)

    def route(sub: Section, name: str) -> tuple[str | None, bool]:
        has_flow, has_agent = sub.has("flow"), sub.has("agent")
        if has_flow == has_agent:
            raise ConfigError(f"{sub.key_path('flow')}: rule {name!r}: give either flow: NAME or agent: true",
                              where=sub.where("flow" if has_flow else None))
        if has_agent:
            if sub.boolean("agent") is not True:
                raise sub.error("agent", "write agent: true, or use flow: NAME instead")
            if sub.has("allow_transfer"):
                raise sub.error("allow_transfer", "only a flow route has allow_transfer")
            return None, True
        flow = sub.string("flow")
        try:
            resolve_flow(flow)
        except ConfigError as exc:
            raise sub.error("flow", exc.message) from None
        return flow, sub.boolean("allow_transfer", True)

    def rule(path: str, value: Any) -> CallbackRule:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{sec.key_path(path)}: a rule is a mapping like {{name: high-risk, "
                              f"if: 'risk >= 0.7', agent: true}}", where=sec.where("rules"))
        sub = Section(value, sec.source, sec.key_path(path))
        name = sub.string("name", pattern=r"[a-z0-9][a-z0-9_-]{0,63}", hint="a-z 0-9 - _")
        try:
            when = parse_condition(sub.string("if"), set(CALLBACK_FACTS))
        except ConditionError as exc:
            raise sub.error("if", str(exc)) from None
        flow, allow = route(sub, name)
        sub.finish(("name", "if", "flow", "agent", "allow_transfer"))
        return CallbackRule(name, when, flow, allow)

    rules = tuple(sec.items("rules", rule, list(DEFAULT_RULES)))
    names = [r.name for r in rules]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise sec.error("rules", f"two rules are named {dup!r}; names must be unique (decisions cite them)")
    default = DEFAULT_RULE
    if sec.has("default"):
        target = sec.string("default")
        if target != AGENT:
            try:
                resolve_flow(target)
            except ConfigError as exc:
                raise sec.error("default", f"agent or a flow name: {exc.message}") from None
        default = CallbackRule("default", DEFAULT_RULE.when, None if target == AGENT else target)
    sec.finish(("lookback", "agent_patience", "rules", "default"))
    return CallbackConfig(lookback_s=lookback, rules=rules, default=default, agent_patience_s=patience)
