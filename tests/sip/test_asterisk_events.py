"""AMI event stream -> call events, on traffic recorded from a real Asterisk 22.10.1."""

from __future__ import annotations

import pytest
from helpers.asterisk_fixtures import ami_chunks, ami_messages

from dialer.core.telephony import AnsweredBy, CallEventKind, HangupCause
from sip.asterisk.events import CallTracker, NoticeKind, channel_variables, hangup_cause, parse_stream


def run(name: str, tracker: CallTracker) -> list:
    notices = []
    for t, msg in ami_messages(name):
        notices += tracker.feed(msg, t)
    return notices


def call_events(notices: list, key: str) -> list:
    return [n.event for n in notices if n.key == key and n.kind is NoticeKind.CALL_EVENT]


def test_answered_call_rings_answers_and_ends_normally() -> None:
    tracker = CallTracker()
    tracker.expect("k", action_id="orig-att-1001", attempt_id="att-1001")
    events = call_events(run("b_originate_answer_dtmf", tracker), "k")
    assert [e.kind for e in events] == [CallEventKind.RINGING, CallEventKind.ANSWERED, CallEventKind.HANGUP]
    assert events[1].answered_by is AnsweredBy.HUMAN
    assert events[2].cause is HangupCause.NORMAL       # remote BYE: Hangup says cause 0


def test_busy_is_busy_although_originate_response_says_reason_0() -> None:
    tracker = CallTracker()
    tracker.expect("k", action_id="orig-att-1002", attempt_id="att-1002")
    events = call_events(run("c_originate_busy", tracker), "k")
    assert [e.kind for e in events] == [CallEventKind.HANGUP]
    assert events[0].cause is HangupCause.BUSY
    assert "sip 486" in events[0].detail


def test_channel_id_alone_correlates_every_event() -> None:
    tracker = CallTracker()
    tracker.expect("att-1012-chan")        # no action id, no attempt id: only the ChannelId we chose
    events = call_events(run("c_originate_busy_channelid", tracker), "att-1012-chan")
    assert [(e.kind, e.cause) for e in events] == [(CallEventKind.HANGUP, HangupCause.BUSY)]


def test_ring_timeout_is_no_answer_without_dial_end() -> None:
    tracker = CallTracker()
    tracker.expect("k", action_id="orig-att-1003", attempt_id="att-1003")
    events = call_events(run("c_originate_noanswer", tracker), "k")
    assert [e.kind for e in events] == [CallEventKind.RINGING, CallEventKind.HANGUP]
    assert events[1].cause is HangupCause.NO_ANSWER


def test_nonexistent_endpoint_fails_from_the_originate_response_alone() -> None:
    tracker = CallTracker()
    tracker.expect("k", action_id="orig-att-1004", attempt_id="att-1004")
    events = call_events(run("c_originate_nonexistent", tracker), "k")
    assert [(e.kind, e.cause) for e in events] == [(CallEventKind.HANGUP, HangupCause.FAILED)]
    assert "reason 0" in events[0].detail


@pytest.mark.parametrize(("name", "attempt", "by"), [
    ("d_amd_machine", "att-2001", AnsweredBy.MACHINE),
    ("d_amd_human", "att-2002", AnsweredBy.HUMAN),
])
def test_dialplan_amd_decides_who_answered(name: str, attempt: str, by: AnsweredBy) -> None:
    tracker = CallTracker()
    tracker.expect("k", action_id=f"orig-{attempt}", attempt_id=attempt, amd=True)
    events = call_events(run(name, tracker), "k")
    assert [e.kind for e in events] == [CallEventKind.RINGING, CallEventKind.ANSWERED, CallEventKind.HANGUP]
    assert events[1].answered_by is by
    # The answer is reported when AMD decided, not at Newstate Up.
    up_at = next(t for t, m in ami_messages(name) if m.get("Event") == "Newstate"
                 and m.get("ChannelStateDesc") == "Up")
    assert events[1].at > up_at


def test_without_amd_the_answer_is_reported_at_once() -> None:
    tracker = CallTracker()
    tracker.expect("k", action_id="orig-att-2001", attempt_id="att-2001", amd=False)
    events = call_events(run("d_amd_machine", tracker), "k")
    assert events[1].kind is CallEventKind.ANSWERED and events[1].answered_by is AnsweredBy.HUMAN


def test_queue_transfer_reports_the_agent_and_one_hangup_only() -> None:
    tracker = CallTracker()
    tracker.expect("k", action_id="orig-att-3001", attempt_id="att-3001")
    notices = run("e_queue_redirect", tracker)
    agent = [n for n in notices if n.kind is NoticeKind.AGENT_CONNECTED]
    left = [n for n in notices if n.kind is NoticeKind.QUEUE_LEFT]
    assert [n.value for n in agent] == ["Agent One"]
    assert [n.value for n in left] == ["CONTINUE"]
    hangups = [e for e in call_events(notices, "k") if e.kind is CallEventKind.HANGUP]
    # The agent leg's Hangup (Linkedid = the customer) is not the customer's.
    assert len(hangups) == 1 and hangups[0].cause is HangupCause.NORMAL


def test_our_own_hangup_is_local() -> None:
    tracker = CallTracker()
    tracker.expect("k", action_id="orig-att-2001", attempt_id="att-2001", amd=True)
    notices = []
    for t, msg in ami_messages("d_amd_machine"):
        if msg.get("Event") == "UserEvent":
            tracker.mark_local_hangup("k")
        notices += tracker.feed(msg, t)
    assert call_events(notices, "k")[-1].cause is HangupCause.LOCAL


def test_failed_origination_with_a_channel_but_no_hangup_event_ends_after_grace() -> None:
    tracker = CallTracker()
    tracker.expect("k", action_id="orig-att-1002", attempt_id="att-1002")
    last = 0.0
    for t, msg in ami_messages("c_originate_busy"):
        if msg.get("Event") == "Hangup":
            break                                     # the Hangup event is lost
        tracker.feed(msg, t)
        last = t
    assert tracker.expire(last + 1) == []
    ended = tracker.expire(last + CallTracker.FAILED_HANGUP_GRACE_S + 0.1)
    assert [n.event.kind for n in ended if n.event] == [CallEventKind.HANGUP]


def test_events_of_other_calls_are_ignored() -> None:
    tracker = CallTracker()
    tracker.expect("k", action_id="orig-nothing", attempt_id="att-9999")
    assert run("b_originate_answer_dtmf", tracker) == []


def test_ended_call_produces_nothing_more() -> None:
    tracker = CallTracker()
    tracker.expect("k", action_id="orig-att-1002", attempt_id="att-1002")
    run("c_originate_busy", tracker)
    assert run("c_originate_busy", tracker) == []      # a replay (e.g. after a resync) counts nothing twice


def test_channel_variables_in_all_three_formats() -> None:
    msgs = parse_stream([
        "Event: Newexten\r\nChanVariable: ATTEMPT_ID=att-1\r\nChanVariable: CAMPAIGN_ID=c\r\n\r\n"
        "Event: Old\r\nChanVariable(ATTEMPT_ID): att-2\r\n\r\n"
        "Event: OriginateResponse\r\nChanVariable(PJSIP/sipp-00000000): ATTEMPT_ID=att-3\r\n\r\n"
    ])
    assert [channel_variables(m).get("ATTEMPT_ID") for m in msgs] == ["att-1", "att-2", "att-3"]
    assert channel_variables(msgs[0])["CAMPAIGN_ID"] == "c"


def test_a_message_split_across_tcp_reads_is_reassembled() -> None:
    # In e_queue_redirect a Ping reply is split after its first line.
    pongs = [m for _, m in ami_messages("e_queue_redirect") if m.get("Ping") == "Pong"]
    assert pongs and all(m.get("ActionID") for m in pongs)
    whole = "".join(chunk for _, chunk in ami_chunks("e_queue_redirect"))
    assert len(parse_stream([whole])) == len(ami_messages("e_queue_redirect"))


@pytest.mark.parametrize(("cause", "tech", "answered", "local", "expected"), [
    ("17", "486", False, False, HangupCause.BUSY),
    ("19", "480", False, False, HangupCause.NO_ANSWER),
    ("1", "404", False, False, HangupCause.INVALID_NUMBER),
    ("28", "", False, False, HangupCause.INVALID_NUMBER),
    ("34", "503", False, False, HangupCause.FAILED),
    ("21", "403", False, False, HangupCause.FAILED),
    ("0", "", True, False, HangupCause.NORMAL),
    ("16", "", True, True, HangupCause.LOCAL),
    ("16", "", False, False, HangupCause.NO_ANSWER),
    ("", "", False, False, HangupCause.FAILED),
])
def test_hangup_cause_mapping(cause: str, tech: str, answered: bool, local: bool,
                              expected: HangupCause) -> None:
    assert hangup_cause(cause, tech, answered=answered, local=local) is expected
