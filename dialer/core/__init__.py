"""The floor: the names every part of callpact shares, and nothing that knows about any of them.

Everything may import this package; it imports nothing of callpact. All of it is pure but for two
modules: :mod:`~dialer.core.yamlconf` reads files, and :mod:`~dialer.core.virtual_time` runs an event loop
whose clock jumps (the simulator's days in seconds), with a door for real socket I/O.

- :mod:`~dialer.core.errors` — the one-line errors users see (bad input, bad configuration, store away).
- :mod:`~dialer.core.yamlconf` — YAML with line numbers, so a refusal names the file, line and key.
- :mod:`~dialer.core.records` — debtors, outcomes and attempts, as every layer and the store see them.
- :mod:`~dialer.core.phones`, :mod:`~dialer.core.privacy` — E.164 numbers; masking for logs.
- :mod:`~dialer.core.telephony`, :mod:`~dialer.core.media` — the ports a telephony backend implements
  (:class:`Telephony`, :class:`Call`, :class:`AgentDesk`) and the 20 ms frames its media legs carry.
"""

from dialer.core.errors import CallpactError, ConfigError, InputError, NotFound, StoreUnavailable
from dialer.core.media import FRAME_BYTES, FRAME_MS, SAMPLE_RATE, SILENCE_FRAME, MediaLeg, split_frames
from dialer.core.phones import NumberCheck, is_mobile, normalise_number
from dialer.core.privacy import mask_name, mask_number
from dialer.core.records import Debtor, DebtorState, DebtorStatus, Outcome
from dialer.core.telephony import (
    AgentDesk,
    AgentSnapshot,
    AnsweredBy,
    Call,
    CallEvent,
    CallEventKind,
    HangupCause,
    Heard,
    HeardKind,
    Inbound,
    OriginateError,
    OriginateRequest,
    PlayResult,
    Prompt,
    Telephony,
)
from dialer.core.virtual_time import VirtualTimeLoop, real_io, run_virtual
from dialer.core.yamlconf import LineDict, Section, load_yaml, load_yaml_text, parse_duration

__all__ = [
    "FRAME_BYTES",
    "FRAME_MS",
    "SAMPLE_RATE",
    "SILENCE_FRAME",
    "AgentDesk",
    "AgentSnapshot",
    "AnsweredBy",
    "Call",
    "CallEvent",
    "CallEventKind",
    "CallpactError",
    "ConfigError",
    "Debtor",
    "DebtorState",
    "DebtorStatus",
    "HangupCause",
    "Heard",
    "HeardKind",
    "Inbound",
    "InputError",
    "LineDict",
    "MediaLeg",
    "NotFound",
    "NumberCheck",
    "OriginateError",
    "OriginateRequest",
    "Outcome",
    "PlayResult",
    "Prompt",
    "Section",
    "StoreUnavailable",
    "Telephony",
    "VirtualTimeLoop",
    "is_mobile",
    "load_yaml",
    "load_yaml_text",
    "mask_name",
    "mask_number",
    "normalise_number",
    "parse_duration",
    "real_io",
    "run_virtual",
    "split_frames",
]
