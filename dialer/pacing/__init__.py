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

from dialer.pacing import baselines, policy, predictive, settings, sums
from dialer.pacing.baselines import AdaptiveTapered
from dialer.pacing.policy import Agentless, FixedRatio, Observations, PacingPolicy, PacingState, Progressive
from dialer.pacing.predictive import PredictiveParams, PredictivePolicy
from dialer.pacing.settings import LEGAL_MAX_ABANDON_RATE, MAX_DIAL_LEVEL, PacingConfig, ofcom_abandon_rate

__all__ = [
    "LEGAL_MAX_ABANDON_RATE",
    "MAX_DIAL_LEVEL",
    "AdaptiveTapered",
    "Agentless",
    "FixedRatio",
    "Observations",
    "PacingConfig",
    "PacingPolicy",
    "PacingState",
    "PredictiveParams",
    "PredictivePolicy",
    "Progressive",
    "baselines",
    "ofcom_abandon_rate",
    "policy",
    "predictive",
    "settings",
    "sums",
]
