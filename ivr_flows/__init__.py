"""IVR flows: the YAML flow language, its interpreter, and the flows callpact ships.

It stands on the floor (:mod:`dialer.core`: the debtor record and the telephony interface) and on
:mod:`audio` (amounts and dates in words); nothing else of callpact.

Pure: :mod:`~ivr_flows.model` (the nodes), :mod:`~ivr_flows.conditions`, :mod:`~ivr_flows.facts`,
:mod:`~ivr_flows.templates`, :mod:`~ivr_flows.loader` (reads and checks a flow file, with line numbers)
and :mod:`~ivr_flows.interpreter` (a flow run as a generator of steps: play, listen, send an event,
connect an agent — no I/O, so the simulator and the tests drive it directly), and
:mod:`~ivr_flows.catalogue` (the prompts a flow can play, for pre-rendering).
I/O: :mod:`~ivr_flows.runner` carries the steps out on a live :class:`~dialer.core.telephony.Call`, and
:mod:`~ivr_flows.webhook` posts the flows' events to the back office (HTTP, signed).
"""

from ivr_flows.catalogue import fixed_prompts, opening_prompts
from ivr_flows.facts import CallFacts, initial_facts
from ivr_flows.interpreter import FlowResult, FlowRun, run_pure
from ivr_flows.loader import SHIPPED, load_flow, parse_flow, resolve_flow, shipped_flow
from ivr_flows.model import Flow, FlowOutcome, Node, NodeType
from ivr_flows.runner import EventSender, run_flow
from ivr_flows.webhook import ReplayGuard, WebhookSender, verify_signature

__all__ = [
    "SHIPPED",
    "CallFacts",
    "EventSender",
    "Flow",
    "FlowOutcome",
    "FlowResult",
    "FlowRun",
    "Node",
    "NodeType",
    "ReplayGuard",
    "WebhookSender",
    "fixed_prompts",
    "initial_facts",
    "load_flow",
    "opening_prompts",
    "parse_flow",
    "resolve_flow",
    "run_flow",
    "run_pure",
    "shipped_flow",
    "verify_signature",
]
