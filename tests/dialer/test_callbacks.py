"""Callback routing rules, one by one, in order, including a number shared by two debtors."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from dialer.callbacks import CallbackConfig, Candidate, route_callback
from dialer.campaign import parse_campaign
from dialer.core.errors import ConfigError
from dialer.core.records import Debtor, DebtorState

DEFAULTS = CallbackConfig()


def debtor(i: int = 1, amount: str = "200.00", risk: float | None = 0.5, **kw: object) -> Debtor:
    return Debtor(f"D{i}", f"Name {i}", ("+31612345678",), Decimal(amount), risk_score=risk, **kw)  # type: ignore[arg-type]


MISSED = {"outcome": "no-answer", "dialled_at": "100"}
VOICEMAIL = {"outcome": "answered-machine", "ivr_outcome": "voicemail", "message_heard": "0",
             "dialled_at": "100"}
HEARD = {"outcome": "answered-human", "ivr_outcome": "informed", "message_heard": "1", "dialled_at": "100"}
PAID = {"outcome": "answered-human", "ivr_outcome": "already-paid", "message_heard": "1", "dialled_at": "100"}


def route(*candidates: Candidate, config: CallbackConfig = DEFAULTS) -> tuple[str, str, bool, str | None]:
    d = route_callback(config, list(candidates))
    return d.rule, d.route, d.allow_transfer, d.debtor.debtor_id if d.debtor else None


def cand(d: Debtor, *attempts: dict[str, str]) -> Candidate:
    return Candidate(d, DebtorState(), tuple(attempts))


def test_unknown_caller_gets_the_general_menu() -> None:
    assert route() == ("unknown-caller", "general_menu", True, None)


def test_already_paid_gets_the_thank_you_even_when_the_claim_is_high() -> None:
    assert route(cand(debtor(amount="5000"), PAID))[:2] == ("already-paid", "thank_you")
    assert route(cand(debtor(custom={"paid": "true"}), MISSED))[:2] == ("already-paid", "thank_you")


def test_high_amount_goes_straight_to_an_agent() -> None:
    assert route(cand(debtor(amount="1000.00", risk=0.1), MISSED))[:2] == ("high-amount", "agent")


def test_high_risk_goes_straight_to_an_agent() -> None:
    assert route(cand(debtor(risk=0.8), MISSED))[:2] == ("high-risk", "agent")


def test_low_amount_is_never_transferred() -> None:
    assert route(cand(debtor(amount="49.99", risk=0.5), HEARD)) == ("low-amount", "callback", False, "D1")


def test_low_risk_is_handled_automatically_even_after_hearing_it() -> None:
    assert route(cand(debtor(risk=0.2), HEARD))[:3] == ("low-risk", "callback", True)


@pytest.mark.parametrize("attempt", [MISSED, VOICEMAIL])
def test_not_heard_yet_plays_the_reminder(attempt: dict[str, str]) -> None:
    assert route(cand(debtor(), attempt))[:3] == ("not-heard", "callback", True)


def test_heard_already_gets_a_live_agent() -> None:
    assert route(cand(debtor(), MISSED, HEARD))[:2] == ("heard", "agent")


def test_unknown_risk_falls_through_to_heard_or_not() -> None:
    assert route(cand(debtor(risk=None), HEARD))[:2] == ("heard", "agent")


def test_a_number_shared_by_two_debtors_of_whom_one_was_called_is_that_debtor() -> None:
    called, other = debtor(1), debtor(2)
    assert route(cand(called, MISSED), cand(other)) == ("not-heard", "callback", True, "D1")


@pytest.mark.parametrize("both_called", [True, False])
def test_a_number_shared_by_two_debtors_is_never_disclosed_to_the_wrong_one(both_called: bool) -> None:
    attempts = (MISSED,) if both_called else ()
    d = route_callback(DEFAULTS, [cand(debtor(1), *attempts), cand(debtor(2, amount="3000"), *attempts)])
    assert (d.rule, d.route, d.debtor) == ("shared-number", "general_menu", None)
    assert d.candidates == ("D1", "D2")
    assert "amount" not in d.facts


def test_the_decision_record_names_the_rule_and_no_personal_data() -> None:
    d = route_callback(DEFAULTS, [cand(debtor(risk=0.9), MISSED)])
    rec = d.record()
    assert rec["rule"] == "high-risk" and rec["route"] == "agent" and rec["debtor_id"] == "D1"
    facts = json.loads(rec["facts"])
    assert facts["risk"] == 0.9 and facts["called"] is True and facts["heard"] is False
    assert "Name 1" not in json.dumps(rec) and "+3161" not in json.dumps(rec)


CAMPAIGN = """
name: cb
callbacks:
  lookback: 3d
  rules:
    - {name: vip, if: "segment == 'vip'", agent: true}
    - {name: small, if: amount < 100, flow: callback, allow_transfer: false}
  default: general_menu
"""


def test_a_campaign_rule_table_replaces_the_defaults_in_order() -> None:
    cfg = parse_campaign(CAMPAIGN, "cb.yaml").callbacks
    assert cfg.lookback_s == 3 * 86400
    assert route(cand(debtor(amount="50", segment="vip")), config=cfg)[:2] == ("vip", "agent")
    assert route(cand(debtor(amount="50")), config=cfg)[:3] == ("small", "callback", False)
    assert route(cand(debtor(amount="500")), config=cfg)[:2] == ("default", "general_menu")


def test_campaigns_without_a_table_get_the_defaults() -> None:
    cfg = parse_campaign("name: plain\n", "p.yaml").callbacks
    assert [r.name for r in cfg.rules][:3] == ["unknown-caller", "shared-number", "already-paid"]
    assert cfg.default.route == "agent"


@pytest.mark.parametrize(("rule", "message"), [
    ("{name: a, if: known, agent: true, flow: callback}", "give either flow: NAME or agent: true"),
    ("{name: a, if: known}", "give either flow: NAME or agent: true"),
    ("{name: a, if: amout > 3, agent: true}", "unknown name 'amout'"),
    ("{name: a, if: known, flow: nosuch}", "no shipped flow 'nosuch'"),
    ("{name: a, if: known, agent: true, allow_transfer: false}", "only a flow route has allow_transfer"),
    ("{name: a, if: known, agent: true, colour: red}", "unknown key"),
])
def test_bad_rules_are_refused_with_the_key(rule: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_campaign(f"name: cb\ncallbacks:\n  rules:\n    - {rule}\n", "cb.yaml")
    assert "cb.yaml, line" in str(err.value) and "callbacks.rules[0]" in str(err.value)
    assert message in str(err.value)


def test_two_rules_with_one_name_are_refused() -> None:
    with pytest.raises(ConfigError, match="two rules are named 'a'"):
        parse_campaign("name: cb\ncallbacks:\n  rules:\n    - {name: a, if: known, agent: true}\n"
                       "    - {name: a, if: heard, agent: true}\n", "cb.yaml")


def test_the_example_campaign_documents_the_default_rules_and_flow_params() -> None:
    from pathlib import Path

    from dialer.campaign import load_campaign
    from ivr_flows.loader import resolve_flow

    example = load_campaign(Path(__file__).resolve().parents[2] / "config" / "campaigns" / "example.yaml")
    default = parse_campaign(f"name: {example.name}\n", "default")
    assert example.callbacks == default.callbacks
    flow = resolve_flow(example.ivr_flow)
    assert flow.with_params(example.ivr_params).params == flow.params
