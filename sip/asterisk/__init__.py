"""The Asterisk backend: call control over AMI (panoramisk), media over AudioSocket.

Asterisk owns the trunks, agents and queues; callpact owns pacing, the IVR and routing.
Pure logic: :mod:`sip.asterisk.events` (AMI events -> call events), :mod:`sip.asterisk.agents`
(app_queue -> agent snapshot), :mod:`sip.asterisk.settings` (the ``backend:`` section) and the framing
half of :mod:`sip.asterisk.audiosocket`. Sockets: :mod:`sip.asterisk.ami`, the server half of
:mod:`sip.asterisk.audiosocket`, and :mod:`sip.asterisk.backend`, which joins them into a Telephony.
It is built from a settings file by :mod:`dialer.backends`, like every backend.
"""

from dialer.core.lazy_face import lazy_face

# Each name loads with its module on first use (dialer/core/lazy_face.py says why).
_EXPORTS = {
    "AmiConnection":         "sip.asterisk.ami",
    "AmiDisconnected":       "sip.asterisk.ami",
    "AmiError":              "sip.asterisk.ami",
    "AmiLoginError":         "sip.asterisk.ami",
    "AmiNotConnected":       "sip.asterisk.ami",
    "AsteriskCall":          "sip.asterisk.backend",
    "AsteriskServer":        "sip.asterisk.settings",
    "AsteriskSettings":      "sip.asterisk.settings",
    "AsteriskTelephony":     "sip.asterisk.backend",
    "AudioSocketError":      "sip.asterisk.audiosocket",
    "AudioSocketServer":     "sip.asterisk.audiosocket",
    "AudioSocketSession":    "sip.asterisk.audiosocket",
    "settings_from_mapping": "sip.asterisk.settings",
}
__all__ = list(_EXPORTS)
__getattr__ = lazy_face(__name__, _EXPORTS)
