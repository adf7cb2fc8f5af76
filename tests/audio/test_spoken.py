"""Numbers, money, dates, times and digit strings in words, as a listener expects to hear them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from audio.spoken import amount_words, date_words, digits_words, number_words, ordinal_words, time_words

NUMBERS = [
    # n, Dutch, English
    (0, "nul", "zero"),
    (1, "één", "one"),
    (2, "twee", "two"),
    (7, "zeven", "seven"),
    (10, "tien", "ten"),
    (11, "elf", "eleven"),
    (12, "twaalf", "twelve"),
    (13, "dertien", "thirteen"),
    (14, "veertien", "fourteen"),
    (18, "achttien", "eighteen"),
    (19, "negentien", "nineteen"),
    (20, "twintig", "twenty"),
    (21, "eenentwintig", "twenty-one"),
    (22, "tweeëntwintig", "twenty-two"),
    (23, "drieëntwintig", "twenty-three"),
    (30, "dertig", "thirty"),
    (40, "veertig", "forty"),
    (45, "vijfenveertig", "forty-five"),
    (58, "achtenvijftig", "fifty-eight"),
    (80, "tachtig", "eighty"),
    (88, "achtentachtig", "eighty-eight"),
    (99, "negenennegentig", "ninety-nine"),
    (100, "honderd", "one hundred"),
    (101, "honderdeen", "one hundred and one"),
    (110, "honderdtien", "one hundred and ten"),
    (121, "honderdeenentwintig", "one hundred and twenty-one"),
    (200, "tweehonderd", "two hundred"),
    (342, "driehonderdtweeënveertig", "three hundred and forty-two"),
    (999, "negenhonderdnegenennegentig", "nine hundred and ninety-nine"),
    (1000, "duizend", "one thousand"),
    (1001, "duizend één", "one thousand and one"),
    (1050, "duizend vijftig", "one thousand and fifty"),
    (1100, "elfhonderd", "one thousand one hundred"),
    (1250, "twaalfhonderdvijftig", "one thousand two hundred and fifty"),
    (1999, "negentienhonderdnegenennegentig", "one thousand nine hundred and ninety-nine"),
    (2000, "tweeduizend", "two thousand"),
    (2026, "tweeduizend zesentwintig", "two thousand and twenty-six"),
    (2100, "tweeduizend honderd", "two thousand one hundred"),
    (10000, "tienduizend", "ten thousand"),
    (45000, "vijfenveertigduizend", "forty-five thousand"),
    (100000, "honderdduizend", "one hundred thousand"),
    (123456, "honderddrieëntwintigduizend vierhonderdzesenvijftig",
     "one hundred and twenty-three thousand four hundred and fifty-six"),
    (1000000, "één miljoen", "one million"),
    (1000001, "één miljoen één", "one million and one"),
    (2500000, "twee miljoen vijfhonderdduizend", "two million five hundred thousand"),
    (1000000000, "één miljard", "one billion"),
    (10**12, "één biljoen", "one trillion"),
]


@pytest.mark.parametrize(("n", "dutch", "english"), NUMBERS)
def test_number_words(n: int, dutch: str, english: str) -> None:
    assert number_words(n, "nl") == dutch
    assert number_words(n, "en") == english


@pytest.mark.parametrize("bad", [-1, 10**12 + 1, 1.5, "12", True])
def test_number_words_rejects_what_cannot_be_said(bad: object) -> None:
    with pytest.raises(ValueError, match="number"):
        number_words(bad, "nl")  # type: ignore[arg-type]


ORDINALS = [
    (1, "eerste", "first"),
    (2, "tweede", "second"),
    (3, "derde", "third"),
    (4, "vierde", "fourth"),
    (5, "vijfde", "fifth"),
    (8, "achtste", "eighth"),
    (9, "negende", "ninth"),
    (10, "tiende", "tenth"),
    (11, "elfde", "eleventh"),
    (12, "twaalfde", "twelfth"),
    (13, "dertiende", "thirteenth"),
    (18, "achttiende", "eighteenth"),
    (19, "negentiende", "nineteenth"),
    (20, "twintigste", "twentieth"),
    (21, "eenentwintigste", "twenty-first"),
    (22, "tweeëntwintigste", "twenty-second"),
    (23, "drieëntwintigste", "twenty-third"),
    (30, "dertigste", "thirtieth"),
    (31, "eenendertigste", "thirty-first"),
    (100, "honderdste", "one hundredth"),
    (101, "honderdeerste", "one hundred and first"),
    (103, "honderdderde", "one hundred and third"),
    (108, "honderdachtste", "one hundred and eighth"),
    (1000, "duizendste", "one thousandth"),
]


@pytest.mark.parametrize(("n", "dutch", "english"), ORDINALS)
def test_ordinal_words(n: int, dutch: str, english: str) -> None:
    assert ordinal_words(n, "nl") == dutch
    assert ordinal_words(n, "en") == english


AMOUNTS = [
    # amount, currency, Dutch, English
    ("45.20", "EUR", "vijfenveertig euro twintig", "forty-five euros and twenty cents"),
    ("1.00", "EUR", "één euro", "one euro"),
    ("1", "EUR", "één euro", "one euro"),
    ("2.00", "EUR", "twee euro", "two euros"),
    ("0.50", "EUR", "vijftig cent", "fifty cents"),
    ("0.01", "EUR", "één cent", "one cent"),
    ("0.00", "EUR", "nul euro", "zero euros"),
    ("1250.00", "EUR", "twaalfhonderdvijftig euro", "one thousand two hundred and fifty euros"),
    ("1.05", "EUR", "één euro vijf", "one euro and five cents"),
    ("21.01", "EUR", "eenentwintig euro één", "twenty-one euros and one cent"),
    ("45.200", "EUR", "vijfenveertig euro twintig", "forty-five euros and twenty cents"),
    ("2026.99", "EUR", "tweeduizend zesentwintig euro negenennegentig",
     "two thousand and twenty-six euros and ninety-nine cents"),
    ("45.20", "USD", "vijfenveertig dollar twintig", "forty-five dollars and twenty cents"),
    ("1.01", "USD", "één dollar één", "one dollar and one cent"),
    ("5.20", "GBP", "vijf pond twintig", "five pounds and twenty pence"),
    ("0.01", "GBP", "één penny", "one penny"),
    ("1.00", "gbp", "één pond", "one pound"),
]


@pytest.mark.parametrize(("amount", "currency", "dutch", "english"), AMOUNTS)
def test_amount_words(amount: str, currency: str, dutch: str, english: str) -> None:
    assert amount_words(Decimal(amount), currency, "nl") == dutch
    assert amount_words(Decimal(amount), currency, "en") == english


def test_amount_defaults_to_euros_in_dutch() -> None:
    assert amount_words(Decimal("45.20")) == "vijfenveertig euro twintig"


@pytest.mark.parametrize(("amount", "message"), [
    (Decimal("45.205"), "more than two decimals"),
    (Decimal("-1.00"), "negative"),
    (Decimal("NaN"), "finite"),
    (Decimal("Infinity"), "finite"),
    (45.2, "float"),
    (Decimal("1e13"), "too large"),
])
def test_amount_words_refuses_amounts_it_would_misstate(amount: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        amount_words(amount, "EUR", "nl")  # type: ignore[arg-type]


def test_unknown_currency_is_named() -> None:
    with pytest.raises(ValueError, match="'XYZ'"):
        amount_words(Decimal("1.00"), "XYZ", "en")


TODAY = dt.date(2026, 12, 1)
DATES = [
    # date, weekday, year, Dutch, English
    (dt.date(2026, 12, 15), False, None, "vijftien december", "the fifteenth of December"),
    (dt.date(2026, 12, 15), True, None, "dinsdag vijftien december", "Tuesday the fifteenth of December"),
    (dt.date(2027, 1, 1), False, None, "één januari tweeduizend zevenentwintig",
     "the first of January twenty twenty-seven"),
    (dt.date(2026, 3, 3), False, True, "drie maart tweeduizend zesentwintig",
     "the third of March twenty twenty-six"),
    (dt.date(2027, 5, 22), False, False, "tweeëntwintig mei", "the twenty-second of May"),
    (dt.date(2026, 8, 31), True, False, "maandag eenendertig augustus", "Monday the thirty-first of August"),
    (dt.date(1999, 7, 2), False, None, "twee juli negentienhonderdnegenennegentig",
     "the second of July nineteen ninety-nine"),
    (dt.date(2005, 10, 12), False, None, "twaalf oktober tweeduizend vijf",
     "the twelfth of October two thousand and five"),
    (dt.date(1905, 6, 20), False, None, "twintig juni negentienhonderdvijf",
     "the twentieth of June nineteen oh five"),
    (dt.date(2000, 2, 29), False, None, "negenentwintig februari tweeduizend",
     "the twenty-ninth of February two thousand"),
]


@pytest.mark.parametrize(("day", "weekday", "year", "dutch", "english"), DATES)
def test_date_words(day: dt.date, weekday: bool, year: bool | None, dutch: str, english: str) -> None:
    assert date_words(day, "nl", weekday=weekday, year=year, today=TODAY) == dutch
    assert date_words(day, "en", weekday=weekday, year=year, today=TODAY) == english


def test_date_words_accepts_a_datetime_as_its_date() -> None:
    assert date_words(dt.datetime(2026, 12, 15, 9, 30), "nl", today=TODAY) == "vijftien december"


TIMES = [
    ("00:00", "nul uur", "midnight"),
    ("00:15", "nul uur vijftien", "twelve fifteen at night"),
    ("07:00", "zeven uur", "seven o'clock in the morning"),
    ("09:05", "negen uur vijf", "nine oh five in the morning"),
    ("12:00", "twaalf uur", "twelve noon"),
    ("12:30", "twaalf uur dertig", "twelve thirty in the afternoon"),
    ("14:30", "veertien uur dertig", "two thirty in the afternoon"),
    ("15:40", "vijftien uur veertig", "three forty in the afternoon"),
    ("17:45:59", "zeventien uur vijfenveertig", "five forty-five in the afternoon"),
    ("20:15", "twintig uur vijftien", "eight fifteen in the evening"),
    ("23:59", "drieëntwintig uur negenenvijftig", "eleven fifty-nine in the evening"),
]


@pytest.mark.parametrize(("clock", "dutch", "english"), TIMES)
def test_time_words(clock: str, dutch: str, english: str) -> None:
    t = dt.time.fromisoformat(clock)
    assert time_words(t, "nl") == dutch
    assert time_words(t, "en") == english


DIGITS = [
    ("06 12345678", None, "nl", "nul zes, één twee drie, vier vijf zes, zeven acht"),
    ("06 12345678", 2, "nl", "nul zes, één twee, drie vier, vijf zes, zeven acht"),
    ("06-1234 5678", None, "nl", "nul zes, één twee drie vier, vijf zes zeven acht"),
    ("+31612345678", None, "nl", "plus drie één zes, één twee drie, vier vijf zes, zeven acht"),
    ("+31 6 12345678", None, "en", "plus three one, six, one two three, four five six, seven eight"),
    ("1234567", None, "en", "one two three, four five six seven"),
    ("2026-0042", None, "en", "two zero two six, zero zero four two"),
    ("INV-2026-0042", None, "nl", "I N V, twee nul twee zes, nul nul vier twee"),
    ("ab12", None, "en", "A B one two"),
    ("0", None, "nl", "nul"),
]


@pytest.mark.parametrize(("text", "group", "language", "spoken"), DIGITS)
def test_digits_words(text: str, group: int | None, language: str, spoken: str) -> None:
    assert digits_words(text, language, group=group) == spoken


@pytest.mark.parametrize(("text", "message"), [
    ("06*123", r"'\*'"),
    ("", "no digits"),
    (" - ", "no digits"),
    ("12\n34", r"'\\n'"),
])
def test_digits_words_names_what_it_cannot_say(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        digits_words(text, "nl")


def test_language_variants_are_accepted() -> None:
    assert number_words(21, "nl-NL") == "eenentwintig"
    assert number_words(21, "nl_BE") == "eenentwintig"
    assert number_words(21, "EN-gb") == "twenty-one"


@pytest.mark.parametrize("call", [
    lambda: number_words(1, "de"),
    lambda: ordinal_words(1, "de"),
    lambda: amount_words(Decimal("1.00"), "EUR", "de"),
    lambda: date_words(dt.date(2026, 1, 1), "de"),
    lambda: time_words(dt.time(9, 0), "de"),
    lambda: digits_words("12", "de"),
])
def test_unknown_language_is_named(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="unsupported language 'de'"):
        call()
