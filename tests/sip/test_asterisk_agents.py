"""Agent state for pacing from app_queue events recorded on a real Asterisk 22.10.1."""

from __future__ import annotations

from helpers.asterisk_fixtures import ami_messages

from dialer.core.telephony import AgentSnapshot
from sip.asterisk.agents import QueueAgents, merge_snapshots


def replay_until(agents: QueueAgents, clock: list[float], until: float) -> None:
    for t, msg in ami_messages("e_queue_redirect"):
        if t > until:
            break
        clock[0] = t
        agents.feed(msg, t)


def test_queue_status_then_a_call_then_wrap_back_to_idle() -> None:
    clock = [0.0]
    agents = QueueAgents(["agents"], clock=lambda: clock[0])
    replay_until(agents, clock, 3.2)        # QueueAdd (paused Agent Two) and the first QueueStatus
    snap = agents.snapshot()
    assert (snap.logged_in, snap.idle, snap.talking) == (2, 1, 0)   # Agent Two is paused
    replay_until(agents, clock, 7.2)        # AgentConnect: Agent One talks
    clock[0] = 9.2
    snap = agents.snapshot()
    assert (snap.idle, snap.talking) == (0, 1)
    assert 1.9 < snap.talking_s[0] < 2.2
    replay_until(agents, clock, 12.0)       # AgentComplete, QueueMemberStatus 1
    snap = agents.snapshot()
    assert (snap.logged_in, snap.idle, snap.talking) == (2, 1, 0)
    replay_until(agents, clock, 99)         # QueueRemove of Agent Two
    assert agents.snapshot().logged_in == 1


def test_other_queues_are_not_counted() -> None:
    clock = [0.0]
    agents = QueueAgents(["sales"], clock=lambda: clock[0])
    replay_until(agents, clock, 99)
    assert agents.snapshot() == AgentSnapshot(0, 0, ())


def test_a_resync_drops_members_that_are_gone() -> None:
    agents = QueueAgents(clock=lambda: 0.0)
    agents.feed({"Event": "QueueMemberAdded", "Queue": "q", "Interface": "PJSIP/a", "MemberName": "A",
                 "Status": "1", "Paused": "0"})
    agents.feed({"Event": "QueueMemberAdded", "Queue": "q", "Interface": "PJSIP/b", "MemberName": "B",
                 "Status": "1", "Paused": "0"})
    agents.begin_resync()
    agents.feed({"Event": "QueueMember", "Queue": "q", "Location": "PJSIP/a", "Name": "A", "Status": "1",
                 "Paused": "0", "InCall": "0"})
    agents.end_resync()
    assert agents.snapshot().logged_in == 1


def test_wrap_up_time_keeps_an_agent_from_idle() -> None:
    now = [0.0]
    agents = QueueAgents(clock=lambda: now[0])
    member = {"Queue": "q", "Interface": "PJSIP/a", "MemberName": "A", "Status": "2", "Paused": "0",
              "Wrapuptime": "10"}
    agents.feed({"Event": "QueueMemberAdded", **member, "InCall": "1"}, 0.0)
    agents.feed({"Event": "AgentComplete", **member}, 30.0)
    agents.feed({"Event": "QueueMemberStatus", **member, "Status": "1", "InCall": "0"}, 30.0)
    now[0] = 35.0
    assert (agents.snapshot().wrapping_s, agents.snapshot().idle) == ((5.0,), 0)   # 5 s into 10
    now[0] = 41.0
    assert (agents.snapshot().wrapping, agents.snapshot().idle) == (0, 1)


def test_a_member_paused_during_a_call_is_away_not_soon_free() -> None:
    # app_queue offers no call to a paused member, so the dialler must not count on them after it.
    now = [0.0]
    agents = QueueAgents(clock=lambda: now[0])
    member = {"Queue": "q", "Interface": "PJSIP/a", "MemberName": "A", "Status": "2", "Wrapuptime": "10"}
    agents.feed({"Event": "QueueMemberAdded", **member, "Paused": "0", "InCall": "1"}, 0.0)
    agents.feed({"Event": "QueueMemberPause", **member, "Paused": "1", "InCall": "1"}, 20.0)
    now[0] = 25.0
    snap = agents.snapshot()
    assert (snap.logged_in, snap.talking, snap.away_talking_s, snap.staying) == (1, 0, (25.0,), 0)
    agents.feed({"Event": "AgentComplete", **member, "Paused": "1"}, 30.0)
    now[0] = 33.0
    assert (agents.snapshot().wrapping, agents.snapshot().away_wrapping_s) == (0, (3.0,))
    agents.feed({"Event": "QueueMemberPause", **member, "Status": "1", "Paused": "0", "InCall": "0"}, 34.0)
    now[0] = 35.0
    assert (agents.snapshot().wrapping_s, agents.snapshot().away) == ((5.0,), 0)   # back: 5 s into 10


def test_unavailable_members_are_not_logged_in_and_servers_add_up() -> None:
    agents = QueueAgents(clock=lambda: 0.0)
    agents.feed({"Event": "QueueMemberAdded", "Queue": "q", "Interface": "PJSIP/a", "Status": "5",
                 "Paused": "0"})
    agents.feed({"Event": "QueueMemberAdded", "Queue": "q", "Interface": "PJSIP/b", "Status": "1",
                 "Paused": "0"})
    one = agents.snapshot()
    assert (one.logged_in, one.idle) == (1, 1)
    both = merge_snapshots([one, AgentSnapshot(3, 1, (5.0,), (2.0,), away_talking_s=(7.0,))])
    assert both == AgentSnapshot(4, 2, (5.0,), (2.0,), away_talking_s=(7.0,))


def _replay_with_late_status(moved_after: str, status: str, in_call: str) -> list[AgentSnapshot]:
    """The recorded call, with a device-state QueueMemberStatus landing just after ``moved_after``
    (app_queue's device-state thread races its queue thread; CI saw this order on Asterisk 22)."""
    clock = [0.0]
    agents = QueueAgents(["agents"], clock=lambda: clock[0])
    seen: list[AgentSnapshot] = []
    for t, msg in ami_messages("e_queue_redirect"):
        clock[0] = t
        agents.feed(msg, t)
        if str(msg.get("Event")) == moved_after:
            agents.feed({"Event": "QueueMemberStatus", "Queue": "agents", "Interface": "PJSIP/agent1",
                         "MemberName": "Agent One", "Status": status, "InCall": in_call,
                         "Paused": "0", "Wrapuptime": "0"}, t)
            seen.append(agents.snapshot())
    return seen


def test_an_agent_who_answered_talks_even_when_the_device_state_event_lags() -> None:
    # "in use, InCall 0" read before app_queue set the call's start time.
    after_connect = _replay_with_late_status("AgentConnect", "2", "0")
    assert [(s.idle, s.talking) for s in after_connect] == [(0, 1)]


def test_an_agent_who_hung_up_is_idle_even_when_the_device_state_event_lags() -> None:
    # "not in use, InCall 1" read before app_queue cleared the call's start time.
    after_complete = _replay_with_late_status("AgentComplete", "1", "1")
    assert [(s.idle, s.talking) for s in after_complete] == [(1, 0)]


def test_a_device_state_event_still_ends_a_talk_whose_agent_complete_was_lost() -> None:
    agents = QueueAgents(clock=lambda: 0.0)
    member = {"Queue": "q", "Interface": "PJSIP/a", "MemberName": "A", "Paused": "0"}
    agents.feed({"Event": "QueueMemberAdded", **member, "Status": "1", "InCall": "0"})
    agents.feed({"Event": "QueueMemberStatus", **member, "Status": "2", "InCall": "1"})  # no AgentConnect
    assert agents.snapshot().talking == 1
    agents.feed({"Event": "QueueMemberStatus", **member, "Status": "1", "InCall": "0"})  # no AgentComplete
    assert (agents.snapshot().idle, agents.snapshot().talking) == (1, 0)
