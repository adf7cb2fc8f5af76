"""The interpreter, node by node and along every path of the shipped flows, in Dutch and English.

No telephony at all: the flow is driven with scripted answers (see ``drive``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialer.core.records import Debtor
from dialer.core.telephony import Heard, HeardKind, PlayResult
from ivr_flows.facts import CallFacts
from ivr_flows.interpreter import (
    MAX_STEPS,
    Action,
    ConnectAgent,
    Finish,
    FlowRun,
    Listen,
    Play,
    SendEvent,
    WaitForBeep,
)
from ivr_flows.loader import SHIPPED, parse_flow, shipped_flow
from ivr_flows.model import Flow, FlowOutcome

TODAY = dt.date(2026, 12, 1)
JAN = Debtor("D1", "Jan de Vries", ("+31612345678",), Decimal("245.50"), due_date=dt.date(2026, 11, 20),
             invoice="F-2026-118")


def facts(language: str = "nl", debtor: Debtor | None = JAN, **kw: Any) -> CallFacts:
    return CallFacts(debtor=debtor, language=language, today=TODAY, callback_number="+31202101234", **kw)


def key(digits: str) -> Heard:
    return Heard(HeardKind.DTMF, digits=digits)


def said(choice: str, confidence: float = 0.9) -> Heard:
    return Heard(HeardKind.SPEECH, choice=choice, text=choice, confidence=confidence)


SILENCE = Heard(HeardKind.NO_INPUT)


class Trace:
    def __init__(self, actions: list[Action], finish: Finish) -> None:
        self.actions = actions
        self.finish = finish
        self.result = finish.result

    @property
    def spoken(self) -> list[str]:
        return [a.prompt.text for a in self.actions if isinstance(a, Play)]

    def events(self) -> list[SendEvent]:
        return [a for a in self.actions if isinstance(a, SendEvent)]


def drive(flow: Flow, call: CallFacts, answers: Mapping[str, Sequence[Heard]] | None = None, *,
          plays: Mapping[int, PlayResult] | None = None, webhook_ok: bool = True,
          agent: str | None = "agent-7") -> Trace:
    """Answer each question from ``answers[node]`` in turn (silence when they run out)."""
    queues = {k: list(v) for k, v in (answers or {}).items()}
    run = FlowRun(flow, call, context={"attempt_id": "a-1"})
    actions: list[Action] = []
    action = run.start()
    while not isinstance(action, Finish):
        actions.append(action)
        assert len(actions) < 500
        reply: Any
        if isinstance(action, Play):
            reply = (plays or {}).get(sum(isinstance(a, Play) for a in actions) - 1)
        elif isinstance(action, Listen):
            q = queues.get(action.node) or []
            reply = q.pop(0) if q else SILENCE
        elif isinstance(action, SendEvent):
            reply = webhook_ok
        elif isinstance(action, ConnectAgent):
            reply = agent
        else:
            assert isinstance(action, WaitForBeep)
            reply = True
        action = run.send(reply)
    return Trace(actions, action)


PR = shipped_flow("payment_reminder")
LANGS = ("nl", "en")


# --------------------------------------------------------------------------- payment_reminder paths

@pytest.mark.parametrize("lang", LANGS)
def test_right_person_hears_amount_and_due_date_in_their_language(lang: str) -> None:
    t = drive(PR, facts(lang), {"greet": [key("1")], "choice": [key("1")]})
    amount = {"nl": "tweehonderdvijfenveertig euro vijftig",
              "en": "two hundred and forty-five euros and fifty cents"}[lang]
    day = {"nl": "twintig november", "en": "the twentieth of November"}[lang]
    reminder = t.spoken[1]
    assert amount in reminder and day in reminder
    assert t.result.message_heard and t.result.language == lang


@pytest.mark.parametrize("lang", LANGS)
def test_wrong_person_gets_a_polite_close_without_the_debt(lang: str) -> None:
    for answer in (key("2"), said("deny")):
        t = drive(PR, facts(lang), {"greet": [answer]})
        assert t.result.outcome is FlowOutcome.WRONG_PERSON
        assert t.result.path == ("greet", "wrong_person")
        later = " ".join(t.spoken[1:]).lower()
        assert "euro" not in later and "245" not in later and "november" not in later
        assert not t.result.message_heard


@pytest.mark.parametrize("lang", LANGS)
def test_machine_gets_a_call_back_request_without_amount_or_company(lang: str) -> None:
    t = drive(PR, facts(lang, machine=True))
    assert isinstance(t.actions[0], WaitForBeep)
    assert len(t.spoken) == 1
    text = t.spoken[0]
    assert "Jan de Vries" in text
    assert "nul twee nul" in text or "zero two zero" in text          # the callback number, digit by digit
    assert "euro" not in text and "Incasso" not in text
    assert t.result.outcome is FlowOutcome.VOICEMAIL and t.finish.hang_up
    assert t.result.attempt_fields()["voicemail_after_beep"] == "1"


def test_a_machine_that_hangs_up_before_the_message_left_no_voicemail() -> None:
    t = drive(PR, facts(machine=True), plays={0: PlayResult(completed=False)})
    assert t.result.outcome is FlowOutcome.HUNG_UP and t.result.ended_by == "caller"


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("answer", ["key", "speech"])
def test_choice_1_sends_the_payment_link(lang: str, answer: str) -> None:
    pick = key("1") if answer == "key" else said("link")
    t = drive(PR, facts(lang), {"greet": [key("1")], "choice": [pick]})
    assert t.result.outcome is FlowOutcome.PAYMENT_LINK
    assert [e.event for e in t.events()] == ["payment_link"]
    assert t.events()[0].payload == {"amount": "245.50", "invoice": "F-2026-118", "language": lang}
    assert t.result.attempt_fields()["link_sent"] == "1"


@pytest.mark.parametrize("lang", LANGS)
def test_payment_link_that_cannot_be_sent_goes_to_an_agent(lang: str) -> None:
    t = drive(PR, facts(lang), {"greet": [key("1")], "choice": [key("1")]}, webhook_ok=False)
    assert t.result.outcome is FlowOutcome.AGENT and t.result.agent == "agent-7"
    assert not t.finish.hang_up
    assert t.result.attempt_fields()["webhooks"] == "payment_link:failed"


@pytest.mark.parametrize("lang", LANGS)
def test_choice_2_promise_to_pay_with_a_date_by_keypad(lang: str) -> None:
    t = drive(PR, facts(lang), {"greet": [key("1")], "choice": [key("2")], "promise_date": [key("1012")]})
    assert t.result.outcome is FlowOutcome.PROMISE_TO_PAY
    assert t.result.values["promise_date"] == dt.date(2026, 12, 10)
    assert t.result.values["promise_amount"] == Decimal("245.50")
    assert {"nl": "tien december", "en": "the tenth of December"}[lang] in t.spoken[-1]
    assert t.events()[0].payload["promise_date"] == "2026-12-10"


@pytest.mark.parametrize("lang", LANGS)
def test_a_promise_beyond_the_maximum_delay_is_refused_and_asked_again(lang: str) -> None:
    t = drive(PR, facts(lang), {"greet": [key("1")], "choice": [said("promise")],
                                "promise_date": [key("2012"), key("3113"), key("1512")]})
    assert t.result.values["promise_date"] == dt.date(2026, 12, 15)      # 14 days ahead: the limit
    assert sum("veertien" in s or "fourteen" in s for s in t.spoken) == 2  # the invalid prompt, twice


def test_the_maximum_delay_is_a_campaign_setting() -> None:
    flow = PR.with_params({"max_promise_days": 30})
    t = drive(flow, facts(), {"greet": [key("1")], "choice": [key("2")], "promise_date": [key("2812")]})
    assert t.result.outcome is FlowOutcome.PROMISE_TO_PAY


@pytest.mark.parametrize("lang", LANGS)
def test_choice_3_payment_plan_with_terms_and_term_amount(lang: str) -> None:
    t = drive(PR, facts(lang), {"greet": [key("1")], "choice": [key("3")],
                                "plan_terms": [key("20"), key("5")]})
    assert t.result.outcome is FlowOutcome.PAYMENT_PLAN
    assert t.result.values["plan_terms"] == 5
    assert "negen" in t.spoken[-2] or "nine" in t.spoken[-2]   # 245.50 / 25 -> at most nine terms
    assert t.events()[0].payload["term_amount"] == "49.10"
    assert {"nl": "negenenveertig euro tien", "en": "forty-nine euros and ten cents"}[lang] in t.spoken[-1]


@pytest.mark.parametrize("lang", LANGS)
def test_a_plan_below_the_minimum_term_amount_goes_to_an_agent(lang: str) -> None:
    small = Debtor("D2", "Piet", ("+31612345679",), Decimal("40.00"), due_date=TODAY)
    t = drive(PR, facts(lang, debtor=small), {"greet": [key("1")], "choice": [key("3")]})
    assert "plan_too_small" in t.result.path and t.result.outcome is FlowOutcome.AGENT


@pytest.mark.parametrize("lang", LANGS)
def test_choice_4_agent_with_the_debtor_context(lang: str) -> None:
    run_trace = drive(PR, facts(lang), {"greet": [key("1")], "choice": [said("agent")]})
    transfer = next(a for a in run_trace.actions if isinstance(a, ConnectAgent))
    assert transfer.queue == "collections"
    assert transfer.context["attempt_id"] == "a-1" and transfer.context["flow"] == "payment_reminder"
    assert run_trace.result.agent == "agent-7" and run_trace.result.ended_by == "agent"


@pytest.mark.parametrize("lang", LANGS)
def test_no_agent_free_says_the_number_to_call(lang: str) -> None:
    t = drive(PR, facts(lang), {"greet": [key("1")], "choice": [key("4")]}, agent=None)
    assert t.result.path[-1] == "agent_busy" and t.result.agent is None
    assert "nul twee nul" in t.spoken[-1] or "zero two zero" in t.spoken[-1]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("pick", "outcome", "flag"), [
    (key("9"), FlowOutcome.ALREADY_PAID, "already_paid"),
    (said("paid"), FlowOutcome.ALREADY_PAID, "already_paid"),
    (key("8"), FlowOutcome.DISPUTE, "dispute"),
    (said("refused"), FlowOutcome.REFUSED, None),
])
def test_paid_dispute_and_refusal(lang: str, pick: Heard, outcome: FlowOutcome, flag: str | None) -> None:
    t = drive(PR, facts(lang), {"greet": [key("1")], "choice": [pick]})
    assert t.result.outcome is outcome
    if flag:
        assert t.result.attempt_fields()[flag] == "1"


@pytest.mark.parametrize("lang", LANGS)
def test_silence_is_asked_again_then_closed_as_no_input(lang: str) -> None:
    t = drive(PR, facts(lang))
    assert t.result.outcome is FlowOutcome.NO_INPUT
    assert [i.kind for i in t.result.inputs] == ["no-input"] * 3
    assert t.spoken.count(t.spoken[0]) == 3                   # the question, asked three times


@pytest.mark.parametrize("lang", LANGS)
def test_unclear_speech_counts_as_no_match(lang: str) -> None:
    t = drive(PR, facts(lang), {"greet": [said("confirm", confidence=0.3), key("1")], "choice": [key("9")]})
    assert t.result.outcome is FlowOutcome.ALREADY_PAID
    assert any(("begreep" in s) or ("did not understand" in s) for s in t.spoken)
    assert t.result.inputs[0].confidence == 0.3


def test_barge_in_digits_answer_the_next_question() -> None:
    interrupted = PlayResult(completed=False, barge_in="dtmf", digits="1")
    t = drive(PR, facts(), {"choice": [key("9")]}, plays={0: interrupted})
    listen = next(a for a in t.actions if isinstance(a, Listen))
    assert listen.initial_digits == "1"


def test_barging_into_the_reminder_means_it_was_not_heard_to_the_end() -> None:
    cut = PlayResult(completed=False, barge_in="dtmf", digits="9")
    t = drive(PR, facts(), {"greet": [key("1")], "choice": [key("9")]}, plays={1: cut})
    assert not t.result.message_heard
    assert t.result.outcome is FlowOutcome.ALREADY_PAID
    assert t.spoken.count(t.spoken[2]) == 1 and "druk 1" not in t.spoken[2].lower()[:10]


@pytest.mark.parametrize("lang", LANGS)
def test_hanging_up_during_the_reminder(lang: str) -> None:
    t = drive(PR, facts(lang), {"greet": [key("1")]}, plays={1: PlayResult(completed=False)})
    assert t.result.outcome is FlowOutcome.HUNG_UP and t.result.ended_by == "caller"
    assert not t.result.message_heard and not t.finish.hang_up


@pytest.mark.parametrize("lang", LANGS)
def test_no_transfer_allowed_offers_the_link_instead(lang: str) -> None:
    flow = PR.with_params({"allow_transfer": False})
    t = drive(flow, facts(lang), {"greet": [key("1")], "choice": [key("4")], "offer_link": [key("1")]})
    assert t.result.outcome is FlowOutcome.PAYMENT_LINK and t.result.agent is None
    assert not any(isinstance(a, ConnectAgent) for a in t.actions)


def test_attempt_fields_record_path_inputs_and_confidence() -> None:
    t = drive(PR, facts(), {"greet": [said("confirm", 0.81)], "choice": [key("2")],
                            "promise_date": [key("0512")]})
    f = t.result.attempt_fields()
    assert f["ivr_outcome"] == "promise-to-pay" and f["promise_date"] == "2026-12-05"
    assert f["ivr_path"].startswith("greet>has_due_date>reminder>choice>promise_date")
    assert '"kind":"speech","choice":"confirm","text":"confirm","confidence":0.81' in f["ivr_inputs"]
    assert f["message_heard"] == "1"


@pytest.mark.parametrize("lang", LANGS)
def test_a_debtor_without_due_date_hears_only_the_amount(lang: str) -> None:
    nodate = Debtor("D3", "An", ("+31612345670",), Decimal("12.00"))
    t = drive(PR, facts(lang, debtor=nodate), {"greet": [key("1")]})
    assert "reminder_no_date" in t.result.path
    assert {"nl": "twaalf euro", "en": "twelve euros"}[lang] in t.spoken[1]


# --------------------------------------------------------------------------- the other shipped flows

@pytest.mark.parametrize("lang", LANGS)
def test_callback_flow_greets_a_caller_back_then_runs_the_reminder(lang: str) -> None:
    flow = shipped_flow("callback")
    t = drive(flow, facts(lang, inbound=True), {"greet": [key("1")], "choice": [key("1")]})
    assert ("belden u eerder" in t.spoken[0]) or ("called you earlier" in t.spoken[0])
    assert t.result.outcome is FlowOutcome.PAYMENT_LINK and t.result.message_heard


@pytest.mark.parametrize("lang", LANGS)
def test_thank_you_flow(lang: str) -> None:
    t = drive(shipped_flow("thank_you"), facts(lang))
    assert ("betaling" in t.spoken[0]) or ("payment" in t.spoken[0])
    assert t.result.outcome is FlowOutcome.INFORMED and t.result.message_heard
    assert not any(isinstance(a, Listen) for a in t.actions)


@pytest.mark.parametrize("lang", LANGS)
def test_general_menu_for_unknown_callers(lang: str) -> None:
    flow = shipped_flow("general_menu")
    to_agent = drive(flow, facts(lang, debtor=None, inbound=True), {"welcome": [key("1")]})
    assert to_agent.result.agent == "agent-7"
    stop = drive(flow, facts(lang, debtor=None, inbound=True), {"welcome": [said("stop")]})
    assert stop.result.outcome is FlowOutcome.REFUSED
    quiet = drive(flow, facts(lang, debtor=None, inbound=True))
    assert quiet.result.outcome is FlowOutcome.INFORMED
    assert all("euro" not in s for s in to_agent.spoken + stop.spoken + quiet.spoken)


# --------------------------------------------------------------------------- node types in isolation

NODES = """
flow: nodes
languages: [nl]
start: b
params: {limit: 500}
nodes:
  b:
    type: branch
    cases:
      - {if: "amount > params.limit and risk >= 0.5", next: s}
      - {if: "segment == 'vip'", next: w}
    else: c
  s: {type: set, outcome: dispute, values: {dispute: true, copied: $amount}, next: h}
  w: {type: webhook, event: ping, send: [segment], next: h, on_failure: t}
  t: {type: transfer, queue: special, on_fail: h}
  c:
    type: collect
    into: code
    min_digits: 2
    max_digits: 3
    prompt: {nl: "Code?"}
    next: say
    on_fail: h
  say: {type: say, prompt: {nl: "Code {code}."}, next: h}
  h: {type: hangup}
"""


def test_branch_set_webhook_transfer_collect_in_isolation() -> None:
    flow = parse_flow(NODES, "nodes.yaml")
    big = Debtor("D9", "X", ("+31600000000",), Decimal("900"), risk_score=0.7)
    t = drive(flow, facts(debtor=big))
    assert t.result.path == ("b", "s", "h") and t.result.values == {"dispute": True, "copied": Decimal("900")}
    vip = Debtor("D8", "Y", ("+31600000001",), Decimal("10"), segment="vip")
    t = drive(flow, facts(debtor=vip), webhook_ok=False, agent=None)
    assert t.result.path == ("b", "w", "t", "h")
    assert next(a for a in t.actions if isinstance(a, ConnectAgent)).queue == "special"
    assert t.events()[0].payload == {"segment": "vip"}
    plain = Debtor("D7", "Z", ("+31600000002",), Decimal("10"))
    t = drive(flow, facts(debtor=plain), {"c": [key("7"), key("42")]})
    assert t.result.values["code"] == "42" and t.spoken[-1] == "Code 42."
    listen = next(a for a in t.actions if isinstance(a, Listen))
    assert listen.max_digits == 3 and listen.terminator == "#" and listen.grammar is None
    assert t.result.outcome is FlowOutcome.INFORMED


def test_a_flow_that_loops_for_ever_stops_at_the_step_limit() -> None:
    loop = parse_flow("""
flow: loop
languages: [nl]
start: a
nodes:
  a: {type: set, values: {x: 1}, next: b}
  b: {type: set, values: {x: 2}, next: a}
""", "loop.yaml")
    t = drive(loop, facts())
    assert t.result.ended_by == "limit" and len(t.result.path) == MAX_STEPS
    assert t.result.outcome is FlowOutcome.NO_INPUT


# --------------------------------------------------------------------------- properties

REPLIES = st.one_of(
    st.none(),
    st.builds(PlayResult, completed=st.booleans(), barge_in=st.sampled_from([None, "dtmf", "speech"]),
              digits=st.text("0123456789*#", max_size=3)),
    st.builds(Heard, kind=st.sampled_from(list(HeardKind)), digits=st.text("0123456789*#", max_size=5),
              choice=st.sampled_from([None, "confirm", "deny", "link", "promise", "plan", "agent", "paid",
                                      "dispute", "refused", "stop", "bogus"]),
              confidence=st.floats(0, 1)),
    st.booleans(),
    st.sampled_from(["agent-1", "", 42, object()]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(SHIPPED), lang=st.sampled_from(["nl", "en", "de"]), machine=st.booleans(),
       replies=st.lists(REPLIES, max_size=60), amount=st.decimals("0.01", "99999.99", places=2))
def test_any_answers_end_every_flow_with_an_outcome(name: str, lang: str, machine: bool, replies: list[Any],
                                                    amount: Decimal) -> None:
    debtor = Debtor("D1", "Jan", ("+31612345678",), amount, due_date=TODAY)
    run = FlowRun(shipped_flow(name), facts(lang, debtor=debtor, machine=machine))
    action = run.start()
    steps = 0
    while not isinstance(action, Finish):
        steps += 1
        assert steps < 2000
        action = run.send(replies[steps % len(replies)] if replies else None)
    result = action.result
    assert isinstance(result.outcome, FlowOutcome)
    assert result.path and result.attempt_fields()["ivr_outcome"]
    assert result.language in ("nl", "en")
