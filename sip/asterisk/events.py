"""AMI event stream -> the telephony interface's call events, without any I/O.

What real Asterisk 22 sends (see tests/fixtures/asterisk/README.md) decides the rules here:

- Correlation is by the channel's Uniqueid, which callpact chooses itself (Originate ``ChannelId``),
  so every channel event and even a failed OriginateResponse names the call. Calls placed without a
  ChannelId are still found through the ``ATTEMPT_ID`` channel variable (which is empty on the first
  events) or the OriginateResponse's ActionID.
- ``OriginateResponse.Reason`` is not an outcome: busy and a nonexistent endpoint both say 0. The cause
  comes from the channel's ``Hangup`` (``Cause`` Q.850 + ``TechCause`` SIP status). Only when no channel
  ever existed does the OriginateResponse end the call itself.
- The answered OriginateResponse comes before ``Newstate Up``; either one means answered.
- With the dialplan's AMD(), the answer is reported only when its result (UserEvent ``AmdResult`` or
  ``VarSet AMDSTATUS``) says human or machine.
- After an answer a remote BYE gives ``Cause 0``: an answered call that ends without our hangup is
  NORMAL, one that we hung up is LOCAL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from panoramisk.message import Message

from dialer.core.telephony import AnsweredBy, CallEvent, CallEventKind, HangupCause

AmiMessage = Mapping[str, Any]

#: Asterisk channel states (ChannelState header) that matter here.
STATE_RINGING = "5"
STATE_UP = "6"

# SIP status (TechCause) first: it is the most precise.
_SIP_CAUSES: dict[int, HangupCause] = {
    486: HangupCause.BUSY, 600: HangupCause.BUSY,
    408: HangupCause.NO_ANSWER, 480: HangupCause.NO_ANSWER, 487: HangupCause.NO_ANSWER,
    404: HangupCause.INVALID_NUMBER, 410: HangupCause.INVALID_NUMBER, 484: HangupCause.INVALID_NUMBER,
    485: HangupCause.INVALID_NUMBER, 604: HangupCause.INVALID_NUMBER,
}
# Q.850 causes (Cause header).
_Q850_CAUSES: dict[int, HangupCause] = {
    16: HangupCause.NORMAL, 31: HangupCause.NORMAL,
    17: HangupCause.BUSY,
    18: HangupCause.NO_ANSWER, 19: HangupCause.NO_ANSWER,
    1: HangupCause.INVALID_NUMBER, 3: HangupCause.INVALID_NUMBER, 22: HangupCause.INVALID_NUMBER,
    28: HangupCause.INVALID_NUMBER,
}
# OriginateResponse Reason (ast_control_frame_type) when no channel ever existed.
_REASON_CAUSES: dict[int, HangupCause] = {
    3: HangupCause.NO_ANSWER,   # AST_CONTROL_RINGING: rang out
    5: HangupCause.BUSY,        # AST_CONTROL_BUSY
}


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip().split()[-1])
    except (ValueError, IndexError):
        return None


def hangup_cause(cause: Any, tech_cause: Any, *, answered: bool, local: bool) -> HangupCause:
    """Map a Hangup's Cause/TechCause to a backend-neutral cause.

    After an answer only two things matter: did we hang up (LOCAL) or did they (NORMAL) — Asterisk
    reports a remote BYE during dialplan as cause 0 and a dialplan Hangup() as 16.
    """
    if local:
        return HangupCause.LOCAL
    if answered:
        return HangupCause.NORMAL
    sip = _int(tech_cause)
    if sip is not None and sip in _SIP_CAUSES:
        return _SIP_CAUSES[sip]
    if sip is not None and (sip == 403 or 500 <= sip < 600):
        return HangupCause.FAILED
    q850 = _int(cause)
    if q850 is not None and q850 in _Q850_CAUSES:
        found = _Q850_CAUSES[q850]
        # A "normal clearing" before any answer means the far end rejected or gave up ringing.
        return HangupCause.NO_ANSWER if found is HangupCause.NORMAL else found
    return HangupCause.FAILED


def channel_variables(msg: AmiMessage) -> dict[str, str]:
    """The channel variables an event carries, in every format Asterisk uses.

    22: ``ChanVariable: NAME=value`` (repeated); older: ``ChanVariable(NAME): value``; OriginateResponse:
    ``ChanVariable(PJSIP/x-0001): NAME=value``.
    """
    found: dict[str, str] = {}
    for key, value in msg.items():
        low = key.lower()
        if not low.startswith("chanvariable"):
            continue
        values = value if isinstance(value, list) else [value]
        inner = key[len("chanvariable"):]
        for item in values:
            item = str(item)
            if inner.startswith("(") and "/" not in inner and "=" not in item:
                found[inner.strip("()")] = item
            elif "=" in item:
                name, _, val = item.partition("=")
                found[name.strip()] = val
    return found


def parse_stream(chunks: Iterable[str]) -> list[Message]:
    """AMI text (in arbitrary TCP chunks) -> messages, exactly as panoramisk frames them.

    Used to replay recorded traffic; the banner line is skipped.
    """
    buffer = ""
    out: list[Message] = []
    for chunk in chunks:
        buffer += chunk
        *blocks, buffer = buffer.split("\r\n\r\n")
        for block in blocks:
            lines = block.strip().split("\r\n")
            if lines and lines[0].startswith("Asterisk Call Manager/"):
                lines = lines[1:]
            msg = Message.from_line("\r\n".join(lines))
            if msg is not None:
                out.append(msg)
    return out


class NoticeKind(StrEnum):
    CALL_EVENT = "call-event"        # ``event`` holds a CallEvent for the call
    AGENT_CONNECTED = "agent"        # ``value``: the agent (queue member name or interface)
    QUEUE_LEFT = "queue-left"        # ``value``: the dialplan's QUEUESTATUS after Queue() returned
    INBOUND = "inbound"              # a new inbound call; ``fields`` from UserEvent CallpactInbound


@dataclass(frozen=True)
class Notice:
    key: str                         # the call's channel id (Uniqueid) or, for INBOUND, the media uuid
    kind: NoticeKind
    event: CallEvent | None = None
    value: str = ""
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass
class TrackedCall:
    """What is known about one originated call."""

    channel_id: str
    action_id: str = ""
    attempt_id: str = ""
    amd: bool = False                # wait for the dialplan's AMD result before reporting the answer
    uniqueids: set[str] = field(default_factory=set)
    seen_channel: bool = False
    ringing: bool = False
    up: bool = False
    answered: bool = False
    local_hangup: bool = False
    ended: bool = False
    failed_reason: int | None = None  # a failed OriginateResponse's Reason, while waiting for the Hangup
    failed_at: float | None = None
    #: The Originate's answer was lost with the AMI connection: until a channel shows up (or the
    #: resync rules it out) nobody knows whether Asterisk is dialling. Loop time of that moment.
    unconfirmed_since: float | None = None
    last_request_cause: str = ""


class CallTracker:
    """Follows calls through the AMI event stream; :meth:`feed` returns what the calls must hear.

    It is fed every event of one AMI connection (and the OriginateResponse that panoramisk returns as
    the Originate's result instead of dispatching it). Unknown channels are ignored, so agent legs,
    other applications' calls and dialplan noise do no harm.
    """

    #: How long a failed origination whose channel existed waits for that channel's Hangup.
    FAILED_HANGUP_GRACE_S = 5.0
    #: How long an Originate of unknown fate may wait for its channel (or a resync) before it ends.
    UNCONFIRMED_LIMIT_S = 120.0

    def __init__(self) -> None:
        self.calls: dict[str, TrackedCall] = {}
        self._by_uniqueid: dict[str, TrackedCall] = {}
        self._by_action: dict[str, TrackedCall] = {}
        self._by_attempt: dict[str, TrackedCall] = {}

    # -- registration ---------------------------------------------------------------------------
    def expect(self, channel_id: str, *, action_id: str = "", attempt_id: str = "",
               amd: bool = False) -> TrackedCall:
        call = TrackedCall(channel_id, action_id, attempt_id, amd)
        call.uniqueids.add(channel_id)
        self.calls[channel_id] = call
        self._by_uniqueid[channel_id] = call
        if action_id:
            self._by_action[action_id] = call
        if attempt_id:
            self._by_attempt[attempt_id] = call
        return call

    def adopt(self, channel_id: str, *, up: bool, attempt_id: str = "") -> TrackedCall:
        """A call that is already up (an inbound call, or one found again by a resync)."""
        call = self.expect(channel_id, attempt_id=attempt_id)
        call.seen_channel = True
        call.up = call.answered = up
        return call

    def mark_local_hangup(self, channel_id: str) -> None:
        call = self.calls.get(channel_id)
        if call is not None:
            call.local_hangup = True

    def forget(self, channel_id: str) -> None:
        call = self.calls.pop(channel_id, None)
        if call is None:
            return
        for uid in call.uniqueids:
            self._by_uniqueid.pop(uid, None)
        self._by_action.pop(call.action_id, None)
        self._by_attempt.pop(call.attempt_id, None)

    def live_channel_ids(self) -> list[str]:
        return [c.channel_id for c in self.calls.values() if not c.ended]

    # -- the stream -----------------------------------------------------------------------------
    def _find(self, msg: AmiMessage, event: str) -> TrackedCall | None:
        if event in ("dialbegin", "dialstate", "dialend"):
            uid = str(msg.get("DestUniqueid", ""))
        else:
            uid = str(msg.get("Uniqueid", ""))
        call = self._by_uniqueid.get(uid)
        if call is not None:
            return call
        if event == "originateresponse":
            call = self._by_action.get(str(msg.get("ActionID", "")))
        elif uid and event not in ("dialbegin", "dialstate", "dialend"):
            attempt = channel_variables(msg).get("ATTEMPT_ID", "")
            call = self._by_attempt.get(attempt) if attempt else None
        if call is not None and uid and uid != "<unknown>":
            call.uniqueids.add(uid)
            self._by_uniqueid[uid] = call
        return call

    def feed(self, msg: AmiMessage, now: float) -> list[Notice]:
        event = str(msg.get("Event", "")).lower()
        if not event:
            return []
        if event == "userevent" and str(msg.get("UserEvent", "")).lower() == "callpactinbound":
            return [Notice(str(msg.get("MediaUuid", "")), NoticeKind.INBOUND,
                           fields={k: str(v) for k, v in msg.items() if isinstance(v, str)})]
        call = self._find(msg, event)
        if call is None or call.ended:
            return []
        if event != "originateresponse":
            call.seen_channel = True
        if event == "newstate":
            state = str(msg.get("ChannelState", ""))
            desc = str(msg.get("ChannelStateDesc", "")).lower()
            if state == STATE_RINGING or desc == "ringing":
                return self._ringing(call, now)
            if state == STATE_UP or desc == "up":
                return self._up(call, now)
            return []
        if event == "dialstate" and str(msg.get("DialStatus", "")).upper() == "RINGING":
            return self._ringing(call, now)
        if event == "originateresponse":
            return self._originate_response(call, msg, now)
        if event in ("hanguprequest", "softhanguprequest"):
            call.last_request_cause = str(msg.get("Cause", ""))
            return []
        if event == "hangup":
            return self._hangup(call, msg, now)
        if event == "varset" and str(msg.get("Variable", "")).upper() == "AMDSTATUS":
            return self._amd(call, str(msg.get("Value", "")), now)
        if event == "userevent":
            name = str(msg.get("UserEvent", "")).lower()
            if name == "amdresult":
                return self._amd(call, str(msg.get("AmdStatus", "")), now)
            if name == "queueresult":
                return [Notice(call.channel_id, NoticeKind.QUEUE_LEFT, value=str(msg.get("QueueStatus", "")))]
        if event == "agentconnect":
            agent = str(msg.get("MemberName", "") or msg.get("Interface", ""))
            return [Notice(call.channel_id, NoticeKind.AGENT_CONNECTED, value=agent)]
        return []

    def expire(self, now: float) -> list[Notice]:
        """Calls whose ending event never came end now (a lost event must not hang them): failed
        originations whose channel's Hangup was missed, Originates whose answer was lost for good."""
        out: list[Notice] = []
        for call in list(self.calls.values()):
            if (not call.ended and call.failed_at is not None
                    and now - call.failed_at >= self.FAILED_HANGUP_GRACE_S):
                cause = _REASON_CAUSES.get(call.failed_reason or 0, HangupCause.FAILED)
                out += self._end(call, now, cause, f"originate failed (reason {call.failed_reason})")
            elif (not call.ended and not call.seen_channel and call.unconfirmed_since is not None
                    and now - call.unconfirmed_since >= self.UNCONFIRMED_LIMIT_S):
                out += self._end(call, now, HangupCause.FAILED, "originate unanswered (AMI lost)")
        return out

    def mark_unconfirmed(self, channel_id: str, now: float) -> None:
        call = self.calls.get(channel_id)
        if call is not None:
            call.unconfirmed_since = now

    def channel_gone(self, channel_id: str, now: float, detail: str) -> list[Notice]:
        """A call that a resync no longer finds (its Hangup was missed while AMI was away)."""
        call = self.calls.get(channel_id)
        if call is None or call.ended:
            return []
        cause = hangup_cause(None, None, answered=call.answered, local=call.local_hangup)
        return self._end(call, now, cause, detail)

    # -- transitions ----------------------------------------------------------------------------
    def _emit(self, call: TrackedCall, kind: CallEventKind, now: float, **kw: Any) -> list[Notice]:
        return [Notice(call.channel_id, NoticeKind.CALL_EVENT, event=CallEvent(kind, now, **kw))]

    def _ringing(self, call: TrackedCall, now: float) -> list[Notice]:
        if call.ringing or call.up:
            return []
        call.ringing = True
        return self._emit(call, CallEventKind.RINGING, now)

    def _up(self, call: TrackedCall, now: float) -> list[Notice]:
        if call.up:
            return []
        call.up = True
        call.seen_channel = True
        if call.amd:
            return []
        call.answered = True
        return self._emit(call, CallEventKind.ANSWERED, now, answered_by=AnsweredBy.HUMAN)

    def _amd(self, call: TrackedCall, status: str, now: float) -> list[Notice]:
        if call.answered or not call.amd:
            return []
        call.up = call.answered = True
        # NOTSURE and HANGUP count as a person: hanging up on a live debtor is the worse mistake.
        by = AnsweredBy.MACHINE if status.strip().upper() == "MACHINE" else AnsweredBy.HUMAN
        return self._emit(call, CallEventKind.ANSWERED, now, answered_by=by, detail=f"amd {status}")

    def _originate_response(self, call: TrackedCall, msg: AmiMessage, now: float) -> list[Notice]:
        if str(msg.get("Response", "")).lower() == "success":
            return self._up(call, now)
        reason = _int(msg.get("Reason", "")) or 0
        if call.seen_channel:
            # The channel's own Hangup carries the real cause; wait for it (expire() if it never comes).
            call.failed_reason, call.failed_at = reason, now
            return []
        cause = _REASON_CAUSES.get(reason, HangupCause.FAILED)
        return self._end(call, now, cause, f"originate failed (reason {reason})")

    def _hangup(self, call: TrackedCall, msg: AmiMessage, now: float) -> list[Notice]:
        cause = msg.get("Cause", "")
        if _int(cause) in (None, 0) and call.last_request_cause:
            cause = call.last_request_cause
        mapped = hangup_cause(cause, msg.get("TechCause", ""), answered=call.answered or call.up,
                              local=call.local_hangup)
        detail = f"cause {msg.get('Cause', '')}"
        if msg.get("TechCause"):
            detail += f" sip {msg.get('TechCause')}"
        return self._end(call, now, mapped, detail)

    def _end(self, call: TrackedCall, now: float, cause: HangupCause, detail: str) -> list[Notice]:
        call.ended = True
        return self._emit(call, CallEventKind.HANGUP, now, cause=cause, detail=detail)
