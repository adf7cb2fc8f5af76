"""The Asterisk backend: call control over AMI (panoramisk), media over AudioSocket.

Asterisk owns the trunks, agents and queues; callpact owns pacing, the IVR and routing.
Pure logic: :mod:`sip.asterisk.events` (AMI events -> call events), :mod:`sip.asterisk.agents`
(app_queue -> agent snapshot), :mod:`sip.asterisk.settings` (the ``backend:`` section) and the framing
half of :mod:`sip.asterisk.audiosocket`. Sockets: :mod:`sip.asterisk.ami`, the server half of
:mod:`sip.asterisk.audiosocket`, and :mod:`sip.asterisk.backend`, which joins them into a Telephony.
It is built from a settings file by :mod:`dialer.backends`, like every backend.
"""

from sip.asterisk.ami import AmiConnection, AmiDisconnected, AmiError, AmiLoginError, AmiNotConnected
from sip.asterisk.audiosocket import AudioSocketError, AudioSocketServer, AudioSocketSession
from sip.asterisk.backend import AsteriskCall, AsteriskTelephony
from sip.asterisk.settings import AsteriskServer, AsteriskSettings, settings_from_mapping

__all__ = [
    "AmiConnection",
    "AmiDisconnected",
    "AmiError",
    "AmiLoginError",
    "AmiNotConnected",
    "AsteriskCall",
    "AsteriskServer",
    "AsteriskSettings",
    "AsteriskTelephony",
    "AudioSocketError",
    "AudioSocketServer",
    "AudioSocketSession",
    "settings_from_mapping",
]
