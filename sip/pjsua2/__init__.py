"""The SIP trunk backend: callpact as a SIP user agent through pjproject's pjsua2.

Pure: :mod:`sip.pjsua2.settings` (the ``sip:`` section, with file, line and key in every error) and
:mod:`sip.pjsua2.outcomes` (SIP status codes and reasons -> hangup causes). Sockets and threads:
:mod:`sip.pjsua2.backend`, where one worker thread owns the pjsua2 endpoint (SIP and RTP sockets) and
hands calls, frames and DTMF to the asyncio side. The pjsua2 module itself is optional at import time
(``tools/build_pjsua2.sh`` builds it); :func:`pjsua2_available` says whether it is there.
The backend is built from a settings file, with its prompt voices, by :mod:`dialer.backends`.
"""

from sip.pjsua2.backend import Pjsua2Telephony, Pjsua2Unavailable, SipAgentDesk, SipCall, pjsua2_available
from sip.pjsua2.outcomes import CallHistory, describe, hangup_cause
from sip.pjsua2.settings import AmdConfig, SipConfig, TrunkConfig, load_sip_config, parse_sip_config

__all__ = [
    "AmdConfig",
    "CallHistory",
    "Pjsua2Telephony",
    "Pjsua2Unavailable",
    "SipAgentDesk",
    "SipCall",
    "SipConfig",
    "TrunkConfig",
    "describe",
    "hangup_cause",
    "load_sip_config",
    "parse_sip_config",
    "pjsua2_available",
]
