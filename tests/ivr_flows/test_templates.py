"""Prompt templates and conditions: values spoken by type in nl and en, bad templates refused."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from ivr_flows.conditions import ConditionError, parse_condition
from ivr_flows.templates import TemplateError, check_template, placeholders, render

TODAY = dt.date(2026, 12, 1)
FACTS = {"name": "Jan de Vries", "amount": Decimal("45.20"), "due_date": dt.date(2026, 12, 15),
         "callback_number": "+31202101234", "plan_terms": 3, "today": TODAY, "currency": "EUR",
         "next_year": dt.date(2027, 1, 5)}


@pytest.mark.parametrize(("lang", "expected"), [
    ("nl", "Jan de Vries, u moet vijfenveertig euro twintig betalen voor vijftien december, in drie delen."),
    ("en", "Jan de Vries, u moet forty-five euros and twenty cents betalen voor the fifteenth of December, "
           "in three delen."),
])
def test_amounts_dates_and_numbers_are_spoken_in_the_calls_language(lang: str, expected: str) -> None:
    text = "{name}, u moet {amount} betalen voor {due_date}, in {plan_terms} delen."
    assert render(text, FACTS, lang) == expected


def test_a_phone_number_is_said_digit_by_digit_in_its_national_groups() -> None:
    said = render("Bel {callback_number}.", FACTS, "nl")
    assert said == "Bel nul twee nul, twee één nul, één twee drie vier."
    assert render("Call {callback_number}.", FACTS, "en").startswith("Call zero two zero, two one zero")


def test_a_date_in_another_year_says_the_year() -> None:
    assert render("{next_year}", FACTS, "nl") == "vijf januari tweeduizend zevenentwintig"


def test_an_absent_fact_is_said_as_nothing_and_braces_can_be_doubled() -> None:
    assert render("Factuur {invoice} {{ok}}", FACTS, "nl") == "Factuur {ok}"


@pytest.mark.parametrize(("template", "message"), [
    ("{amount:.2f}", "must be a plain fact name"),
    ("{amount!r}", "must be a plain fact name"),
    ("{", "cannot read the template"),
    ("{bedrag}", "unknown placeholder {bedrag}"),
])
def test_bad_templates_are_refused(template: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message.replace("{", r"\{").replace("}", r"\}")):
        check_template(template, {"amount"})


def test_placeholders_in_order() -> None:
    assert placeholders("{a} en {b.c} en {a}") == ["a", "b.c", "a"]


@pytest.mark.parametrize(("text", "facts", "expected"), [
    ("amount > 500", {"amount": Decimal("500.01")}, True),
    ("amount > 500", {"amount": Decimal("500")}, False),
    ("risk >= 0.7", {"risk": 0.7}, True),                       # floats compare exactly as written
    ("risk >= 0.7", {"risk": None}, False),                     # an unknown risk is no high risk
    ("not heard", {"heard": False}, True),
    ("segment == 'vip' and amount < params.limit", {"segment": "vip", "amount": Decimal("10"),
                                                    "params.limit": Decimal("50")}, True),
    ("language != 'nl'", {"language": "en"}, True),
    ("attempt >= 3", {"attempt": 2}, False),
])
def test_conditions(text: str, facts: dict[str, object], expected: bool) -> None:
    assert parse_condition(text).evaluate(facts) is expected


@pytest.mark.parametrize("text", ["", "amount >> 3", "not amount > 3", "amount > 3x", "amount > "])
def test_bad_conditions_are_refused(text: str) -> None:
    with pytest.raises(ConditionError):
        parse_condition(text)


def test_unknown_names_in_conditions_are_refused() -> None:
    with pytest.raises(ConditionError, match="unknown name 'amout'"):
        parse_condition("amout > 3", {"amount"})


def test_the_prompts_that_are_the_same_on_every_call_can_be_rendered_beforehand() -> None:
    from ivr_flows.catalogue import fixed_prompts
    from ivr_flows.loader import shipped_flow

    prompts = fixed_prompts(shipped_flow("payment_reminder"), {"company": "Incasso Zuid"})
    texts = {(p.language, p.text) for p in prompts}
    assert any(lang == "nl" and t.startswith("Wat wilt u doen?") for lang, t in texts)
    assert any(lang == "en" and t.startswith("What would you like to do?") for lang, t in texts)
    assert any("veertien dagen" in t for _, t in texts)                # {params.max_promise_days}
    assert not any("{" in t or "Jan" in t for _, t in texts)
    assert all("Spreek ik met" not in t for _, t in texts)            # personal: rendered per call
    assert len(texts) == len(prompts)
