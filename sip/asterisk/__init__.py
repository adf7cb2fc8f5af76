"""The Asterisk backend: call control over AMI (panoramisk), media over AudioSocket.

Asterisk owns the trunks, agents and queues; callpact owns pacing, the IVR and routing.
Pure protocol logic lives in :mod:`sip.asterisk.events` (AMI events -> call events),
:mod:`sip.asterisk.agents` (app_queue -> agent snapshot) and the framing half of
:mod:`sip.asterisk.audiosocket`; sockets live in :mod:`sip.asterisk.ami`, the server half of
:mod:`sip.asterisk.audiosocket` and :mod:`sip.asterisk.backend`.
"""
