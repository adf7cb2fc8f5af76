"""Prompt templates: ``"Spreek ik met {name}? U moet nog {amount} betalen."`` in the call's language.

A placeholder names a fact (see :mod:`ivr_flows.facts`); how it is spoken
follows from the value's type, so a template writer never formats numbers:
an amount (:class:`~decimal.Decimal`) the way people say it ("vijfenveertig
euro twintig", "forty-five euros and twenty cents"), a date as "vijftien
december", a whole number in words, a phone number digit by digit. The words
come from :mod:`audio.spoken` (nl and en); this module only chooses which
rendering a value needs.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import phonenumbers

from audio import spoken


class TemplateError(ValueError):
    """A template that cannot be parsed or names an unknown fact."""


def placeholders(template: str) -> list[str]:
    """The fact names a template uses, in order (``{{`` and ``}}`` are literal braces)."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise TemplateError(f"cannot read the template: {exc} (write {{{{ for a literal brace)") from None
    names = []
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if not name or spec or conversion:
            raise TemplateError(f"placeholder {{{name}{'!' + conversion if conversion else ''}"
                                f"{':' + spec if spec else ''}}} must be a plain fact name like {{amount}}")
        names.append(name)
    return names


def check_template(template: str, known: set[str]) -> None:
    for name in placeholders(template):
        if name not in known:
            raise TemplateError(f"unknown placeholder {{{name}}}; known: {', '.join(sorted(known))}")


def speak(value: Any, language: str, currency: str = "EUR", today: dt.date | None = None) -> str:
    """One fact as it is said aloud in ``language``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return {"nl": "ja", "en": "yes"}.get(language, "yes") if value else \
            {"nl": "nee", "en": "no"}.get(language, "no")
    if isinstance(value, Decimal):
        return spoken.amount_words(value, currency=currency, language=language)
    if isinstance(value, dt.date):
        return spoken.date_words(value, language, today=today)
    if isinstance(value, int):
        return spoken.number_words(value, language)
    if isinstance(value, float):
        return spoken.number_words(round(value), language)
    text = str(value)
    if text.startswith("+") and text[1:].isdigit():
        return spoken.digits_words(_national(text), language)
    return text


def _national(e164: str) -> str:
    """+31202101234 -> 020 210 1234: callers dial the national form, in its usual groups."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164.lstrip("+")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)


def render(template: str, facts: Mapping[str, Any], language: str) -> str:
    """The template with every placeholder spoken; a fact that is absent is said as nothing."""
    currency = str(facts.get("currency") or "EUR")
    today = facts.get("today") if isinstance(facts.get("today"), dt.date) else None
    out = []
    for literal, name, _, _ in string.Formatter().parse(template):
        out.append(literal)
        if name is not None:
            out.append(speak(facts.get(name), language, currency, today))
    return " ".join("".join(out).split())
