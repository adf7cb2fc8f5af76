"""The simulator: a working day in seconds, on the real engine and policies, with nothing real but Redis
in the demo.

It stands on everything below it (the application, pacing, the backends, flows) and only the command
line stands on it. Nothing here opens a socket of its own except the demo's store: the network is
:mod:`sip.simulated`, the clock is :mod:`dialer.core.virtual_time`, and the store is in memory.

- :mod:`~dialer.simulation.scenario` — a what-if day read from YAML (docs/simulate.md).
- :mod:`~dialer.simulation.compare` — ``callpact simulate``: every policy on the same day, the best fixed
  ratio in hindsight, the legal figures per hour; runs each policy in its own worker process.
- :mod:`~dialer.simulation.memory_store` — the engine's store port in memory.
- :mod:`~dialer.simulation.flow_respondent` — simulated debtors who understand the flows they hear.
- :mod:`~dialer.simulation.always_open` — the campaign never closed by calling hours (the simulator, the
  benchmarks and the tests).
- :mod:`~dialer.simulation.debtor_generator` and :mod:`~dialer.simulation.demo` — ``callpact demo``.
"""

from dialer.core.lazy_face import lazy_face

# Each name loads with its module on first use (dialer/core/lazy_face.py says why).
_EXPORTS = {
    "AttemptRecord":        "dialer.simulation.memory_store",
    "FlowRespondent":       "dialer.simulation.flow_respondent",
    "PolicyResult":         "dialer.simulation.compare",
    "Scenario":             "dialer.simulation.scenario",
    "SimulationReport":     "dialer.simulation.compare",
    "SimulationStore":      "dialer.simulation.memory_store",
    "always_open_campaign": "dialer.simulation.always_open",
    "generate_debtor_rows": "dialer.simulation.debtor_generator",
    "load_scenario":        "dialer.simulation.scenario",
    "parse_scenario":       "dialer.simulation.scenario",
    "run_demo":             "dialer.simulation.demo",
    "run_policy":           "dialer.simulation.compare",
    "simulate":             "dialer.simulation.compare",
    "write_debtors_csv":    "dialer.simulation.debtor_generator",
}
__all__ = list(_EXPORTS)
__getattr__ = lazy_face(__name__, _EXPORTS)
