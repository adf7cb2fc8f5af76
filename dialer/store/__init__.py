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

from dialer.core.lazy_face import lazy_face

# Each name loads with its module on first use (dialer/core/lazy_face.py says why).
_EXPORTS = {
    "AttemptStart":     "dialer.store.port",
    "CallbackStore":    "dialer.store.port",
    "CampaignStore":    "dialer.store.port",
    "Claim":            "dialer.store.port",
    "Control":          "dialer.store.port",
    "EmbeddedRedis":    "dialer.store.redis_server",
    "IOGuard":          "dialer.store.redis_store",
    "Store":            "dialer.store.redis_store",
    "default_data_dir": "dialer.store.redis_server",
    "ensure_running":   "dialer.store.redis_server",
}
__all__ = list(_EXPORTS)
__getattr__ = lazy_face(__name__, _EXPORTS)
