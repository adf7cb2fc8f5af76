"""Pacing: how many calls to launch now, so agents wait least and the abandon limit holds.

All pure: a policy is handed a :class:`PacingState` (the desk, the lines, the calls ringing and what
recent calls taught) and answers with a number; the engine and the simulator feed it the same way, so a
simulated day and a production day run the same decisions. It imports only :mod:`dialer.core`.

- :mod:`~dialer.pacing.policy` — the :class:`PacingPolicy` protocol, what it is fed, and the simple policies
  (progressive, fixed ratio, agentless).
- :mod:`~dialer.pacing.predictive` — callpact's model-based policy (docs/pacing.md), with its sums in
  :mod:`~dialer.pacing.sums` (compiled by ``_pacing_kernel.c`` where a C compiler was found).
- :mod:`~dialer.pacing.baselines` — VICIdial's ADAPT_TAPERED, the baseline we are measured against.
- :mod:`~dialer.pacing.settings` — the legal limits and a campaign's ``pacing:`` settings.
"""

from dialer.core.lazy_face import lazy_face

# Each name loads with its module on first use (dialer/core/lazy_face.py says why).
_EXPORTS = {
    "LEGAL_MAX_ABANDON_RATE": "dialer.pacing.settings",
    "MAX_DIAL_LEVEL":         "dialer.pacing.settings",
    "AdaptiveTapered":        "dialer.pacing.baselines",
    "Agentless":              "dialer.pacing.policy",
    "FixedRatio":             "dialer.pacing.policy",
    "Observations":           "dialer.pacing.policy",
    "PacingConfig":           "dialer.pacing.settings",
    "PacingPolicy":           "dialer.pacing.policy",
    "PacingState":            "dialer.pacing.policy",
    "PredictiveParams":       "dialer.pacing.predictive",
    "PredictivePolicy":       "dialer.pacing.predictive",
    "Progressive":            "dialer.pacing.policy",
    "baselines":              "dialer.pacing.baselines",
    "ofcom_abandon_rate":     "dialer.pacing.settings",
    "policy":                 "dialer.pacing.policy",
    "predictive":             "dialer.pacing.predictive",
    "settings":               "dialer.pacing.settings",
    "sums":                   "dialer.pacing.sums",
}
__all__ = list(_EXPORTS)
__getattr__ = lazy_face(__name__, _EXPORTS)
