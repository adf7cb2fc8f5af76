"""Running a flow without a telephone: a pure, deterministic step machine.

:class:`FlowRun` is given a flow and the facts of one call; :meth:`FlowRun.start`
returns the first *action* (play this prompt, listen for that, post this event,
connect an agent, wait for the beep, finish) and :meth:`FlowRun.send` takes what
came of it and returns the next one, until :class:`Finish`. No I/O, no clock,
no randomness: the same flow, facts and answers always give the same actions,
which is how the flows are tested. :mod:`ivr_flows.runner` executes the actions
on a real :class:`~dialer.core.telephony.Call`.

Every run ends with an outcome: the last one a ``set``/``hangup`` node gave,
else ``hung-up`` when the caller left, ``informed`` when the flow simply ended,
``no-input`` when a runaway loop hit the step limit. Replies of the wrong kind
(a backend bug) count as silence, never as a crash.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from dialer.core.telephony import Heard, HeardKind, PlayResult, Prompt
from ivr_flows.facts import CallFacts, derive, initial_facts
from ivr_flows.model import (
    Branch,
    Collect,
    CollectKind,
    Flow,
    FlowOutcome,
    Hangup,
    Menu,
    Say,
    SetValues,
    Transfer,
    Voicemail,
    Webhook,
)
from ivr_flows.model import Prompt as PromptTexts
from ivr_flows.templates import render

#: Speech recognised with less confidence than this counts as "not understood".
MIN_CONFIDENCE = 0.5
#: Nodes one call may pass through; a flow that loops for ever ends here instead.
MAX_STEPS = 200


# --------------------------------------------------------------------------- actions


@dataclass(frozen=True)
class Play:
    node: str
    prompt: Prompt
    barge_in: bool


@dataclass(frozen=True)
class Listen:
    node: str
    grammar: Mapping[str, tuple[str, ...]] | None
    language: str
    max_digits: int
    timeout_s: float
    terminator: str | None
    initial_digits: str = ""


# The reply to a SendEvent when the campaign has no receiver for events: the flow takes its failure
# branch as for a failed delivery, but the record says "not-configured", so a lab without a
# ``webhooks:`` section is never mistaken for a receiver that refused.
NOT_CONFIGURED = "not-configured"


@dataclass(frozen=True)
class SendEvent:
    node: str
    event: str
    payload: Mapping[str, Any]
    timeout_s: float


@dataclass(frozen=True)
class ConnectAgent:
    node: str
    queue: str
    patience_s: float
    context: Mapping[str, str]


@dataclass(frozen=True)
class WaitForBeep:
    node: str
    timeout_s: float


@dataclass(frozen=True)
class InputRecord:
    """One answer the caller gave (or did not give)."""

    node: str
    kind: str                      # HeardKind value
    digits: str = ""
    choice: str | None = None
    text: str = ""
    confidence: float = 0.0


@dataclass(frozen=True)
class FlowResult:
    flow: str
    language: str
    outcome: FlowOutcome
    path: tuple[str, ...]
    inputs: tuple[InputRecord, ...]
    values: Mapping[str, Any]
    message_heard: bool
    ended_by: str                  # "flow", "caller", "agent" (transferred) or "limit"
    agent: str | None = None
    events: tuple[tuple[str, str], ...] = ()   # (event, "ok" | "failed" | NOT_CONFIGURED)

    def attempt_fields(self) -> dict[str, str]:
        """The flat fields the attempt record and the CSV export keep."""
        out = {
            "ivr_flow": self.flow,
            "ivr_language": self.language,
            "ivr_outcome": self.outcome.value,
            "ivr_path": ">".join(self.path),
            "ivr_inputs": json.dumps([_input_json(i) for i in self.inputs], ensure_ascii=False,
                                     separators=(",", ":")),
            "message_heard": "1" if self.message_heard else "0",
            "ivr_ended_by": self.ended_by,
        }
        for key, value in self.values.items():
            out[key] = _text(value)
        if self.events:
            out["webhooks"] = " ".join(f"{e}:{status}" for e, status in self.events)
        return out


@dataclass(frozen=True)
class Finish:
    result: FlowResult
    hang_up: bool                  # False when an agent has the call now


Action = Play | Listen | SendEvent | ConnectAgent | WaitForBeep | Finish


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _input_json(record: InputRecord) -> dict[str, Any]:
    out: dict[str, Any] = {"node": record.node, "kind": record.kind}
    if record.digits:
        out["digits"] = record.digits
    if record.choice:
        out["choice"] = record.choice
    if record.text:
        out["text"] = record.text
    if record.kind == HeardKind.SPEECH.value:
        out["confidence"] = round(record.confidence, 3)
    return out


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal | dt.date):
        return _text(value)
    return value


class _CallerLeft(Exception):
    """The call ended: stop walking, finish with what was reached."""


@dataclass
class _State:
    facts: dict[str, Any]
    outcome: FlowOutcome | None = None
    path: list[str] = field(default_factory=list)
    inputs: list[InputRecord] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    events: list[tuple[str, str]] = field(default_factory=list)
    message_heard: bool = False
    pending_digits: str = ""


class FlowRun:
    """One call's walk through a flow; see the module docstring."""

    def __init__(self, flow: Flow, call: CallFacts, *, agent_queue: str = "collections",
                 context: Mapping[str, str] | None = None) -> None:
        self.flow = flow
        self.call = call
        self.language = call.language if call.language in flow.languages else flow.languages[0]
        self.agent_queue = agent_queue
        self.context = dict(context or {})
        self.state = _State(facts=initial_facts(call, flow.params))
        self._gen = self._walk()
        self._started = False
        self.finished: Finish | None = None

    # -- driving -------------------------------------------------------------------------
    def start(self) -> Action:
        if self._started:
            raise RuntimeError("FlowRun.start() called twice")
        self._started = True
        return self._advance(None)

    def send(self, reply: Any) -> Action:
        if not self._started:
            raise RuntimeError("FlowRun.send() before start()")
        if self.finished is not None:
            return self.finished
        return self._advance(reply)

    def _advance(self, reply: Any) -> Action:
        try:
            action = self._gen.send(reply)
        except StopIteration as stop:
            action = stop.value
        if isinstance(action, Finish):
            self.finished = action
        return action

    # -- the walk ------------------------------------------------------------------------
    def _walk(self) -> Generator[Action, Any, Finish]:
        s = self.state
        machine = self.call.machine and self.flow.machine
        node_id: str | None = self.flow.machine if machine else self.flow.start
        try:
            while node_id is not None:
                if len(s.path) >= MAX_STEPS:
                    return self._finish("limit", s.outcome or FlowOutcome.NO_INPUT, hang_up=True)
                node = self.flow.nodes[node_id]
                s.path.append(node_id)
                if isinstance(node, Say):
                    result = yield from self._play(node.id, node.prompt, node.barge_in,
                                                   node.recordings.get(self.language))
                    if node.message and result.completed:
                        s.message_heard = True
                    node_id = node.next
                elif isinstance(node, Menu):
                    node_id = yield from self._menu(node)
                elif isinstance(node, Collect):
                    node_id = yield from self._collect(node)
                elif isinstance(node, Branch):
                    node_id = next((c.next for c in node.cases if c.when.evaluate(s.facts)), node.otherwise)
                elif isinstance(node, SetValues):
                    self._set(node)
                    node_id = node.next
                elif isinstance(node, Webhook):
                    payload = {name: _json_value(s.facts.get(name)) for name in node.send}
                    reply = yield SendEvent(node.id, node.event, payload, node.timeout_s)
                    ok = reply is True
                    s.facts[f"{node.event}_ok"] = ok
                    s.events.append((node.event, "ok" if ok else
                                     NOT_CONFIGURED if reply == NOT_CONFIGURED else "failed"))
                    node_id = node.next if ok else node.on_failure
                elif isinstance(node, Transfer):
                    if node.prompt:
                        yield from self._play(node.id, node.prompt, False)
                    agent = yield ConnectAgent(node.id, node.queue or self.agent_queue, node.patience_s,
                                               self._agent_context(node.id))
                    if isinstance(agent, str) and agent:
                        return self._finish("agent", s.outcome or FlowOutcome.AGENT, hang_up=False,
                                            agent=agent)
                    node_id = node.on_fail
                elif isinstance(node, Voicemail):
                    beep = yield WaitForBeep(node.id, node.beep_timeout_s)
                    # Recorded whole only when it starts after the beep; without one it may be cut.
                    s.values["voicemail_after_beep"] = beep is True
                    yield from self._play(node.id, node.prompt, False)   # gone before it: hung-up
                    s.outcome = FlowOutcome.VOICEMAIL
                    return self._finish("flow", FlowOutcome.VOICEMAIL, hang_up=True)
                elif isinstance(node, Hangup):
                    if node.outcome:
                        s.outcome = node.outcome
                    if node.prompt:
                        yield from self._play(node.id, node.prompt, False)
                    return self._finish("flow", s.outcome or FlowOutcome.INFORMED, hang_up=True)
                else:  # pragma: no cover - the loader admits no other node
                    raise AssertionError(node)
        except _CallerLeft:
            return self._finish("caller", s.outcome or FlowOutcome.HUNG_UP, hang_up=False)
        return self._finish("flow", s.outcome or FlowOutcome.INFORMED, hang_up=True)  # pragma: no cover

    def _finish(self, ended_by: str, outcome: FlowOutcome, *, hang_up: bool, agent: str | None = None
                ) -> Finish:
        s = self.state
        result = FlowResult(flow=self.flow.name, language=self.language, outcome=outcome,
                            path=tuple(s.path), inputs=tuple(s.inputs), values=dict(s.values),
                            message_heard=s.message_heard, ended_by=ended_by, agent=agent,
                            events=tuple(s.events))
        return Finish(result, hang_up=hang_up)

    def _agent_context(self, node_id: str) -> dict[str, str]:
        s = self.state
        ctx = dict(self.context)
        ctx.update({"flow": self.flow.name, "node": node_id, "language": self.language,
                    "ivr_path": ">".join(s.path)})
        if s.outcome:
            ctx["ivr_outcome"] = s.outcome.value
        ctx.update({k: _text(v) for k, v in s.values.items()})
        return ctx

    def _prompt(self, texts: PromptTexts, audio: bytes | None = None) -> Prompt:
        template = texts.get(self.language) or next(iter(texts.values()))
        return Prompt(render(template, self.state.facts, self.language), self.language, audio,
                      flow=self.flow.name)

    def _play(self, node_id: str, texts: PromptTexts, barge_in: bool, audio: bytes | None = None
              ) -> Generator[Action, Any, PlayResult]:
        reply = yield Play(node_id, self._prompt(texts, audio), barge_in)
        if reply is None:
            return PlayResult(completed=True)
        if not isinstance(reply, PlayResult):
            return PlayResult(completed=True)
        if not reply.completed and reply.barge_in is None:
            raise _CallerLeft
        if reply.barge_in == "dtmf" and reply.digits:
            self.state.pending_digits += reply.digits
        return reply

    def _listen(self, node_id: str, grammar: Mapping[str, tuple[str, ...]] | None, max_digits: int,
                timeout_s: float, terminator: str | None) -> Generator[Action, Any, Heard]:
        s = self.state
        initial, s.pending_digits = s.pending_digits[:max_digits], ""
        heard = yield Listen(node_id, grammar, self.language, max_digits, timeout_s, terminator, initial)
        if not isinstance(heard, Heard):
            heard = Heard(HeardKind.NO_INPUT)
        s.inputs.append(InputRecord(node_id, heard.kind.value, heard.digits, heard.choice, heard.text,
                                    heard.confidence))
        if heard.kind is HeardKind.HANGUP:
            raise _CallerLeft
        return heard

    def _menu(self, node: Menu) -> Generator[Action, Any, str]:
        grammar = {c.name: c.words[self.language] for c in node.choices if c.words.get(self.language)}
        retry_prompt: PromptTexts | None = None
        for attempt in range(node.retries + 1):
            if retry_prompt:
                yield from self._play(node.id, retry_prompt, node.barge_in)
            if not self.state.pending_digits:
                yield from self._play(node.id, node.prompt, node.barge_in)
            heard = yield from self._listen(node.id, grammar or None, 1, node.timeout_s, None)
            choice = None
            if heard.kind is HeardKind.DTMF and heard.digits:
                choice = node.by_digit(heard.digits[0])
            elif heard.kind is HeardKind.SPEECH and heard.confidence >= MIN_CONFIDENCE:
                choice = node.by_name(heard.choice)
            if choice is not None:
                return choice.next
            silent = heard.kind is HeardKind.NO_INPUT
            retry_prompt = node.no_input if silent else node.no_match
            if attempt == node.retries:
                break
        return node.on_fail

    def _collect(self, node: Collect) -> Generator[Action, Any, str]:
        retry_prompt: PromptTexts | None = None
        for attempt in range(node.retries + 1):
            if retry_prompt:
                yield from self._play(node.id, retry_prompt, True)
            if not self.state.pending_digits:
                yield from self._play(node.id, node.prompt, True)
            heard = yield from self._listen(node.id, None, node.max_digits, node.timeout_s, node.terminator)
            digits = heard.digits if heard.kind is HeardKind.DTMF else ""
            value = self._convert(node, digits) if digits else None
            if value is not None:
                self.state.facts[node.into] = value
                self.state.values[node.into] = value
                derive(self.state.facts)
                return node.next
            retry_prompt = (node.invalid if digits else node.no_input) or node.invalid or node.no_input
            if attempt == node.retries:
                break
        return node.on_fail

    def _bound(self, ref: Any) -> Any:
        return self.state.facts.get(ref) if isinstance(ref, str) else ref

    def _convert(self, node: Collect, digits: str) -> Any:
        """The typed value of what was keyed, or None when it is not acceptable."""
        if not (node.min_digits <= len(digits) <= node.max_digits) or not digits.isdigit():
            return None
        if node.kind is CollectKind.DIGITS:
            return digits
        if node.kind is CollectKind.DATE:
            today = self.call.today
            day, month = int(digits[:2]), int(digits[2:])
            try:
                when = dt.date(today.year, month, day)
            except ValueError:
                return None
            if when < today:
                try:
                    when = dt.date(today.year + 1, month, day)
                except ValueError:
                    return None
            limit = self._bound(node.max_days_ahead)
            if limit is not None and (when - today).days > int(limit):
                return None
            return when
        number: int | Decimal = int(digits) if node.kind is CollectKind.NUMBER else Decimal(int(digits))
        low, high = self._bound(node.minimum), self._bound(node.maximum)
        if low is not None and number < low:
            return None
        if high is not None and number > high:
            return None
        return number

    def _set(self, node: SetValues) -> None:
        s = self.state
        if node.outcome is not None:
            s.outcome = node.outcome
        for key, value in node.values.items():
            resolved = s.facts.get(value[1:]) if isinstance(value, str) and value.startswith("$") else value
            s.facts[key] = resolved
            s.values[key] = resolved
        derive(s.facts)



def run_pure(flow: Flow, call: CallFacts, replies: list[Any], **kwargs: Any) -> tuple[list[Action], Finish]:
    """Drive a flow with a list of replies (one per non-final action); for tests and tools.

    When the replies run out, every further action gets None (a play heard to
    the end; silence for a question; failure for a webhook; no agent).
    """
    run = FlowRun(flow, call, **kwargs)
    actions: list[Action] = []
    action = run.start()
    queue = list(replies)
    while not isinstance(action, Finish):
        actions.append(action)
        reply = queue.pop(0) if queue else None
        if reply is None and isinstance(action, Listen):
            reply = Heard(HeardKind.NO_INPUT)
        action = run.send(reply)
    return actions, action
