"""What a flow is once loaded: a checked graph of typed nodes.

Nothing here reads files or talks to a call; :mod:`ivr_flows.loader` builds
these from YAML (and refuses bad flows), :mod:`ivr_flows.interpreter` walks
them. Prompts are per-language templates (see :mod:`ivr_flows.templates`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ivr_flows.conditions import Condition


class NodeType(StrEnum):
    SAY = "say"
    MENU = "menu"
    COLLECT = "collect"
    BRANCH = "branch"
    SET = "set"
    WEBHOOK = "webhook"
    TRANSFER = "transfer"
    VOICEMAIL = "voicemail"
    HANGUP = "hangup"


class FlowOutcome(StrEnum):
    """What a call achieved, as the collections client reads it (one per finished flow)."""

    PROMISE_TO_PAY = "promise-to-pay"
    PAYMENT_LINK = "payment-link"
    PAYMENT_PLAN = "payment-plan"
    DISPUTE = "dispute"
    ALREADY_PAID = "already-paid"
    WRONG_PERSON = "wrong-person"
    REFUSED = "refused"
    NO_INPUT = "no-input"
    AGENT = "agent"                    # put through to (or asked for) a person
    VOICEMAIL = "voicemail"            # a message left on a machine
    INFORMED = "informed"              # the message was played; nothing asked or answered
    HUNG_UP = "hung-up"                # the caller left before any outcome was reached


#: A prompt: language -> template text.
Prompt = Mapping[str, str]

DTMF_KEYS = "0123456789*#"


@dataclass(frozen=True)
class Node:
    id: str
    type: NodeType
    line: int | None = None

    def edges(self) -> dict[str, str]:
        """Outgoing edges: key (as written in the file) -> target node id."""
        return {}


@dataclass(frozen=True)
class Say(Node):
    prompt: Prompt = field(default_factory=dict)
    next: str = ""
    barge_in: bool = True
    message: bool = False              # the message whose hearing to the end is recorded
    recordings: Mapping[str, bytes] = field(default_factory=dict)   # language -> 8 kHz 16-bit mono PCM

    def edges(self) -> dict[str, str]:
        return {"next": self.next}


@dataclass(frozen=True)
class Choice:
    name: str
    digit: str | None
    words: Mapping[str, tuple[str, ...]]   # language -> phrases that mean this choice
    next: str


@dataclass(frozen=True)
class Menu(Node):
    prompt: Prompt = field(default_factory=dict)
    choices: tuple[Choice, ...] = ()
    timeout_s: float = 6.0
    retries: int = 2
    no_input: Prompt | None = None
    no_match: Prompt | None = None
    on_fail: str = ""                  # after the retries: where to go (no input / no match)
    barge_in: bool = True

    def edges(self) -> dict[str, str]:
        out = {f"choices.{c.name}.next": c.next for c in self.choices}
        out["on_fail"] = self.on_fail
        return out

    def by_digit(self, digit: str) -> Choice | None:
        return next((c for c in self.choices if c.digit == digit), None)

    def by_name(self, name: str | None) -> Choice | None:
        return next((c for c in self.choices if c.name == name), None)


class CollectKind(StrEnum):
    DIGITS = "digits"                  # kept as typed
    NUMBER = "number"                  # a whole number, checked against min/max
    AMOUNT = "amount"                  # whole currency units, checked against min/max
    DATE = "date"                      # DDMM, the next such day, checked against max_days_ahead


@dataclass(frozen=True)
class Collect(Node):
    prompt: Prompt = field(default_factory=dict)
    into: str = ""
    kind: CollectKind = CollectKind.DIGITS
    min_digits: int = 1
    max_digits: int = 4
    terminator: str | None = "#"
    timeout_s: float = 8.0
    retries: int = 2
    minimum: Any = None                # a number or a fact name (params.x)
    maximum: Any = None
    max_days_ahead: Any = None         # DATE: a number or a fact name
    invalid: Prompt | None = None
    no_input: Prompt | None = None
    next: str = ""
    on_fail: str = ""

    def edges(self) -> dict[str, str]:
        return {"next": self.next, "on_fail": self.on_fail}


@dataclass(frozen=True)
class Case:
    when: Condition
    next: str


@dataclass(frozen=True)
class Branch(Node):
    cases: tuple[Case, ...] = ()
    otherwise: str = ""

    def edges(self) -> dict[str, str]:
        out = {f"cases[{i}].next": c.next for i, c in enumerate(self.cases)}
        out["else"] = self.otherwise
        return out


@dataclass(frozen=True)
class SetValues(Node):
    outcome: FlowOutcome | None = None
    values: Mapping[str, Any] = field(default_factory=dict)   # name -> literal or "$fact"
    next: str = ""

    def edges(self) -> dict[str, str]:
        return {"next": self.next}


@dataclass(frozen=True)
class Webhook(Node):
    event: str = ""
    send: tuple[str, ...] = ()         # fact names whose values go into the event
    timeout_s: float = 5.0
    next: str = ""
    on_failure: str = ""

    def edges(self) -> dict[str, str]:
        return {"next": self.next, "on_failure": self.on_failure}


@dataclass(frozen=True)
class Transfer(Node):
    prompt: Prompt | None = None       # said before queueing ("I am putting you through")
    queue: str | None = None           # None: the campaign's agent queue
    patience_s: float = 60.0
    on_fail: str = ""                  # nobody took the call

    def edges(self) -> dict[str, str]:
        return {"on_fail": self.on_fail}


@dataclass(frozen=True)
class Voicemail(Node):
    prompt: Prompt = field(default_factory=dict)
    beep_timeout_s: float = 10.0


@dataclass(frozen=True)
class Hangup(Node):
    prompt: Prompt | None = None
    outcome: FlowOutcome | None = None


@dataclass(frozen=True)
class Flow:
    name: str
    source: str
    languages: tuple[str, ...]
    start: str
    machine: str | None                # where a machine answer starts (a voicemail node)
    params: Mapping[str, Any]
    nodes: Mapping[str, Node]

    def node(self, node_id: str) -> Node:
        return self.nodes[node_id]

    def with_params(self, overrides: Mapping[str, Any]) -> Flow:
        """The same flow with some declared parameters changed (a campaign's settings)."""
        unknown = sorted(set(overrides) - set(self.params))
        if unknown:
            raise KeyError(unknown[0])
        return Flow(self.name, self.source, self.languages, self.start, self.machine,
                    {**self.params, **overrides}, self.nodes)
