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

from dialer.simulation.always_open import always_open_campaign
from dialer.simulation.compare import PolicyResult, SimulationReport, run_policy, simulate
from dialer.simulation.debtor_generator import generate_debtor_rows, write_debtors_csv
from dialer.simulation.demo import run_demo
from dialer.simulation.flow_respondent import FlowRespondent
from dialer.simulation.memory_store import AttemptRecord, SimulationStore
from dialer.simulation.scenario import Scenario, load_scenario, parse_scenario

__all__ = [
    "AttemptRecord",
    "FlowRespondent",
    "PolicyResult",
    "Scenario",
    "SimulationReport",
    "SimulationStore",
    "always_open_campaign",
    "generate_debtor_rows",
    "load_scenario",
    "parse_scenario",
    "run_demo",
    "run_policy",
    "simulate",
    "write_debtors_csv",
]
