"""Answering callers back: look them up, route them, run the flow or fetch an agent, record why.

The edge around :mod:`dialer.callbacks` (pure rules) and :mod:`ivr_flows`
(pure interpreter): a :class:`CallbackHandler` is what a backend's
``set_inbound_handler`` gets. Every inbound call leaves one record
(:meth:`dialer.store.port.CallbackStore.record_callback`) naming the rule that fired, the
route, the flow's outcome and whether an agent took the call, plus counters
``callbacks``, ``callbacks:auto`` / ``callbacks:agent`` / ``callbacks:no-agent-free``,
``callback_rule:NAME``
that the demo summary reads.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import phonenumbers

from dialer.callbacks import CallbackDecision, Candidate, route_callback
from dialer.campaign import CampaignConfig
from dialer.core.errors import CallpactError
from dialer.core.phones import normalise_number
from dialer.core.privacy import mask_number
from dialer.core.telephony import Call, Inbound, Prompt
from dialer.store.port import CallbackStore
from dialer.windows import zone
from ivr_flows.facts import CallFacts
from ivr_flows.interpreter import FlowRun
from ivr_flows.loader import resolve_flow
from ivr_flows.model import FlowOutcome
from ivr_flows.runner import EventSender, run_flow

log = logging.getLogger("callpact.inbound")

_BUSY = {
    "nl": "Er is nu niemand vrij. Wij bellen u later terug. Tot ziens.",
    "en": "No one is free right now. We will call you back later. Goodbye.",
}


def _e164(caller: str, region: str) -> str | None:
    """The caller's number as debtors are stored (E.164); None when withheld or unreadable."""
    text = caller.strip()
    if text.startswith("+") and text[1:].isdigit():
        return text
    digits = "".join(ch for ch in text if ch.isdigit())
    if not digits or any(ch.isalpha() for ch in text):
        return None
    checked = normalise_number(text, region).e164
    if checked:
        return checked
    if digits.startswith("00"):                 # international prefix
        return "+" + digits[2:]
    if digits.startswith("0"):                  # trunk prefix: a national number
        return f"+{phonenumbers.country_code_for_region(region)}{digits[1:]}"
    return "+" + digits


@dataclass
class CallbackCounters:
    calls: int = 0
    auto: int = 0                    # handled by a flow, without an agent
    agent: int = 0                   # an agent took the call
    no_agent_free: int = 0           # routed (or asked) for a person, and none came in time


class CallbackHandler:
    """Handles inbound calls for one campaign."""

    def __init__(self, store: CallbackStore, cfg: CampaignConfig | Callable[[], CampaignConfig],
                 now: Callable[[], float], *, sender: EventSender | None = None) -> None:
        """``cfg`` may be a callable returning the campaign's current configuration (a running
        engine's, so that edits made while it runs apply to callers back too)."""
        self.store = store
        self._cfg = cfg
        self.now = now
        self.sender = sender
        self.counters = CallbackCounters()

    @property
    def cfg(self) -> CampaignConfig:
        return self._cfg() if callable(self._cfg) else self._cfg

    async def __call__(self, call: Call, inbound: Inbound) -> None:
        cfg = self.cfg
        started = self.now()
        # Unmasked, as in the attempts export: the record is the user's own data, and a caller no debtor
        # matches is otherwise lost to whoever should ring them back. Logs stay masked.
        fields: dict[str, Any] = {"call_id": inbound.call_id, "caller": inbound.caller, "arrived_at": started}
        # Trunks send the caller's number in many forms (0612..., 0031612..., +31 6 12...); debtors are
        # stored as E.164. A withheld or unreadable number matches nobody: the general menu.
        number = _e164(inbound.caller, cfg.numbers.default_region)
        try:
            raw = await self.store.callback_candidates(cfg.name, number, started - cfg.callbacks.lookback_s) \
                if number else []
            decision = route_callback(cfg.callbacks, [Candidate(d, s, tuple(a)) for d, s, a in raw])
        except CallpactError as exc:          # Redis away: a person can still help, a flow cannot
            log.error("call back %s: lookup failed (%s); sending it to an agent", inbound.call_id, exc)
            decision = CallbackDecision("lookup-failed", "agent", True, None, ())
        fields.update(decision.record())
        agent: str | None = None
        wanted_agent = decision.to_agent
        try:
            if decision.to_agent:
                agent = await self._to_agent(call, decision)
            else:
                result = await self._run_flow(call, decision)
                agent = result.agent
                wanted_agent = result.outcome is FlowOutcome.AGENT
                fields.update(result.attempt_fields())
        except Exception as exc:           # a backend bug must not lose the record
            log.exception("call back %s: handling failed", inbound.call_id)
            fields["detail"] = f"internal error: {exc.__class__.__name__}"
            if not call.ended:
                await call.hangup()
        handled_by = "agent" if agent else ("no-agent-free" if wanted_agent else "auto")
        fields.update(handled_by=handled_by, agent=agent or "", ended_at=self.now())
        self.counters.calls += 1
        if agent:
            self.counters.agent += 1
        elif wanted_agent:
            self.counters.no_agent_free += 1
        else:
            self.counters.auto += 1
        log.info("call back from %s: rule %s -> %s (%s)", mask_number(inbound.caller), decision.rule,
                 decision.route, handled_by)
        counters = ["callbacks", f"callbacks:{handled_by}", f"callback_rule:{decision.rule}"]
        try:
            await self.store.record_callback(cfg.name, inbound.call_id, fields, counters)
        except CallpactError as exc:
            log.error("call back %s: not recorded (%s)", inbound.call_id, exc)

    async def _to_agent(self, call: Call, decision: CallbackDecision) -> str | None:
        context = {"campaign": self.cfg.name, "callback_rule": decision.rule,
                   "debtor_id": decision.debtor.debtor_id if decision.debtor else ""}
        agent = await call.connect_agent(self.cfg.agent_queue, self.cfg.callbacks.agent_patience_s, context)
        if agent is None and not call.ended:
            language = decision.debtor.language if decision.debtor else "nl"
            await call.play(Prompt(_BUSY.get(language, _BUSY["en"]), language))
            await call.hangup()
        return agent

    async def _run_flow(self, call: Call, decision: CallbackDecision) -> Any:
        cfg = self.cfg
        flow = resolve_flow(decision.route)
        overrides = {k: v for k, v in cfg.ivr_params.items() if k in flow.params}
        if "allow_transfer" in flow.params and not decision.allow_transfer:
            overrides["allow_transfer"] = False
        flow = flow.with_params(overrides)
        debtor = decision.debtor
        tz = zone(debtor.timezone if debtor else "Europe/Amsterdam")
        facts = CallFacts(
            debtor=debtor, language=debtor.language if debtor else "nl",
            today=dt.datetime.fromtimestamp(self.now(), tz).date(), inbound=True,
            heard_before=bool(decision.facts.get("heard")), callback_number=cfg.caller_id or "",
        )
        run = FlowRun(flow, facts, agent_queue=cfg.agent_queue,
                      context={"campaign": cfg.name, "call_id": call.attempt_id,
                               "debtor_id": debtor.debtor_id if debtor else "",
                               "callback_rule": decision.rule})
        return await run_flow(call, run, sender=self.sender)


class InboundRouter:
    """One backend, several campaigns: an inbound call goes to the campaign whose caller ID it dialled.

    A call to a number no campaign uses goes to the first campaign registered
    (its general menu answers unknown callers); with no campaign at all, it is
    refused by hanging up.
    """

    def __init__(self) -> None:
        self.handlers: list[CallbackHandler] = []

    @classmethod
    def attach(cls, telephony: Any) -> InboundRouter | None:
        """The backend's router, installed if it has no inbound handler; None if something else has it."""
        current = telephony.inbound_handler
        if isinstance(current, cls):
            return current
        if current is not None:
            return None
        router = cls()
        telephony.set_inbound_handler(router)
        return router

    def register(self, handler: CallbackHandler) -> None:
        self.handlers.append(handler)

    def unregister(self, handler: CallbackHandler) -> None:
        if handler in self.handlers:
            self.handlers.remove(handler)

    async def __call__(self, call: Call, inbound: Inbound) -> None:
        handler = next((h for h in self.handlers if h.cfg.caller_id and h.cfg.caller_id == inbound.dialled),
                       self.handlers[0] if self.handlers else None)
        if handler is None:
            log.info("call back from %s refused: no campaign is running", mask_number(inbound.caller))
            await call.hangup()
            return
        await handler(call, inbound)
