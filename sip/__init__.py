"""Telephony backends behind one small async interface (:mod:`dialer.core.telephony`).

Each backend implements the ports of the floor (``Telephony``, ``Call``, ``AgentDesk``, and media as
:class:`~dialer.core.media.MediaLeg` frames) and imports only :mod:`dialer.core` and :mod:`audio`; the
composition root :mod:`dialer.backends` builds them from their settings files.

- :mod:`sip.simulated` (with :mod:`sip.distributions`) — a phone network, debtors and an agent desk
  drawn from distributions, on the event loop's clock: pure, no sockets, for the simulator, the demo and
  ``callpact dialer --backend sim``.
- :mod:`sip.asterisk` — next to an Asterisk: AMI for call control, AudioSocket for media (sockets).
- :mod:`sip.pjsua2` — straight at a SIP trunk through pjproject's pjsua2 (a worker thread owns the SIP
  stack and its sockets). Imported on demand: pjsua2 is built by ``tools/build_pjsua2.sh``.

This face offers the simulated network's names; the other two are packages with faces of their own.
"""

from dialer.core.lazy_face import lazy_face

# Each name loads with its module on first use (dialer/core/lazy_face.py says why).
_EXPORTS = {
    "AgentStats":         "sip.simulated",
    "Distribution":       "sip.distributions",
    "Exponential":        "sip.distributions",
    "Fixed":              "sip.distributions",
    "Gamma":              "sip.distributions",
    "LogNormal":          "sip.distributions",
    "NetworkProfile":     "sip.simulated",
    "Question":           "sip.simulated",
    "Respondent":         "sip.simulated",
    "SimulatedAgents":    "sip.simulated",
    "SimulatedCall":      "sip.simulated",
    "SimulatedNetwork":   "sip.simulated",
    "Uniform":            "sip.distributions",
    "parse_distribution": "sip.distributions",
}
__all__ = list(_EXPORTS)
__getattr__ = lazy_face(__name__, _EXPORTS)
