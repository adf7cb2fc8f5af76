"""The floor: the names every part of callpact shares, and nothing that knows about any of them.

Everything may import this package; it imports nothing of callpact. All of it is pure but for three
modules: :mod:`~dialer.core.yamlconf` reads files, :mod:`~dialer.core.file_lock` locks one, and
:mod:`~dialer.core.virtual_time` runs an event loop whose clock jumps (the simulator's days in seconds),
with a door for real socket I/O.

- :mod:`~dialer.core.errors` — the one-line errors users see (bad input, bad configuration, store away).
- :mod:`~dialer.core.yamlconf` — YAML with line numbers, so a refusal names the file, line and key.
- :mod:`~dialer.core.records` — debtors, outcomes and attempts, as every layer and the store see them.
- :mod:`~dialer.core.phones`, :mod:`~dialer.core.privacy` — E.164 numbers; masking for logs.
- :mod:`~dialer.core.lazy_face` — package faces that load a name's module on first use.
- :mod:`~dialer.core.file_lock` — a lock file that dies with its holder (the embedded Redis's start,
  the outcome journal).
- :mod:`~dialer.core.telephony`, :mod:`~dialer.core.media` — the ports a telephony backend implements
  (:class:`Telephony`, :class:`Call`, :class:`AgentDesk`) and the 20 ms frames its media legs carry.
"""

from dialer.core.lazy_face import lazy_face

# Each name loads with its module on first use (dialer/core/lazy_face.py says why).
_EXPORTS = {
    "FRAME_BYTES":      "dialer.core.media",
    "SAMPLE_RATE":      "dialer.core.media",
    "AgentDesk":        "dialer.core.telephony",
    "AgentSnapshot":    "dialer.core.telephony",
    "Call":             "dialer.core.telephony",
    "CallpactError":    "dialer.core.errors",
    "ConfigError":      "dialer.core.errors",
    "Debtor":           "dialer.core.records",
    "DebtorState":      "dialer.core.records",
    "InputError":       "dialer.core.errors",
    "MediaLeg":         "dialer.core.media",
    "NotFound":         "dialer.core.errors",
    "NumberCheck":      "dialer.core.phones",
    "OriginateError":   "dialer.core.telephony",
    "OriginateRequest": "dialer.core.telephony",
    "Outcome":          "dialer.core.records",
    "Section":          "dialer.core.yamlconf",
    "StoreUnavailable": "dialer.core.errors",
    "Telephony":        "dialer.core.telephony",
    "errors":           "dialer.core.errors",
    "load_yaml":        "dialer.core.yamlconf",
    "mask_name":        "dialer.core.privacy",
    "mask_number":      "dialer.core.privacy",
    "media":            "dialer.core.media",
    "normalise_number": "dialer.core.phones",
    "phones":           "dialer.core.phones",
    "privacy":          "dialer.core.privacy",
    "real_io":          "dialer.core.virtual_time",
    "records":          "dialer.core.records",
    "run_virtual":      "dialer.core.virtual_time",
    "telephony":        "dialer.core.telephony",
    "virtual_time":     "dialer.core.virtual_time",
    "yamlconf":         "dialer.core.yamlconf",
}
__all__ = list(_EXPORTS)
__getattr__ = lazy_face(__name__, _EXPORTS)
