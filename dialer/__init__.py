"""callpact's dialer: the floor every package stands on, pacing, the campaign application, the simulator
and the command line.

The floors, low to high (docs/architecture.md; ``tests/test_architecture.py`` checks them):

- :mod:`dialer.core` — the floor: errors, YAML loading, the debtor records, phone numbers, privacy
  masking, virtual time, and the telephony and media interfaces every backend implements. Pure; it
  imports nothing of callpact, and ``sip``, ``audio`` and ``ivr_flows`` may import only it of ``dialer``.
- :mod:`dialer.pacing` — how many calls to launch now: pure policies fed by the engine or the simulator.
- the application (the modules of this package and :mod:`dialer.store`): campaigns and their rules,
  debtor lists, scheduling, the engine that dials, callers back, reports, and
  :mod:`dialer.backends`, the one place a telephony backend is built.
- :mod:`dialer.simulation` — the simulated day, the policy comparison and the demo.
- :mod:`dialer.cli` and :mod:`dialer.doctor` — the ``callpact`` command.

This package itself holds only the version, so that importing its floor costs nothing more.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
