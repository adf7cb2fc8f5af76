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

from dialer.core.lazy_face import lazy_face

# Each name loads with its module on first use (dialer/core/lazy_face.py says why).
_EXPORTS = {
    "SHIPPED":          "ivr_flows.loader",
    "CallFacts":        "ivr_flows.facts",
    "EventSender":      "ivr_flows.runner",
    "Flow":             "ivr_flows.model",
    "FlowOutcome":      "ivr_flows.model",
    "FlowResult":       "ivr_flows.interpreter",
    "FlowRun":          "ivr_flows.interpreter",
    "Node":             "ivr_flows.model",
    "NodeType":         "ivr_flows.model",
    "ReplayGuard":      "ivr_flows.webhook",
    "WebhookSender":    "ivr_flows.webhook",
    "fixed_prompts":    "ivr_flows.catalogue",
    "initial_facts":    "ivr_flows.facts",
    "load_flow":        "ivr_flows.loader",
    "opening_prompts":  "ivr_flows.catalogue",
    "parse_flow":       "ivr_flows.loader",
    "resolve_flow":     "ivr_flows.loader",
    "run_flow":         "ivr_flows.runner",
    "run_pure":         "ivr_flows.interpreter",
    "shipped_flow":     "ivr_flows.loader",
    "verify_signature": "ivr_flows.webhook",
}
__all__ = list(_EXPORTS)
__getattr__ = lazy_face(__name__, _EXPORTS)
