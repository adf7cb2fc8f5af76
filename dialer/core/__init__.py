"""The floor: the names every part of callpact shares, and nothing that knows about any of them.

Everything may import this package; it imports nothing of callpact. All of it is pure but for three
modules: :mod:`~dialer.core.yamlconf` reads files, :mod:`~dialer.core.file_lock` locks one, and
:mod:`~dialer.core.virtual_time` runs an event loop whose clock jumps (the simulator's days in seconds),
with a door for real socket I/O.

- :mod:`~dialer.core.errors` — the one-line errors users see (bad input, bad configuration, store away).
- :mod:`~dialer.core.yamlconf` — YAML with line numbers, so a refusal names the file, line and key.
- :mod:`~dialer.core.records` — debtors, outcomes and attempts, as every layer and the store see them.
- :mod:`~dialer.core.phones`, :mod:`~dialer.core.privacy` — E.164 numbers; masking for logs.
- :mod:`~dialer.core.file_lock` — a lock file that dies with its holder (the embedded Redis's start,
  the outcome journal).
- :mod:`~dialer.core.telephony`, :mod:`~dialer.core.media` — the ports a telephony backend implements
  (:class:`Telephony`, :class:`Call`, :class:`AgentDesk`) and the 20 ms frames its media legs carry.
"""

from dialer.core import errors, media, phones, privacy, records, telephony, virtual_time, yamlconf
from dialer.core.errors import CallpactError, ConfigError, InputError, NotFound, StoreUnavailable
from dialer.core.media import FRAME_BYTES, SAMPLE_RATE, MediaLeg
from dialer.core.phones import NumberCheck, normalise_number
from dialer.core.privacy import mask_name, mask_number
from dialer.core.records import Debtor, DebtorState, Outcome
from dialer.core.telephony import AgentDesk, AgentSnapshot, Call, OriginateError, OriginateRequest, Telephony
from dialer.core.virtual_time import real_io, run_virtual
from dialer.core.yamlconf import Section, load_yaml

# The modules, and the names most callers want; everything else by its module (``telephony.Heard``).
__all__ = [
    "FRAME_BYTES",
    "SAMPLE_RATE",
    "AgentDesk",
    "AgentSnapshot",
    "Call",
    "CallpactError",
    "ConfigError",
    "Debtor",
    "DebtorState",
    "InputError",
    "MediaLeg",
    "NotFound",
    "NumberCheck",
    "OriginateError",
    "OriginateRequest",
    "Outcome",
    "Section",
    "StoreUnavailable",
    "Telephony",
    "errors",
    "load_yaml",
    "mask_name",
    "mask_number",
    "media",
    "normalise_number",
    "phones",
    "privacy",
    "real_io",
    "records",
    "run_virtual",
    "telephony",
    "virtual_time",
    "yamlconf",
]
