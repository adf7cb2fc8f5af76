"""Flows over simulated calls: the runner, simulated keypad and voice answers, beeps, callers back."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pytest

from dialer.core.errors import ConfigError
from dialer.core.records import Debtor
from dialer.core.telephony import AnsweredBy, Call, CallEventKind, HangupCause, Inbound, OriginateRequest
from dialer.core.virtual_time import run_virtual
from dialer.core.yamlconf import Section, load_yaml_text
from dialer.simulation.flow_respondent import FlowRespondent
from ivr_flows.facts import CallFacts
from ivr_flows.interpreter import FlowResult, FlowRun
from ivr_flows.loader import shipped_flow
from ivr_flows.model import FlowOutcome
from ivr_flows.runner import run_flow
from sip.distributions import Fixed
from sip.simulated import NetworkProfile, SimulatedAgents, SimulatedCall, SimulatedNetwork

DAY = dt.date(2026, 11, 24)
JAN = Debtor("D1", "Jan de Vries", ("+31612345678",), Decimal("245.50"), due_date=DAY)
PR = shipped_flow("payment_reminder")


def net(*, machine: float = 0.0, answer: float = 1.0, voice: float = 0.3, respondent: bool = True,
        callback: float = 0.0, seed: int = 5, barge: float = 0.0) -> SimulatedNetwork:
    profile = NetworkProfile(answer_prob=answer, machine_share=machine, busy_prob=0.0, failed_prob=0.0,
                             setup_s=Fixed(0.0), ring_s=Fixed(3.0), amd_s=Fixed(1.0), voice_share=voice,
                             keypad_no_input=0.0, callback_prob=callback, callback_delay_s=Fixed(600.0),
                             barge_in_share=barge)
    who = FlowRespondent([PR], today=lambda: DAY) if respondent else None
    return SimulatedNetwork(profile, SimulatedAgents(1, Fixed(30.0), Fixed(0.0)), seed=seed, respondent=who)


def req(attempt: str = "1", number: str = "+31612345678") -> OriginateRequest:
    return OriginateRequest(attempt_id=f"a-{attempt}", number=number, caller_id="+31202101234",
                            ring_timeout_s=20.0, variables={"debtor_attempt": attempt})


async def answered(network: SimulatedNetwork, request: OriginateRequest) -> tuple[SimulatedCall, AnsweredBy]:
    call = await network.originate(request)
    async for event in call.events():
        if event.kind is CallEventKind.ANSWERED:
            assert event.answered_by is not None
            return call, event.answered_by
    raise AssertionError("not answered")


async def one_call(network: SimulatedNetwork, request: OriginateRequest, sender: Any = None
                   ) -> tuple[FlowResult, SimulatedCall]:
    call, by = await answered(network, request)
    facts = CallFacts(JAN, "nl", DAY, machine=by is AnsweredBy.MACHINE, callback_number="+31202101234")
    result = await run_flow(call, FlowRun(PR, facts, context={"attempt_id": request.attempt_id}),
                            sender=sender)
    return result, call


class Office:
    async def send(self, event: str, payload: Mapping[str, Any], timeout_s: float,
                   context: Mapping[str, str]) -> bool:
        return True


def test_the_same_debtor_attempt_answers_the_same_way_every_time() -> None:
    async def main() -> list[tuple[Any, ...]]:
        out = []
        for attempt in ("1", "1", "2", "3", "4"):
            result, _ = await one_call(net(), req(attempt), Office())
            out.append((result.path, result.inputs, result.outcome))
        return out

    runs = run_virtual(main())
    assert runs[0] == runs[1]
    assert len({r[:2] for r in runs[1:]}) > 1        # other attempts, other answers


def test_a_flow_runs_to_its_end_and_hangs_up() -> None:
    async def main() -> tuple[FlowResult, SimulatedCall]:
        return await one_call(net(), req(), Office())

    result, call = run_virtual(main())
    assert result.path[0] == "greet" and result.inputs
    assert isinstance(result.outcome, FlowOutcome)
    if result.agent:                     # an agent has the call now: the flow did not hang up
        assert not call.ended and call.agent_id == result.agent
    else:
        assert call.ended and call.cause is HangupCause.LOCAL


def test_a_machine_gets_the_voicemail_after_its_beep() -> None:
    async def main() -> tuple[FlowResult, SimulatedCall, float]:
        network = net(machine=1.0)
        call, _ = await answered(network, req())
        assert call.answered_at is not None
        beeped = await call.wait_for_beep(10.0)
        assert beeped
        heard_beep_after = asyncio.get_running_loop().time() - call.answered_at
        facts = CallFacts(JAN, "nl", DAY, machine=True, callback_number="+31202101234")
        result = await run_flow(call, FlowRun(PR, facts))
        return result, call, heard_beep_after

    result, call, after = run_virtual(main())
    assert 1.0 <= after <= 8.0
    assert result.outcome is FlowOutcome.VOICEMAIL and result.path == ("voicemail",)
    assert "euro" not in call.last_prompt and "020" not in call.last_prompt


def test_people_answer_menus_by_voice_with_a_confidence_when_asked_with_a_grammar() -> None:
    async def main() -> list[FlowResult]:
        return [(await one_call(net(voice=1.0, respondent=False), req(str(i)), Office()))[0]
                for i in range(1, 8)]

    results = run_virtual(main())
    speech = [i for r in results for i in r.inputs if i.kind == "speech"]
    assert speech and all(0.55 <= i.confidence <= 0.98 and i.choice and i.text for i in speech)


def test_a_webhook_receiver_that_raises_takes_the_fallback_branch() -> None:
    class Broken:
        async def send(self, *args: Any) -> bool:
            raise RuntimeError("back office down")

    async def main() -> list[FlowResult]:
        return [(await one_call(net(), req(str(i)), Broken()))[0] for i in range(1, 12)]

    results = run_virtual(main())
    events = [e for r in results for e in r.events]
    assert events and all(status == "failed" for _, status in events)   # refused, not "not-configured"
    assert all(r.outcome is not FlowOutcome.PAYMENT_LINK for r in results)


def test_a_missed_call_is_called_back_from_the_number_we_dialled() -> None:
    arrived: list[tuple[Inbound, float, bool]] = []

    async def handler(call: Call, inbound: Inbound) -> None:
        arrived.append((inbound, asyncio.get_running_loop().time(), call.inbound is inbound))
        await call.hangup()

    async def main() -> float:
        network = net(answer=0.0, callback=1.0)
        network.set_inbound_handler(handler)
        call = await network.originate(req())
        async for _ in call.events():
            pass
        assert call.ended_at is not None
        await asyncio.sleep(700)
        await network.drain_inbound()
        return call.ended_at

    ended = run_virtual(main())
    [(inbound, at, same)] = arrived
    assert inbound.caller == "+31612345678" and inbound.dialled == "+31202101234" and same
    assert at == ended + 600.0


def test_a_scenario_network_can_say_how_people_answer_and_call_back() -> None:
    def read(text: str) -> NetworkProfile:
        return NetworkProfile.from_section(Section(load_yaml_text(text, "s.yaml"), "s.yaml", "network"))

    profile = read("voice_share: 0.6\ncallback_prob: 0.25\ncallback_delay_s: 20m\n")
    assert (profile.voice_share, profile.callback_prob) == (0.6, 0.25)
    assert profile.callback_delay_s.sample(random.Random(1)) == 1200.0
    with pytest.raises(ConfigError, match=r"network\.callback_prob: must be at most 1"):
        read("callback_prob: 1.5\n")


def test_people_who_know_what_they_want_cut_menus_short_with_its_key() -> None:
    async def main() -> list[tuple[FlowResult, list[Any]]]:
        out = []
        for i in range(1, 6):
            call, _ = await answered(net(barge=1.0), req(str(i)))
            results: list[Any] = []
            original = call.play

            async def play(prompt: Any, *, barge_in: bool = False, _orig: Any = original,
                           _seen: list[Any] = results) -> Any:
                result = await _orig(prompt, barge_in=barge_in)
                _seen.append((prompt.text, barge_in, result))
                return result

            call.play = play  # type: ignore[method-assign]
            facts = CallFacts(JAN, "nl", DAY, callback_number="+31202101234")
            out.append((await run_flow(call, FlowRun(PR, facts), sender=Office()), results))
        return out

    for result, plays in run_virtual(main()):
        greet = plays[0]
        assert greet[1] and greet[2].barge_in == "dtmf" and greet[2].digits in "12"
        assert result.inputs[0].digits == greet[2].digits               # the key answered the question
        assert all(not r.barge_in for text, _, r in plays if text.startswith("Wij bellen"))  # not a menu
        assert sum(1 for text, _, _ in plays if text.startswith("Goedendag")) == 1          # not asked twice
