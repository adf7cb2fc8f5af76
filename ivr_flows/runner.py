"""Executing a flow on a live call: the thin asynchronous edge around :class:`FlowRun`.

It only uses the :class:`~dialer.core.telephony.Call` interface (play with barge-in,
listen, connect_agent, wait_for_beep, hangup), so a flow runs unchanged on the
simulated network, pjsua2 SIP calls and Asterisk channels. Events from
``webhook`` nodes go through an injected :class:`EventSender` (the signed HTTP
one in :mod:`ivr_flows.webhook`, or an in-process one in simulations); without
one every webhook takes its fallback branch.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

from dialer.core.telephony import Call, PlayResult
from ivr_flows.interpreter import (
    NOT_CONFIGURED,
    ConnectAgent,
    Finish,
    FlowResult,
    FlowRun,
    Listen,
    Play,
    SendEvent,
    WaitForBeep,
)

log = logging.getLogger("callpact.ivr")


class EventSender(Protocol):
    async def send(self, event: str, payload: Mapping[str, Any], timeout_s: float,
                   context: Mapping[str, str]) -> bool:
        """Deliver one event; True when the receiving side accepted it."""
        ...


async def run_flow(call: Call, run: FlowRun, *, sender: EventSender | None = None) -> FlowResult:
    """Walk ``run`` over ``call`` to its end; hangs up unless an agent has the call."""
    action = run.start()
    while not isinstance(action, Finish):
        reply: Any
        if isinstance(action, Play):
            reply = await call.play(action.prompt, barge_in=action.barge_in)
            if call.ended and (reply is None or (reply.completed is False and reply.barge_in is None)):
                reply = PlayResult(completed=False)
        elif isinstance(action, Listen):
            reply = await call.listen(grammar=action.grammar, language=action.language,
                                      max_digits=action.max_digits, timeout_s=action.timeout_s,
                                      terminator=action.terminator, initial_digits=action.initial_digits)
        elif isinstance(action, SendEvent):
            reply = NOT_CONFIGURED
            if sender is not None:
                try:
                    reply = await sender.send(action.event, action.payload, action.timeout_s, run.context)
                except Exception:   # a broken receiver must not break the call: take the fallback branch
                    log.exception("attempt %s: webhook %s failed", call.attempt_id, action.event)
                    reply = False
        elif isinstance(action, ConnectAgent):
            reply = await call.connect_agent(action.queue, action.patience_s, action.context)
        elif isinstance(action, WaitForBeep):
            reply = await call.wait_for_beep(action.timeout_s)
        else:  # pragma: no cover
            raise AssertionError(action)
        action = run.send(reply)
    if action.hang_up and not call.ended:
        await call.hangup()
    return action.result
