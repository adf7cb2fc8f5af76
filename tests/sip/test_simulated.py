"""The simulated network and agents: fates, event order and timing, common random numbers, agents.

Most tests run on a minimal virtual-clock loop defined here, so hours of
simulated calls take milliseconds and times are exact; one runs in real time
with tiny durations to show the same code works on a plain loop.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from dialer.core.errors import ConfigError
from dialer.core.telephony import (
    AnsweredBy,
    CallEvent,
    CallEventKind,
    HangupCause,
    OriginateError,
    OriginateRequest,
    Prompt,
)
from dialer.core.yamlconf import Section, load_yaml_text
from sip.distributions import Fixed, LogNormal, Uniform
from sip.simulated import (
    FateKind,
    NetworkProfile,
    Piecewise,
    SimulatedAgents,
    SimulatedCall,
    SimulatedNetwork,
    prompt_duration,
)

T = TypeVar("T")
R, A, H = CallEventKind.RINGING, CallEventKind.ANSWERED, CallEventKind.HANGUP


# -- a minimal virtual clock ----------------------------------------------------------------


class _JumpingSelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    """Never sleeps: a select that would wait advances the loop's clock instead."""

    def __init__(self, loop: _VirtualLoop) -> None:
        super().__init__()
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None:
            raise RuntimeError("virtual loop stalled: nothing scheduled and nothing ready")
        if timeout > 0:
            self._loop.now += timeout
        return super().select(0)


class _VirtualLoop(asyncio.SelectorEventLoop):
    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        super().__init__(selector=_JumpingSelector(self))

    def time(self) -> float:
        return self.now


def run_virtual(main: Coroutine[Any, Any, T], start: float = 0.0) -> T:
    with asyncio.Runner(loop_factory=lambda: _VirtualLoop(start)) as runner:
        return runner.run(main)


# -- helpers -------------------------------------------------------------------------------

SETUP, RING, AMD, PATIENCE, MACHINE_GONE = 0.5, 4.0, 2.0, 10.0, 20.0


def profile(**kw: Any) -> NetworkProfile:
    """Deterministic timings; every probability 0/1 unless a test says otherwise."""
    base: dict[str, Any] = dict(
        answer_prob=1.0, machine_share=0.0, busy_prob=0.0, failed_prob=0.0,
        setup_s=Fixed(SETUP), ring_s=Fixed(RING), amd_s=Fixed(AMD), invalid_s=Fixed(1.0),
        human_hangup_s=Fixed(PATIENCE), machine_hangup_s=Fixed(MACHINE_GONE),
        machine_talk_s=Fixed(5.0), prompt_words_per_s=2.0,
    )
    base.update(kw)
    return NetworkProfile(**base)


def network(prof: NetworkProfile | None = None, *, agents: int = 1, talk: float = 100.0,
            wrap: float = 0.0, seed: int = 7, max_lines: int | None = None) -> SimulatedNetwork:
    return SimulatedNetwork(prof or profile(), SimulatedAgents(agents, Fixed(talk), Fixed(wrap), seed=seed),
                            seed=seed, max_lines=max_lines)


def request(number: str = "+31612345678", attempt: str = "1", ring_timeout_s: float = 20.0,
            attempt_id: str = "a1") -> OriginateRequest:
    return OriginateRequest(attempt_id=attempt_id, number=number, caller_id="+31201234567",
                            ring_timeout_s=ring_timeout_s, variables={"debtor_attempt": attempt})


async def collect(call: SimulatedCall) -> list[CallEvent]:
    return [event async for event in call.events()]


def shape(events: list[CallEvent]) -> list[tuple[Any, ...]]:
    return [(e.kind, round(e.at, 9), e.answered_by, e.cause) for e in events]


async def call_and_collect(net: SimulatedNetwork, req: OriginateRequest | None = None
                           ) -> tuple[SimulatedCall, list[CallEvent]]:
    call = await net.originate(req or request())
    return call, await collect(call)


# -- fates and their event order -----------------------------------------------------------


def test_answered_human_left_alone_hangs_up_after_patience() -> None:
    async def main() -> None:
        net = network()
        call, events = await call_and_collect(net)
        assert shape(events) == [
            (R, SETUP, None, None),
            (A, SETUP + RING + AMD, AnsweredBy.HUMAN, None),
            (H, SETUP + RING + AMD + PATIENCE, None, HangupCause.NORMAL),
        ]
        assert net.lines_in_use == 0
        assert net.ended_by_cause == {HangupCause.NORMAL: 1}
        assert net.answered == {AnsweredBy.HUMAN: 1}
        assert call.truth is AnsweredBy.HUMAN
    run_virtual(main())


def test_machine_hangs_up_after_its_greeting_counted_from_pickup() -> None:
    async def main() -> None:
        _, events = await call_and_collect(network(profile(machine_share=1.0)))
        assert shape(events) == [
            (R, SETUP, None, None),
            (A, SETUP + RING + AMD, AnsweredBy.MACHINE, None),
            (H, SETUP + RING + MACHINE_GONE, None, HangupCause.NORMAL),
        ]
    run_virtual(main())


@pytest.mark.parametrize(
    ("kw", "cause", "at"),
    [
        (dict(busy_prob=1.0), HangupCause.BUSY, SETUP),
        (dict(failed_prob=1.0), HangupCause.FAILED, SETUP),
        (dict(invalid_numbers=frozenset({"+31612345678"})), HangupCause.INVALID_NUMBER, 1.0),
    ],
)
def test_calls_that_never_ring(kw: dict[str, Any], cause: HangupCause, at: float) -> None:
    async def main() -> None:
        net = network(profile(**kw))
        _, events = await call_and_collect(net)
        assert shape(events) == [(H, at, None, cause)]
        assert net.lines_in_use == 0
        assert net.ended_by_cause == {cause: 1}
    run_virtual(main())


def test_unanswered_call_ends_exactly_at_ring_timeout() -> None:
    async def main() -> None:
        _, events = await call_and_collect(network(profile(answer_prob=0.0)),
                                           request(ring_timeout_s=25.0))
        assert shape(events) == [(R, SETUP, None, None), (H, SETUP + 25.0, None, HangupCause.NO_ANSWER)]
    run_virtual(main())


def test_answer_slower_than_ring_timeout_is_no_answer() -> None:
    async def main() -> None:
        _, events = await call_and_collect(network(profile(ring_s=Fixed(30.0))), request(ring_timeout_s=20.0))
        assert shape(events) == [(R, SETUP, None, None), (H, SETUP + 20.0, None, HangupCause.NO_ANSWER)]
    run_virtual(main())


def test_event_times_relative_to_a_clock_not_at_zero() -> None:
    async def main() -> None:
        _, events = await call_and_collect(network())
        assert [e.at - 3600.0 for e in events] == pytest.approx([SETUP, SETUP + RING + AMD,
                                                                  SETUP + RING + AMD + PATIENCE])
    run_virtual(main(), start=3600.0)


# -- probabilities and common random numbers -------------------------------------------------


async def _fates(net: SimulatedNetwork, n: int, prefix: str = "+3161") -> list[SimulatedCall]:
    calls = [await net.originate(request(f"{prefix}{i:07d}")) for i in range(n)]
    for call in calls:
        await call.hangup()
    return calls


@pytest.mark.parametrize("share", [0.0, 0.3, 1.0])
def test_machine_share_over_many_calls(share: float) -> None:
    async def main() -> None:
        calls = await _fates(network(profile(machine_share=share)), 4000)
        machines = sum(c.fate.truth is AnsweredBy.MACHINE for c in calls) / len(calls)
        assert machines == pytest.approx(share, abs=0.03)
        assert all(c.fate.kind == FateKind.ANSWERED for c in calls)
    run_virtual(main())


@pytest.mark.parametrize("prob", [0.0, 1.0, 0.4])
def test_answer_probability(prob: float) -> None:
    async def main() -> None:
        calls = await _fates(network(profile(answer_prob=prob)), 3000)
        answered = sum(c.fate.kind == FateKind.ANSWERED for c in calls) / len(calls)
        assert answered == pytest.approx(prob, abs=0.03)
    run_virtual(main())


def test_busy_and_failed_shares() -> None:
    async def main() -> None:
        calls = await _fates(network(profile(busy_prob=0.2, failed_prob=0.1)), 4000)
        kinds = [c.fate.kind for c in calls]
        assert kinds.count(FateKind.FAILED) / 4000 == pytest.approx(0.1, abs=0.02)
        assert kinds.count(FateKind.BUSY) / 4000 == pytest.approx(0.9 * 0.2, abs=0.02)
    run_virtual(main())


def test_answer_probability_follows_the_time_of_day() -> None:
    async def main() -> None:
        net = network(profile(answer_prob=Piecewise([(0, 0.0), (3600, 1.0)])))
        await net.start()
        early = await _fates(net, 200, "+3161")
        await asyncio.sleep(3600)
        late = await _fates(net, 200, "+3162")
        assert all(c.fate.kind == FateKind.NO_ANSWER for c in early)
        assert all(c.fate.kind == FateKind.ANSWERED for c in late)
    run_virtual(main())


def test_piecewise_steps() -> None:
    p = Piecewise([(60, 0.2), (120, 0.5)])
    assert [p.at(t) for t in (0, 60, 119.9, 120, 1e6)] == [0.2, 0.2, 0.2, 0.5, 0.5]
    with pytest.raises(ValueError, match="increase"):
        Piecewise([(10, 0.1), (10, 0.2)])
    with pytest.raises(ValueError):
        NetworkProfile(answer_prob=Piecewise([(0, 1.5)]))


def test_same_debtor_attempt_same_fate_under_any_policy() -> None:
    """Two networks with one seed, dialling in different orders at different times, agree."""
    prof = NetworkProfile(answer_prob=0.5, machine_share=0.3, busy_prob=0.1, failed_prob=0.05,
                          ring_s=LogNormal(12, 8), amd_s=Uniform(1, 3))
    numbers = [f"+316{i:08d}" for i in range(300)]

    async def policy(order: list[str], gap: float) -> dict[tuple[str, str], Any]:
        net = SimulatedNetwork(prof, SimulatedAgents(3, 60, 5, seed=1), seed=42)
        fates = {}
        for attempt in ("1", "2"):
            for number in order:
                call = await net.originate(request(number, attempt))
                fates[number, attempt] = call.fate
                await call.hangup()
                await asyncio.sleep(gap)
        return fates

    a = run_virtual(policy(numbers, 1.0))
    b = run_virtual(policy(numbers[::-1], 7.0))
    assert a == b
    # ...and the attempt number matters: a second attempt is a fresh draw
    assert sum(a[n, "1"] != a[n, "2"] for n in numbers) > 250
    c = run_virtual(SimulatedNetwork(prof, SimulatedAgents(1, 1, 1), seed=43).originate(request(numbers[0])))
    assert c.fate != a[numbers[0], "1"]


# -- agents -------------------------------------------------------------------------------


def test_acquire_gives_up_after_patience() -> None:
    async def main() -> None:
        agents = SimulatedAgents(1, Fixed(100.0), Fixed(0.0), seed=1)
        loop = asyncio.get_running_loop()
        assert await agents.acquire(5.0) == "agent-1"
        t0 = loop.time()
        assert await agents.acquire(3.0) is None
        assert loop.time() - t0 == pytest.approx(3.0)
        assert agents.waiting == 0
        assert agents.stats().gave_up == 1
    run_virtual(main())


def test_agents_serve_waiting_calls_fifo() -> None:
    async def main() -> None:
        agents = SimulatedAgents(1, Fixed(10.0), Fixed(2.0), seed=1)
        loop = asyncio.get_running_loop()
        await agents.acquire(0)                     # busy until 10, wraps until 12
        served: list[tuple[str, float]] = []

        async def caller(name: str, delay: float) -> None:
            await asyncio.sleep(delay)
            if await agents.acquire(1000.0):
                served.append((name, loop.time()))

        await asyncio.gather(caller("second", 2.0), caller("first", 1.0), caller("third", 3.0))
        assert served == [("first", 12.0), ("second", 24.0), ("third", 36.0)]
        stats = agents.stats()
        assert stats.call_waits == (0.0, 11.0, 22.0, 33.0)
        assert stats.idle_spells == (0.0, 0.0, 0.0, 0.0)
    run_virtual(main())


def test_longest_idle_agent_takes_the_next_call() -> None:
    async def main() -> None:
        agents = SimulatedAgents(2, Fixed(10.0), Fixed(0.0), seed=1)
        first = await agents.acquire(0)
        await asyncio.sleep(15)                   # agent-1 idle since 10, agent-2 since 0
        assert await agents.acquire(0) != first
    run_virtual(main())


def test_utilisation_counters_are_exact() -> None:
    async def main() -> None:
        agents = SimulatedAgents(1, Fixed(100.0), Fixed(20.0), seed=1)   # logged in from 0
        await asyncio.sleep(30)
        assert await agents.acquire(0) == "agent-1"
        snap = agents.snapshot()
        assert (snap.logged_in, snap.idle, snap.talking_s, snap.wrapping) == (1, 0, (0.0,), 0)
        await asyncio.sleep(110)                  # talk 30..130, wrap 130..150
        snap = agents.snapshot()
        assert (snap.idle, snap.talking, snap.wrapping) == (0, 0, 1)
        await asyncio.sleep(50)                   # now 190
        s = agents.stats()
        assert (s.logged_in_s, s.talk_s, s.wrap_s, s.idle_s) == (190.0, 100.0, 20.0, 70.0)
        assert s.utilisation == pytest.approx(100 / 190)
        assert s.occupancy == pytest.approx(120 / 190)
        assert s.idle_spells == (30.0,)
        assert s.connections == 1
    run_virtual(main())


def test_one_agent_one_call_talk_100_wrap_0() -> None:
    async def main() -> None:
        net = network(agents=1, talk=100.0, wrap=0.0)
        await net.start()
        call = await net.originate(request())
        events = []
        async for event in call.events():
            events.append(event)
            if event.kind is A:
                assert await call.connect_agent("sales", 2.0, {}) == "agent-1"
        answered = SETUP + RING + AMD
        assert shape(events)[-1] == (H, answered + 100.0, None, HangupCause.NORMAL)
        assert events[-1].detail == "agent hung up"
        s = net.agents.stats()
        assert s.talk_s == 100.0
        assert s.wrap_s == 0.0
        assert s.logged_in_s == pytest.approx(answered + 100.0)
        assert s.idle_s == pytest.approx(answered)
        assert s.utilisation == pytest.approx(100.0 / (answered + 100.0))
        assert net.agents.snapshot().idle == 1
        assert net.lines_in_use == 0
    run_virtual(main())


def test_agents_logging_out_finish_their_call_and_wrap_first() -> None:
    async def main() -> None:
        agents = SimulatedAgents(3, Fixed(50.0), Fixed(10.0), seed=1)
        await agents.acquire(0)
        await agents.acquire(0)                    # two talking, one idle
        agents.set_logged_in(1)                    # idle one goes now, one talker after wrap-up
        snap = agents.snapshot()
        # the leaver is still logged in and talking, but away: pacing must not wait for them
        assert (snap.logged_in, snap.idle, snap.talking, snap.away, snap.staying) == (2, 0, 1, 1, 1)
        assert len(snap.away_talking_s) == 1
        await asyncio.sleep(55)
        snap = agents.snapshot()
        assert snap.logged_in == 2                 # wrapping still counts
        assert (snap.wrapping, len(snap.away_wrapping_s)) == (1, 1)
        await asyncio.sleep(10)
        snap = agents.snapshot()
        assert (snap.logged_in, snap.idle) == (1, 1)
        s = agents.stats()
        # 3 agents from 0; agent-3 left at 0; one leaver out at 60; one stays to 65
        assert s.logged_in_s == pytest.approx(0 + 60 + 65)
        assert s.talk_s == pytest.approx(100.0)
        assert s.wrap_s == pytest.approx(20.0)
    run_virtual(main())


def test_logins_are_idle_at_once_and_take_waiting_calls() -> None:
    async def main() -> None:
        agents = SimulatedAgents(0, Fixed(50.0), Fixed(0.0), seed=1)
        loop = asyncio.get_running_loop()
        waiting = asyncio.ensure_future(agents.acquire(100.0))
        await asyncio.sleep(5)
        assert agents.waiting == 1
        agents.set_logged_in(2)
        assert await waiting == "agent-1"
        assert loop.time() == 5.0
        assert agents.snapshot().idle == 1
    run_virtual(main())


def test_leaving_agent_called_back_before_going() -> None:
    async def main() -> None:
        agents = SimulatedAgents(1, Fixed(50.0), Fixed(0.0), seed=1)
        await agents.acquire(0)
        agents.set_logged_in(0)
        assert agents.snapshot().away == 1
        agents.set_logged_in(1)                   # changed their mind: no new agent, none leaves
        assert (agents.snapshot().away, agents.snapshot().talking) == (0, 1)
        await asyncio.sleep(60)
        snap = agents.snapshot()
        assert (snap.logged_in, snap.idle) == (1, 1)
    run_virtual(main())


def test_cancelled_acquire_leaves_the_queue() -> None:
    async def main() -> None:
        agents = SimulatedAgents(1, Fixed(50.0), Fixed(0.0), seed=1)
        await agents.acquire(0)
        task = asyncio.ensure_future(agents.acquire(100.0))
        await asyncio.sleep(1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert agents.waiting == 0
    run_virtual(main())


# -- calls and agents together ---------------------------------------------------------------


def test_cancelled_connect_agent_leaves_the_queue_and_the_call_goes_on() -> None:
    async def main() -> None:
        net = network(agents=0)
        call = await net.originate(request())
        async for event in call.events():
            if event.kind is A:
                waiting = asyncio.ensure_future(call.connect_agent("q", 60.0, {}))
                await asyncio.sleep(1)
                waiting.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await waiting
                assert net.agents.waiting == 0
                net.agents.set_logged_in(1)
                assert await call.connect_agent("q", 1.0, {}) == "agent-1"
        assert call.cause is HangupCause.NORMAL
        assert call.ended_at == pytest.approx(SETUP + RING + AMD + 1 + 100.0)
    run_virtual(main())


def test_built_before_the_loop_runs_the_clock_starts_with_start() -> None:
    net = network(profile(answer_prob=Piecewise([(0, 0.0), (100, 1.0)])), agents=2)

    async def main() -> None:
        await asyncio.sleep(500)
        await net.start()
        call = await net.originate(request())      # 0 s into the network's day: not answered
        await call.hangup()
        assert call.fate.kind == FateKind.NO_ANSWER
        await asyncio.sleep(10)
        assert net.elapsed() == 10
        assert net.agents.stats().logged_in_s == 20
    run_virtual(main())



def test_person_waiting_for_an_agent_hangs_up_when_patience_runs_out() -> None:
    async def main() -> None:
        net = network(agents=0)
        call = await net.originate(request())
        events = []
        async for event in call.events():
            events.append(event)
            if event.kind is A:
                assert await call.connect_agent("q", 60.0, {}) is None
        assert shape(events)[-1] == (H, SETUP + RING + AMD + PATIENCE, None, HangupCause.NORMAL)
        assert net.agents.waiting == 0
        assert net.lines_in_use == 0
    run_virtual(main())


def test_hangup_during_agent_talk_sends_the_agent_to_wrap() -> None:
    async def main() -> None:
        net = network(agents=1, talk=100.0, wrap=5.0)
        call = await net.originate(request())
        async for event in call.events():
            if event.kind is A:
                assert await call.connect_agent("q", 1.0, {}) == "agent-1"
                await asyncio.sleep(30)
                await call.hangup()
        assert call.cause is HangupCause.LOCAL
        snap = net.agents.snapshot()
        assert (snap.talking, snap.wrapping) == (0, 1)
        assert net.agents.stats().talk_s == pytest.approx(30.0)
    run_virtual(main())


def test_machine_passed_as_human_wastes_a_little_agent_time() -> None:
    async def main() -> None:
        net = network(profile(machine_share=1.0, amd_false_human=1.0), talk=100.0)
        call = await net.originate(request())
        events = []
        async for event in call.events():
            events.append(event)
            if event.kind is A:
                assert event.answered_by is AnsweredBy.HUMAN
                assert await call.connect_agent("q", 1.0, {}) == "agent-1"
        assert events[-1].at == pytest.approx(SETUP + RING + AMD + 5.0)
        assert call.truth is AnsweredBy.MACHINE
    run_virtual(main())


def test_amd_can_call_a_person_a_machine() -> None:
    async def main() -> None:
        net = network(profile(amd_false_machine=1.0))
        call, events = await call_and_collect(net)
        assert events[1].answered_by is AnsweredBy.MACHINE
        assert call.truth is AnsweredBy.HUMAN
    run_virtual(main())


# -- play, hangup, lines ---------------------------------------------------------------------


def test_prompt_duration() -> None:
    assert prompt_duration(Prompt("een twee drie vier"), 2.0) == 2.0
    assert prompt_duration(Prompt("ignored", audio=b"\0" * 48000), 2.0) == 3.0


def test_play_takes_its_spoken_time_and_pauses_the_persons_patience() -> None:
    async def main() -> None:
        net = network()
        loop = asyncio.get_running_loop()
        call = await net.originate(request())
        events = []
        async for event in call.events():
            events.append(event)
            if event.kind is A:
                await asyncio.sleep(8)            # 2 s of patience left...
                t0 = loop.time()
                await call.play(Prompt(" ".join(["woord"] * 30)))   # ...but 15 s of talking
                assert loop.time() - t0 == pytest.approx(15.0)
        answered = SETUP + RING + AMD
        # after the prompt the person waits their full patience again
        assert events[-1].at == pytest.approx(answered + 8 + 15 + PATIENCE)
    run_virtual(main())


def test_play_returns_when_the_call_ends() -> None:
    async def main() -> None:
        net = network(profile(machine_share=1.0, machine_hangup_s=Fixed(10.0)))
        loop = asyncio.get_running_loop()
        call = await net.originate(request())
        async for event in call.events():
            if event.kind is A:
                # a machine records the prompt to its end even past its usual hangup (at 14.5)
                await call.play(Prompt(" ".join(["woord"] * 40)))          # 20 s
                assert loop.time() == pytest.approx(SETUP + RING + AMD + 20)
        assert call.ended_at == pytest.approx(SETUP + RING + AMD + 20)
        assert call.cause is HangupCause.NORMAL

        call = await net.originate(request(attempt="2"))
        async for event in call.events():
            if event.kind is A:
                playing = asyncio.ensure_future(call.play(Prompt(" ".join(["woord"] * 40))))
                await asyncio.sleep(1)
                await call.hangup()
                t0 = loop.time()
                await playing
                assert loop.time() == t0
    run_virtual(main())


def test_play_before_answer_is_a_bug() -> None:
    async def main() -> None:
        call = await network().originate(request())
        with pytest.raises(RuntimeError):
            await call.play(Prompt("hallo"))
        with pytest.raises(RuntimeError):
            await call.connect_agent("q", 1, {})
    run_virtual(main())


def test_hangup_is_local_frees_the_line_and_cancels_the_fate() -> None:
    async def main() -> None:
        net = network()
        call = await net.originate(request())
        assert net.lines_in_use == 1
        await asyncio.sleep(1.0)                 # ringing
        await call.hangup()
        await call.hangup()                      # idempotent
        assert net.lines_in_use == 0
        await asyncio.sleep(100)                 # the answer that would have come does not
        events = await collect(call)
        assert shape(events) == [(R, SETUP, None, None), (H, 1.0, None, HangupCause.LOCAL)]
        assert net.ended_by_cause == {HangupCause.LOCAL: 1}
        assert net.counters()["ended_local"] == 1
    run_virtual(main())


def test_max_lines_refuses_extra_calls() -> None:
    async def main() -> None:
        net = network(max_lines=2)
        first = await net.originate(request("+31600000001"))
        await net.originate(request("+31600000002"))
        with pytest.raises(OriginateError):
            await net.originate(request("+31600000003"))
        assert (net.placed, net.rejected, net.peak_lines) == (2, 1, 2)
        await first.hangup()
        await net.originate(request("+31600000003"))
        assert net.lines_in_use == 2
        await net.close()
        assert net.lines_in_use == 0
    run_virtual(main())


# -- real time --------------------------------------------------------------------------------


async def _tiny_scenario() -> list[list[tuple[Any, ...]]]:
    """A short mixed run; event times relative to each call's start, rounded to 1 ms."""
    prof = profile(setup_s=Fixed(0.002), ring_s=Fixed(0.01), amd_s=Fixed(0.005),
                   human_hangup_s=Fixed(0.02), machine_hangup_s=Fixed(0.03), invalid_s=Fixed(0.004),
                   invalid_numbers=frozenset({"+31600000003"}))
    net = SimulatedNetwork(prof, SimulatedAgents(1, Fixed(0.02), Fixed(0.0), seed=1), seed=1)

    async def one(number: str, connect: bool, ring_timeout: float = 1.0) -> list[tuple[Any, ...]]:
        call = await net.originate(request(number, ring_timeout_s=ring_timeout))
        out = []
        async for event in call.events():
            out.append((event.kind, round(event.at - call.placed_at, 3), event.cause))
            if event.kind is A and connect:
                await call.connect_agent("q", 1.0, {})
        return out

    return list(await asyncio.gather(one("+31600000001", True), one("+31600000002", False),
                                     one("+31600000003", False), one("+31600000004", False, 0.005)))


def _same_run(a: list[list[tuple[Any, ...]]], b: list[list[tuple[Any, ...]]], tol: float) -> bool:
    return all(
        len(x) == len(y) and all(ex[0] == ey[0] and ex[2] == ey[2] and abs(ex[1] - ey[1]) <= tol
                                 for ex, ey in zip(x, y, strict=True))
        for x, y in zip(a, b, strict=True)
    )


def test_real_time_and_virtual_time_agree() -> None:
    real = asyncio.run(_tiny_scenario())
    virtual = run_virtual(_tiny_scenario())
    # scheduled events are exact in both; only what follows our own actions (connect_agent
    # runs when the task gets to it) can lag a little in real time
    assert _same_run(real, virtual, tol=0.015)
    assert virtual[0][-1] == (H, 0.037, HangupCause.NORMAL)          # connected, talk 0.02
    assert virtual[1][-1] == (H, 0.037, HangupCause.NORMAL)          # person gave up after 0.02
    assert virtual[2] == [(H, 0.004, HangupCause.INVALID_NUMBER)]
    assert virtual[3][-1] == (H, 0.007, HangupCause.NO_ANSWER)


def test_runs_on_the_project_virtual_loop() -> None:
    virtual_time = pytest.importorskip("dialer.core.virtual_time")
    assert virtual_time.run_virtual(_tiny_scenario(), start=50_000.0) == run_virtual(_tiny_scenario())


# -- configuration -----------------------------------------------------------------------------


def _network_section(text: str) -> Section:
    return Section(load_yaml_text(text, "scenario.yaml"), "scenario.yaml", "network")


def test_profile_from_yaml() -> None:
    prof = NetworkProfile.from_section(_network_section(
        "answer_prob:\n  - {at: 0, value: 0.3}\n  - {at: 4h, value: 0.45}\n"
        "machine_share: 0.2\n"
        "ring_s: {dist: lognormal, mean: 14, sd: 6}\n"
        "amd_s: 3\n"
        "invalid_numbers: ['+31600000000']\n"
    ))
    assert prof.answer_prob == Piecewise([(0, 0.3), (14400, 0.45)])
    assert prof.answer_prob_at(5 * 3600) == 0.45
    assert prof.ring_s == LogNormal(14, 6)
    assert prof.amd_s == Fixed(3.0)
    assert prof.invalid_numbers == frozenset({"+31600000000"})
    assert prof.busy_prob == NetworkProfile().busy_prob


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("answer_rate: 0.3", r"line 1: network\.answer_rate: unknown key; allowed here: amd_false_human"),
        ("answer_prob: 1.3", r"network\.answer_prob: must be between 0 and 1"),
        ("answer_prob:\n  - {at: 2h, value: 0.3}\n  - {at: 1h, value: 0.4}\n",
         r"line 3: network\.answer_prob\[1\]\.at: steps must be in increasing time order"),
        ("answer_prob: [{at: 0, prob: 0.3}]", r"network\.answer_prob\[0\]\.value: required key is missing"),
        ("ring_s: {dist: normal, mean: 3}", r"network\.ring_s\.dist: 'normal' is not allowed"),
        ("invalid_numbers: ['0612345678']", r"network\.invalid_numbers\[0\]: '0612345678' is not an E\.164"),
    ],
)
def test_profile_yaml_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        NetworkProfile.from_section(_network_section(text))


def test_profile_validates_probabilities() -> None:
    with pytest.raises(ValueError, match="busy_prob"):
        NetworkProfile(busy_prob=-0.1)
