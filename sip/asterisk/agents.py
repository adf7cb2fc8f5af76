"""Agent state for pacing, from app_queue's AMI events (no I/O).

``QueueStatus`` gives the full picture (on connect and after every reconnect); between resyncs the
events keep it current: QueueMemberAdded/Removed/Pause/Status for membership and device state,
AgentConnect/AgentComplete for when a talk starts and ends. Two header spellings exist for the same
member: ``QueueMember`` (a QueueStatus list item) says ``Name``/``Location``, the events say
``MemberName``/``Interface``.

Device states (``Status``): 1 not in use, 2 in use, 3 busy, 4 invalid, 5 unavailable, 6 ringing,
7 ring+in use, 8 on hold, 0 unknown. A member counts as logged in unless invalid or unavailable; idle
when not paused, not in a call, not in wrap-up, and not in use.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dialer.core.telephony import AgentDesk, AgentSnapshot

_LOGGED_OUT_STATES = {"4", "5"}
_IDLE_STATES = {"1", "0"}


@dataclass
class Member:
    interface: str
    name: str
    queue: str
    status: str = "1"
    paused: bool = False
    in_call: bool = False
    talk_since: float | None = None
    wrap_until: float = 0.0
    wrapup_s: float = 0.0


def _device_busy(status: str) -> bool:
    """Whether a member still talks when a QueueMemberStatus's InCall contradicts what we hold.

    app_queue publishes AgentConnect before it sets the member's call start, and AgentComplete
    before it clears it, while QueueMemberStatus comes from a device-state thread that reads that
    start time whenever the phone's state changes. So the event can land on the wrong side of the
    edge: "in use, InCall 0" just after AgentConnect, "not in use, InCall 1" just after
    AgentComplete. The device state is the tie-breaker: a phone in use still talks, an idle one
    does not. A QueueStatus list (read under the queue's lock) is never second-guessed.
    """
    return status not in _IDLE_STATES and status not in _LOGGED_OUT_STATES


def _member_key(msg: Mapping[str, Any]) -> tuple[str, str]:
    interface = str(msg.get("Interface", "") or msg.get("Location", ""))
    return str(msg.get("Queue", "")), interface


class QueueAgents(AgentDesk):
    """The members of the campaign's queues, as pacing sees them.

    ``queues`` limits the picture to the campaign's queues (empty: every queue). A member in several
    of them is one agent. Times are the caller's clock (``now`` arguments), monotonic or virtual.
    """

    def __init__(self, queues: Iterable[str] = (), clock: Callable[[], float] | None = None) -> None:
        self.queues = set(queues)
        self._members: dict[tuple[str, str], Member] = {}
        self._clock = clock
        self._resync_seen: set[tuple[str, str]] | None = None
        self.typical_wrap_s: float | None = None

    def _now(self) -> float:
        return time.monotonic() if self._clock is None else float(self._clock())

    def _wanted(self, queue: str) -> bool:
        return not self.queues or queue in self.queues

    # -- feeding --------------------------------------------------------------------------------
    def begin_resync(self) -> None:
        """A QueueStatus list follows; members it does not list are gone."""
        self._resync_seen = set()

    def end_resync(self) -> None:
        seen, self._resync_seen = self._resync_seen, None
        if seen is None:
            return
        for key in list(self._members):
            if key not in seen:
                del self._members[key]

    def feed(self, msg: Mapping[str, Any], now: float | None = None) -> bool:
        """Apply one AMI event; True when it concerned agents."""
        now = self._now() if now is None else now
        event = str(msg.get("Event", "")).lower()
        key = _member_key(msg)
        if not key[1] or not self._wanted(key[0]):
            return False
        if event in ("queuemember", "queuememberadded", "queuememberstatus", "queuememberpause",
                     "queuememberpaused"):
            member = self._members.get(key)
            if member is None:
                member = Member(key[1], str(msg.get("MemberName", "") or msg.get("Name", "")), key[0])
                self._members[key] = member
            self._apply(member, msg, now, event)
            if event == "queuemember" and self._resync_seen is not None:
                self._resync_seen.add(key)
            return True
        if event == "queuememberremoved":
            self._members.pop(key, None)
            return True
        member = self._members.get(key)
        if member is None:
            return False
        if event == "agentconnect":
            member.in_call = True
            member.talk_since = now
            return True
        if event == "agentcomplete":
            member.in_call = False
            member.talk_since = None
            member.wrap_until = now + member.wrapup_s
            return True
        return False

    def _apply(self, member: Member, msg: Mapping[str, Any], now: float, event: str) -> None:
        member.status = str(msg.get("Status", member.status))
        if "Paused" in msg:
            member.paused = str(msg.get("Paused")) == "1"
        if "Wrapuptime" in msg:
            try:
                member.wrapup_s = float(msg.get("Wrapuptime") or 0)
            except ValueError:
                member.wrapup_s = 0.0
        if "InCall" in msg:
            in_call = str(msg.get("InCall")) == "1"
            if event == "queuememberstatus" and in_call != member.in_call:
                in_call = _device_busy(member.status)
            if in_call and not member.in_call:
                member.talk_since = now
            if not in_call and member.in_call:
                member.talk_since = None
                member.wrap_until = now + member.wrapup_s
            member.in_call = in_call

    # -- reading --------------------------------------------------------------------------------
    def agents(self) -> dict[str, Member]:
        """One entry per agent (interface); a member of several queues counts once, busiest state wins."""
        merged: dict[str, Member] = {}
        for member in self._members.values():
            prev = merged.get(member.interface)
            if prev is None or (member.in_call and not prev.in_call):
                merged[member.interface] = member
        return merged

    def snapshot(self) -> AgentSnapshot:
        now = self._now()
        logged_in = idle = 0
        # (returning, away): a member paused while busy gets no queue call when done
        talking: tuple[list[float], list[float]] = ([], [])
        wrapping: tuple[list[float], list[float]] = ([], [])
        for m in self.agents().values():
            if m.status in _LOGGED_OUT_STATES:
                continue
            logged_in += 1
            if m.in_call:
                talking[m.paused].append(max(0.0, now - (m.talk_since if m.talk_since is not None else now)))
            elif m.wrap_until > now:             # the queue's wrapuptime started when the call ended
                wrapping[m.paused].append(max(0.0, now - (m.wrap_until - m.wrapup_s)))
            elif not m.paused and m.status in _IDLE_STATES:
                idle += 1
        return AgentSnapshot(logged_in=logged_in, idle=idle, talking_s=tuple(talking[0]),
                             wrapping_s=tuple(wrapping[0]), away_talking_s=tuple(talking[1]),
                             away_wrapping_s=tuple(wrapping[1]))


def merge_snapshots(snapshots: Iterable[AgentSnapshot]) -> AgentSnapshot:
    """Several Asterisk servers behind one campaign: their agents add up."""
    snapshots = list(snapshots)
    return AgentSnapshot(
        logged_in=sum(s.logged_in for s in snapshots), idle=sum(s.idle for s in snapshots),
        talking_s=tuple(t for s in snapshots for t in s.talking_s),
        wrapping_s=tuple(t for s in snapshots for t in s.wrapping_s),
        away_talking_s=tuple(t for s in snapshots for t in s.away_talking_s),
        away_wrapping_s=tuple(t for s in snapshots for t in s.away_wrapping_s))
