"""Where callpact keeps campaigns, debtors and every call attempt.

Three modules, split by what they touch:

* :mod:`~dialer.store.port` is pure: the protocols the engine (:class:`CampaignStore`) and the
  callback handler (:class:`CallbackStore`) are written against, and the values that cross them
  (:class:`Claim`, :class:`AttemptStart`, :class:`Control`). No I/O.
* :mod:`~dialer.store.redis_store` owns a Redis connection (pool): :class:`Store`, both protocols
  on Redis, plus what the command line needs beyond them (loading campaigns and debtors, export).
* :mod:`~dialer.store.redis_server` owns a process: it spawns the embedded ``redis-server`` in the
  data directory (:func:`ensure_running`) and shuts it down or kills it.

The in-memory store for simulations lives with the simulator
(:mod:`dialer.simulation.memory_store`), which sits above this package.
"""

from dialer.store.port import AttemptStart, CallbackStore, CampaignStore, Claim, Control
from dialer.store.redis_server import EmbeddedRedis, default_data_dir, ensure_running
from dialer.store.redis_store import IOGuard, Store

__all__ = [
    "AttemptStart",
    "CallbackStore",
    "CampaignStore",
    "Claim",
    "Control",
    "EmbeddedRedis",
    "IOGuard",
    "Store",
    "default_data_dir",
    "ensure_running",
]
