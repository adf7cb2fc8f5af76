"""Telephony backends behind one small async interface (:mod:`sip.telephony`)."""
