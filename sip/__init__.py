"""Telephony backends behind one small async interface (:mod:`dialer.core.telephony`)."""
