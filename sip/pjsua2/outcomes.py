"""What a SIP final response means for the dialer (pure logic, no pjsua).

The engine records outcomes, not SIP codes, and schedules retries from them:
a busy line is retried soon, an invalid number never, a trunk failure is not
the debtor's fault. Two cases need the call's history, not just the code:

- 487 Request Terminated is what the far end answers to *our* CANCEL; at our
  ring timeout that is "no answer", otherwise we hung up ourselves.
- 408 with no response at all from the trunk (not even 100 Trying) is a dead
  trunk, not a phone that rang out.
"""

from __future__ import annotations

from dataclasses import dataclass

from dialer.core.telephony import HangupCause


@dataclass(frozen=True)
class CallHistory:
    """What happened on the call before it ended."""

    answered: bool = False           # 200 OK to our INVITE (or we answered an inbound call)
    trunk_responded: bool = False    # any response at all arrived (100/18x/final)
    cancelled_at_ring_timeout: bool = False
    hung_up_locally: bool = False


def hangup_cause(code: int, history: CallHistory) -> HangupCause:
    """The cause for a call that ended with SIP status ``code`` (the last one pjsua saw)."""
    if history.answered:
        return HangupCause.LOCAL if history.hung_up_locally else HangupCause.NORMAL
    if code == 487 or (history.cancelled_at_ring_timeout and code in (0, 200, 408)):
        if history.cancelled_at_ring_timeout:
            return HangupCause.NO_ANSWER
        return HangupCause.LOCAL if history.hung_up_locally else HangupCause.FAILED
    if history.hung_up_locally and code in (0, 200):
        return HangupCause.LOCAL
    if code in (486, 600):
        return HangupCause.BUSY
    if code in (404, 484, 604):
        return HangupCause.INVALID_NUMBER
    if code in (408, 480):
        return HangupCause.NO_ANSWER if history.trunk_responded else HangupCause.FAILED
    return HangupCause.FAILED


def describe(code: int, reason: str, history: CallHistory) -> str:
    """A short detail for the attempt record, e.g. ``"SIP 486 Busy Here"``."""
    if history.answered:
        return "hung up by us" if history.hung_up_locally else "far end hung up"
    if history.cancelled_at_ring_timeout:
        return "ring timeout, cancelled"
    if code == 408 and not history.trunk_responded:
        return "trunk did not respond (SIP 408)"
    return f"SIP {code} {reason}".strip() if code else (reason or "no response")
