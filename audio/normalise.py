"""Raw prompt text -> text a speech engine says correctly, in Dutch or English.

Templates and debtor data carry figures as they are written ("€ 45,20", "15-12-2026",
"14:30", "06 12345678", "INV-2026-0042", "12,5%"); engines read those badly (espeak-ng
Dutch says "euroteken ... komma twee nul" and "twaalf miljoen" for a phone number).
:func:`normalise` rewrites each figure in words with :mod:`audio.spoken` and leaves
the rest of the text alone. Pure: no I/O, no clock.

How figures are recognised, in this order at each position:

* money: a currency sign or code before or after a number (``€ 45,20``, ``€45.20``,
  ``EUR 45,20``, ``45,20 euro``, ``€ 1.250,-``, ``$5``, ``£ 5.20``, a credit ``€ -5,00``).
  The last ``.`` or ``,`` is the decimal mark when one or two digits follow it, otherwise
  a thousands separator, so Dutch and English writing both work;
* IBANs (``NL91 ABNA 0417 1643 00``, ``NL91ABNA0417164300``) in groups of four, and Dutch
  postcodes (``1234 AB``), character by character;
* dates: ``15-12-2026``, ``15/12/2026``, ``15.12.2026`` (day first, as in the
  Netherlands and the UK), ``2026-12-15`` (ISO), ``15 december [2026]``,
  ``15 dec``, ``15th December``, ``December 15, 2026``; a date that does not exist
  is left as it was written (and then read as figures);
* times: ``14:30``, ``9:05``, ``14.30 uur``, ``2:30 pm``;
* phone numbers: international (``+31 6 12345678``, ``0031...``) and Dutch national
  (``06-12345678``, ``020 123 4567``, ``0800-1234``) that ``phonenumbers`` accepts as
  valid, digit by digit, the subscriber part in pairs;
* references: codes with letters and digits (``INV-2026-0042``, ``AB12345``) and
  digit runs of five or more, digit by digit in groups;
* percentages, ordinals (``1e``, ``2de``, ``21st``), decimals (``3,5``), grouped
  thousands (``45.000``) and plain numbers (``45``) in words; a number with a leading
  zero (``0417``) is a code and is read digit by digit;
* a few signs and abbreviations (``&``, ``t/m``, ``e.g.``).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import NamedTuple

import phonenumbers

from audio import spoken

_NL_MONTHS = {"januari": 1, "jan": 1, "februari": 2, "feb": 2, "maart": 3, "mrt": 3, "mar": 3, "april": 4,
              "apr": 4, "mei": 5, "juni": 6, "jun": 6, "juli": 7, "jul": 7, "augustus": 8, "aug": 8,
              "september": 9, "sep": 9, "sept": 9, "oktober": 10, "okt": 10, "november": 11, "nov": 11,
              "december": 12, "dec": 12}
_EN_MONTHS = {"january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
              "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9,
              "sep": 9, "sept": 9, "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12,
              "dec": 12}

_CURRENCY_SIGNS = {"€": "EUR", "$": "USD", "£": "GBP"}
_CURRENCY_WORDS = {"eur": "EUR", "euro": "EUR", "euros": "EUR", "usd": "USD", "dollar": "USD",
                   "dollars": "USD", "gbp": "GBP", "pond": "GBP", "pound": "GBP", "pounds": "GBP",
                   "chf": "CHF"}

_WORDS = {
    "nl": {"to": "tot", "minus": "min", "percent": "procent", "decimal": "komma",
           "&": "en", "+": "plus", "=": "is",
           "abbreviations": {"t/m": "tot en met", "o.a.": "onder andere", "bijv.": "bijvoorbeeld",
                             "ca.": "circa", "nr.": "nummer", "incl.": "inclusief", "excl.": "exclusief",
                             "z.s.m.": "zo snel mogelijk", "i.v.m.": "in verband met"}},
    "en": {"to": "to", "minus": "minus", "percent": "percent", "decimal": "point",
           "&": "and", "+": "plus", "=": "equals",
           "abbreviations": {"e.g.": "for example", "i.e.": "that is", "approx.": "approximately",
                             "incl.": "including", "excl.": "excluding", "no.": "number",
                             "asap": "as soon as possible"}},
}

_NUM = r"\d{1,3}(?:[.,\u00a0\u202f]\d{3})+(?:[.,](?:\d{1,2}|--?))?|\d+(?:[.,](?:\d{1,2}|--?))?"
_CUR_BEFORE = r"€|\$|£|\b(?:EUR|USD|GBP|CHF)(?![A-Za-z])"
_CUR_AFTER = r"€|\b(?:EUR|USD|GBP|CHF|euros?|dollars?|pounds?|pond)\b"
_MONTHS_ALT = "|".join(sorted(set(_NL_MONTHS) | set(_EN_MONTHS), key=len, reverse=True))

_PATTERN = re.compile(
    rf"""
    (?P<money_before>(?P<neg1>(?<![\w.,])[-−]\s?)?(?P<cur1>{_CUR_BEFORE})\s?(?P<neg2>[-−]\s?)?
        (?P<num1>{_NUM})(?!\d))
  | (?P<money_after>(?P<neg3>(?<![\w.,])[-−])?(?<![\w.,])(?P<num2>{_NUM})\s?(?P<cur2>{_CUR_AFTER}))
  | (?P<iban>(?-i:(?<!\w)[A-Z]{{2}}\d{{2}}(?:\ ?[A-Z0-9]{{4}}){{2,7}}(?:\ ?[A-Z0-9]{{1,3}})?(?!\w)))
  | (?P<postcode>(?-i:(?<![\w.,])[1-9]\d{{3}}\ ?[A-Z]{{2}}(?!\w)))
  | (?P<iso_date>(?<![\w-])(?P<iy>\d{{4}})-(?P<im>\d{{1,2}})-(?P<id>\d{{1,2}})(?![\w-]))
  | (?P<dmy_date>(?<![\w./-])(?P<dd>\d{{1,2}})(?P<sep>[-/.])(?P<dm>\d{{1,2}})(?P=sep)(?P<dy>\d{{4}})
        (?![\w/-]))
  | (?P<day_month>(?:\bthe\s+)?(?<![\w.,])(?P<tday>\d{{1,2}})(?:st|nd|rd|th|e|ste|de)?\s+(?:of\s+)?
        (?P<tmonth>{_MONTHS_ALT})\.?(?:,?\s+(?P<tyear>\d{{4}}))?(?![\w-]))
  | (?P<month_day>\b(?P<mmonth>{_MONTHS_ALT})\.?\s+(?P<mday>\d{{1,2}})(?:st|nd|rd|th)?
        (?:,?\s+(?P<myear>\d{{4}}))?(?![\w-]))
  | (?P<clock>(?<![\w.,:])(?P<hh>[01]?\d|2[0-3])
        (?::(?P<mm>[0-5]\d)(?::[0-5]\d)?|\.(?P<mm2>[0-5]\d)(?=\s*uur\b))
        (?P<ampm>\s*[ap]\.?\s?m\b\.?)?(?P<uur>\s*uur\b)?(?![\d:]))
  | (?P<phone>(?<![\w+])(?:\+|00)[1-9][\d \-().]{{6,17}}\d(?!\w)|(?<![\w])\(?0\d[\d \-()]{{6,13}}\d(?!\w))
  | (?P<percent>(?<![\w.,])(?P<pnum>\d+(?:[.,]\d+)?)\s?%)
  | (?P<reference>(?<![\w-])(?=[\w/-]*\d)[A-Za-z\d]+(?:[-/][A-Za-z\d]+)+(?![\w-])
        |(?<![\w-])(?:[A-Za-z]+\d[A-Za-z\d]*|\d+[A-Za-z]{{2,}}\d[A-Za-z\d]*)(?![\w-])
        |(?<![\w.,])\d{{5,}}(?![\w.,]\d))
  | (?P<ordinal>(?<![\w.,])(?P<onum>\d{{1,4}})(?P<osuffix>st|nd|rd|th|e|ste|de)\b)
  | (?P<grouped>(?<![\w.,])\d{{1,3}}(?P<gsep>[.,\u00a0\u202f])\d{{3}}(?:(?P=gsep)\d{{3}})+(?!\d)(?![.,]\d))
  | (?P<decimal>(?<![\w.,])(?P<int>\d+)(?P<dsep>[.,])(?P<frac>\d+)(?!\d)(?![.,]\d))
  | (?P<integer>(?<![\w.,])\d+(?![\w]))
  | (?P<digit_run>\d+)
  | (?P<sign>[&+=%€$£])
    """,
    re.VERBOSE | re.IGNORECASE,
)
_SPACES = re.compile(r"\s+")
_BEFORE_PUNCTUATION = re.compile(r"\s+([.,;:!?])(?=\s|$)")
_ORDINAL_SUFFIXES = {"nl": {"e", "ste", "de"}, "en": {"st", "nd", "rd", "th"}}


class _Context(NamedTuple):
    language: str
    region: str


def normalise(text: str, language: str, *, region: str = "NL") -> str:
    """``text`` with every figure written out in ``language`` words.

    ``region`` is the country whose national phone numbers are recognised (``06 ...``).
    Whitespace runs (newlines from YAML block text) become single spaces.
    """
    lang = spoken._lang(language)
    if not isinstance(text, str):
        raise ValueError(f"text must be a string, not {type(text).__name__}")
    context = _Context(lang, region)
    text = _SPACES.sub(" ", text).strip()
    text = _expand_abbreviations(text, lang)
    result = _PATTERN.sub(lambda match: _say(match, context), text)
    return _BEFORE_PUNCTUATION.sub(r"\1", _SPACES.sub(" ", result)).strip()


def _expand_abbreviations(text: str, lang: str) -> str:
    for short, long in _WORDS[lang]["abbreviations"].items():  # type: ignore[union-attr]
        text = re.sub(rf"(?<!\w){re.escape(short)}(?!\w)", long, text, flags=re.IGNORECASE)
    return text


def _say(match: re.Match[str], ctx: _Context) -> str:
    kind = match.lastgroup
    whole = match.group(0)
    try:
        handler = _HANDLERS[kind or ""]
        spoken_text = handler(match, ctx)
    except (ValueError, KeyError):
        spoken_text = None
    if spoken_text is None:
        return _fallback(whole, ctx)
    return f" {spoken_text} "


def _fallback(whole: str, ctx: _Context) -> str:
    """Something figure-like that was not what it looked like (31-02-2026): read its parts."""
    span = re.fullmatch(r"(\d{1,4})\s?-\s?(\d{1,4})", whole)
    if span:                                          # 9-17: "negen tot zeventien"
        low, high = (spoken.number_words(int(part), ctx.language) for part in span.groups())
        return f" {low} {_WORDS[ctx.language]['to']} {high} "
    parts = re.split(r"(\d+)", whole)
    out = []
    for part in parts:
        if part.isdigit():
            out.append(spoken.number_words(int(part), ctx.language) if len(part) <= 4
                       else spoken.digits_words(part, ctx.language))
        elif part.strip(" -/.:"):
            out.append(part)
    return " " + " ".join(out) + " "


def _parse_amount(raw: str) -> Decimal:
    raw = raw.replace("\u00a0", ".").replace("\u202f", ".")
    if raw.endswith(("-", "--")):
        raw = raw.rstrip("-")[:-1]                  # "45,-" / "45,--": whole units
    positions = [i for i, ch in enumerate(raw) if ch in ".,"]
    if not positions:
        return Decimal(raw)
    last = positions[-1]
    decimals = raw[last + 1:]
    if len(decimals) in (1, 2):
        whole = re.sub(r"[.,]", "", raw[:last])
        return Decimal(f"{whole}.{decimals.ljust(2, '0')}")
    return Decimal(re.sub(r"[.,]", "", raw))


def _money(match: re.Match[str], ctx: _Context) -> str:
    currency = match.group("cur1") or match.group("cur2")
    number = match.group("num1") or match.group("num2")
    code = _CURRENCY_SIGNS.get(currency) or _CURRENCY_WORDS[currency.lower()]
    words = spoken.amount_words(_parse_amount(number), code, ctx.language)
    negative = match.group("neg1") or match.group("neg2") or match.group("neg3")
    return f"{_WORDS[ctx.language]['minus']} {words}" if negative else words   # a credit: "min ..."


def _iban(match: re.Match[str], ctx: _Context) -> str:
    """An IBAN (or anything shaped like one) in its groups of four, letters spelled.

    The check digits are not verified: a mistyped IBAN is still read out as written,
    never as numbers ("vierhonderdzeventien") that nobody could copy down.
    """
    code = match.group(0).replace(" ", "")
    return spoken.digits_words(" ".join(code[i:i + 4] for i in range(0, len(code), 4)), ctx.language)


def _postcode(match: re.Match[str], ctx: _Context) -> str:
    code = match.group(0).replace(" ", "")
    return spoken.digits_words(f"{code[:4]} {code[4:]}", ctx.language)


def _date(d: dt.date, ctx: _Context, with_year: bool) -> str:
    return spoken.date_words(d, ctx.language, year=with_year, today=d)


def _iso_date(match: re.Match[str], ctx: _Context) -> str:
    d = dt.date(int(match.group("iy")), int(match.group("im")), int(match.group("id")))
    return _date(d, ctx, True)


def _dmy_date(match: re.Match[str], ctx: _Context) -> str:
    d = dt.date(int(match.group("dy")), int(match.group("dm")), int(match.group("dd")))
    return _date(d, ctx, True)


def _month_number(name: str, ctx: _Context) -> int:
    table = _NL_MONTHS if ctx.language == "nl" else _EN_MONTHS
    return table[name.lower()]


def _day_month(match: re.Match[str], ctx: _Context) -> str | None:
    return _text_date(match.group("tday"), match.group("tmonth"), match.group("tyear"), ctx)


def _month_day(match: re.Match[str], ctx: _Context) -> str | None:
    return _text_date(match.group("mday"), match.group("mmonth"), match.group("myear"), ctx)


def _text_date(day: str, month: str, year: str | None, ctx: _Context) -> str | None:
    try:
        number = _month_number(month, ctx)
    except KeyError:
        return None                                  # "15 mei" in English text: not a month there
    # Without a year, a leap year makes 29 February valid; the year is not said.
    d = dt.date(int(year) if year else 2000, number, int(day))
    return _date(d, ctx, year is not None)


def _clock(match: re.Match[str], ctx: _Context) -> str:
    hour = int(match.group("hh"))
    minute = int(match.group("mm") or match.group("mm2"))
    ampm = (match.group("ampm") or "").strip().lower().replace(".", "").replace(" ", "")
    if ampm:
        if not 1 <= hour <= 12:
            raise ValueError(f"{hour} is not an hour on a 12-hour clock")
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    return spoken.time_words(dt.time(hour, minute), ctx.language)


def _phone(match: re.Match[str], ctx: _Context) -> str | None:
    raw = match.group(0)
    try:
        number = phonenumbers.parse(raw.replace("(", "").replace(")", ""), ctx.region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    international = raw.lstrip("(").startswith(("+", "00"))
    style = phonenumbers.PhoneNumberFormat.INTERNATIONAL if international \
        else phonenumbers.PhoneNumberFormat.NATIONAL
    formatted = phonenumbers.format_number(number, style)
    groups = [group for group in re.split(r"[\s\-()]+", formatted.lstrip("+")) if group]
    said = ", ".join(spoken.digits_words(_pairs(group), ctx.language) for group in groups)
    return f"{_WORDS[ctx.language]['+']} {said}" if formatted.startswith("+") else said


def _pairs(group: str) -> str:
    """A subscriber number longer than four digits in pairs (12 34 56 78), as it is read out."""
    if len(group) <= 4:
        return group
    head = group[: len(group) % 2] if len(group) % 2 else ""
    rest = group[len(head):]
    pairs = [rest[i:i + 2] for i in range(0, len(rest), 2)]
    if head:
        pairs[0] = head + pairs[0]
    return " ".join(pairs)


def _percent(match: re.Match[str], ctx: _Context) -> str:
    return f"{_plain_number(match.group('pnum'), ctx)} {_WORDS[ctx.language]['percent']}"


def _plain_number(raw: str, ctx: _Context) -> str:
    if re.fullmatch(r"\d+[.,]\d+", raw):
        whole, frac = re.split(r"[.,]", raw)
        return _decimal_words(whole, frac, ctx)
    return spoken.number_words(int(raw), ctx.language)


def _decimal_words(whole: str, frac: str, ctx: _Context) -> str:
    head = spoken.number_words(int(whole), ctx.language)
    word = _WORDS[ctx.language]["decimal"]
    if ctx.language == "nl" and len(frac) <= 2 and not frac.startswith("0"):
        tail = spoken.number_words(int(frac), "nl")     # drie komma vijfenzeventig
    else:
        tail = " ".join(spoken.digits_words(ch, ctx.language) for ch in frac)   # three point seven five
    return f"{head} {word} {tail}"


def _reference(match: re.Match[str], ctx: _Context) -> str | None:
    code = match.group(0)
    digits = sum(ch.isdigit() for ch in code)
    if digits < 5 and not any(ch.isalpha() for ch in code):
        return None                                   # 9-17, 1/2: numbers, not a reference
    # Letters and digits in separate groups: "AB12345" -> "A B, één twee drie, vier vijf".
    return spoken.digits_words(re.sub(r"(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])", " ", code), ctx.language)


def _ordinal(match: re.Match[str], ctx: _Context) -> str | None:
    if match.group("osuffix").lower() not in _ORDINAL_SUFFIXES[ctx.language]:
        return None
    return spoken.ordinal_words(int(match.group("onum")), ctx.language)


def _decimal(match: re.Match[str], ctx: _Context) -> str | None:
    separator = match.group("dsep")
    whole, frac = match.group("int"), match.group("frac")
    thousands = "." if ctx.language == "nl" else ","
    if separator == thousands and len(frac) == 3:
        return spoken.number_words(int(whole + frac), ctx.language)     # 45.000 in Dutch text
    return _decimal_words(whole, frac, ctx)


def _grouped(match: re.Match[str], ctx: _Context) -> str:
    return spoken.number_words(int(re.sub(r"\D", "", match.group(0))), ctx.language)


def _integer(match: re.Match[str], ctx: _Context) -> str:
    digits = match.group(0)
    if (len(digits) > 1 and digits.startswith("0")) or len(digits) > 4:
        return spoken.digits_words(digits, ctx.language)        # 0417: a code, not a number
    return spoken.number_words(int(digits), ctx.language)


def _sign(match: re.Match[str], ctx: _Context) -> str:
    sign = match.group(0)
    if sign in _CURRENCY_SIGNS:
        names = {"€": "euro", "$": "dollar", "£": "pound" if ctx.language == "en" else "pond"}
        return names[sign]
    if sign == "%":
        return str(_WORDS[ctx.language]["percent"])
    return str(_WORDS[ctx.language][sign])


_HANDLERS = {
    "money_before": _money, "money_after": _money, "iban": _iban, "postcode": _postcode,
    "iso_date": _iso_date, "dmy_date": _dmy_date,
    "day_month": _day_month, "month_day": _month_day, "clock": _clock, "phone": _phone,
    "percent": _percent, "reference": _reference, "ordinal": _ordinal, "decimal": _decimal,
    "grouped": _grouped, "integer": _integer, "digit_run": _integer, "sign": _sign,
}
