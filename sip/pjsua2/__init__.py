"""The SIP trunk backend: callpact as a SIP user agent through pjproject's pjsua2.

Pure: :mod:`sip.pjsua2.settings` (the ``sip:`` section, with file, line and key in every error) and
:mod:`sip.pjsua2.outcomes` (SIP status codes and reasons -> hangup causes). Sockets and threads:
:mod:`sip.pjsua2.backend`, where one worker thread owns the pjsua2 endpoint (SIP and RTP sockets) and
hands calls, frames and DTMF to the asyncio side. The pjsua2 module itself is optional at import time
(``tools/build_pjsua2.sh`` builds it); :func:`pjsua2_available` says whether it is there.
The backend is built from a settings file, with its prompt voices, by :mod:`dialer.backends`.
"""

from dialer.core.lazy_face import lazy_face

# Each name loads with its module on first use (dialer/core/lazy_face.py says why).
_EXPORTS = {
    "AmdConfig":         "sip.pjsua2.settings",
    "CallHistory":       "sip.pjsua2.outcomes",
    "Pjsua2Telephony":   "sip.pjsua2.backend",
    "Pjsua2Unavailable": "sip.pjsua2.backend",
    "SipAgentDesk":      "sip.pjsua2.backend",
    "SipCall":           "sip.pjsua2.backend",
    "SipConfig":         "sip.pjsua2.settings",
    "TrunkConfig":       "sip.pjsua2.settings",
    "describe":          "sip.pjsua2.outcomes",
    "hangup_cause":      "sip.pjsua2.outcomes",
    "load_sip_config":   "sip.pjsua2.settings",
    "parse_sip_config":  "sip.pjsua2.settings",
    "pjsua2_available":  "sip.pjsua2.backend",
}
__all__ = list(_EXPORTS)
__getattr__ = lazy_face(__name__, _EXPORTS)
