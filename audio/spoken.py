"""Numbers, money, dates, times and digit strings written out the way people say them (nl, en).

Speech engines read raw figures badly (espeak-ng says "€ 45,20" as "euroteken ... komma
twee nul" and "06 12345678" as "... twaalf miljoen ..."), so IVR prompts are written in
words before synthesis. These are pure functions: no clock (pass ``today``), no I/O.

Choices, so that they are made once and on purpose:

* Dutch follows the Taalunie writing rules: numbers up to a thousand are one word,
  a space follows "duizend", "miljoen" and "miljard" (``tweeduizend zesentwintig``);
  1100-1999 are said in hundreds (``twaalfhonderdvijftig``) as Dutch speakers say
  amounts and years. A lone 1 is written ``één`` so that engines stress it instead
  of reading the article "een".
* English is British: "and" before the last part below a hundred (``one hundred and
  five``), hyphenated tens (``forty-five``), 12-hour times with the part of the day.
* Dutch times use the 24-hour form of service announcements (``veertien uur dertig``)
  rather than ``half drie``: "half" means "half before" (half drie = 2:30), which
  B1-level listeners and non-native speakers often get wrong, and it does not tell
  afternoon from night. A collection reminder must not be misheard on a deadline.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

LANGUAGES = ("nl", "en")
MAX_NUMBER = 10**12

# -- language ---------------------------------------------------------------------------------


def _lang(language: str) -> str:
    """``nl``, ``nl-NL``, ``nl_BE``, ``EN`` -> the primary language; anything else is an error."""
    if not isinstance(language, str):
        raise ValueError(f"language must be a text such as 'nl' or 'en', not {language!r}")
    primary = language.strip().replace("_", "-").split("-")[0].lower()
    if primary not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}: choose one of {', '.join(LANGUAGES)}")
    return primary


def _check_whole(n: int, what: str = "number") -> None:
    if isinstance(n, bool) or not isinstance(n, int):
        raise ValueError(f"{what} must be a whole number, not {n!r}")
    if n < 0:
        raise ValueError(f"{what} must not be negative, not {n}")
    if n > MAX_NUMBER:
        raise ValueError(f"{what} {n} is larger than {MAX_NUMBER} (one trillion), which is not spoken here")


# -- Dutch --------------------------------------------------------------------------------------

_NL_UNITS = ("nul", "een", "twee", "drie", "vier", "vijf", "zes", "zeven", "acht", "negen", "tien",
             "elf", "twaalf", "dertien", "veertien", "vijftien", "zestien", "zeventien", "achttien",
             "negentien")
_NL_TENS = ("", "", "twintig", "dertig", "veertig", "vijftig", "zestig", "zeventig", "tachtig", "negentig")
_NL_BIG = ((10**12, "biljoen"), (10**9, "miljard"), (10**6, "miljoen"))


def _nl_below_100(n: int) -> str:
    if n < 20:
        return _NL_UNITS[n]
    tens, unit = divmod(n, 10)
    if unit == 0:
        return _NL_TENS[tens]
    # "twee" + "en" needs a trema so it is not read as "tween": tweeëntwintig, drieëntwintig.
    joint = "ën" if _NL_UNITS[unit].endswith("e") else "en"
    return f"{_NL_UNITS[unit]}{joint}{_NL_TENS[tens]}"


def _nl_below_1000(n: int) -> str:
    hundreds, rest = divmod(n, 100)
    if hundreds == 0:
        return _nl_below_100(rest)
    head = "honderd" if hundreds == 1 else f"{_NL_UNITS[hundreds]}honderd"
    return head + (_nl_below_100(rest) if rest else "")


def _nl_below_million(n: int) -> str:
    if 1100 <= n < 2000 and n % 1000 >= 100:
        # elfhonderd, twaalfhonderdvijftig, negentienhonderdnegenennegentig
        hundreds, rest = divmod(n, 100)
        return f"{_nl_below_100(hundreds)}honderd" + (_nl_below_100(rest) if rest else "")
    thousands, rest = divmod(n, 1000)
    if thousands == 0:
        return _nl_below_1000(rest)
    head = "duizend" if thousands == 1 else f"{_nl_below_1000(thousands)}duizend"
    return head if rest == 0 else f"{head} {_nl_tail(rest)}"


def _nl_tail(n: int) -> str:
    """A part after a space: a lone 1 is stressed (``duizend één``)."""
    return "één" if n == 1 else _nl_below_million(n)


def _nl_number(n: int) -> str:
    if n == 1:
        return "één"
    parts: list[str] = []
    for size, name in _NL_BIG:
        count, n = divmod(n, size)
        if count:
            parts.append(f"{'één' if count == 1 else _nl_number(count)} {name}")
    if n or not parts:
        parts.append(_nl_tail(n) if parts else _nl_below_million(n))
    return " ".join(parts)


def _nl_ordinal(n: int) -> str:
    words = _nl_number(n)
    if words.endswith("één"):
        return words[: -len("één")] + "eerste"           # één -> eerste, duizend één -> duizend eerste
    if words.endswith("een") and n % 100 == 1:
        return words[: -len("een")] + "eerste"           # honderdeen -> honderdeerste
    if words.endswith("drie"):
        return words[: -len("drie")] + "derde"
    for ending in ("acht", "tig", "honderd", "duizend", "miljoen", "miljard", "biljoen"):
        if words.endswith(ending):
            return words + "ste"
    return words + "de"                                   # tweede, vierde, tiende, elfde, nulde


# -- English ------------------------------------------------------------------------------------

_EN_UNITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
             "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
             "nineteen")
_EN_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_EN_BIG = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (10**3, "thousand"))


def _en_below_100(n: int) -> str:
    if n < 20:
        return _EN_UNITS[n]
    tens, unit = divmod(n, 10)
    return _EN_TENS[tens] + (f"-{_EN_UNITS[unit]}" if unit else "")


def _en_below_1000(n: int) -> str:
    hundreds, rest = divmod(n, 100)
    if not hundreds:
        return _en_below_100(rest)
    head = f"{_EN_UNITS[hundreds]} hundred"
    return head if rest == 0 else f"{head} and {_en_below_100(rest)}"


def _en_number(n: int) -> str:
    if n == 0:
        return "zero"
    parts: list[str] = []
    for size, name in _EN_BIG:
        count, n = divmod(n, size)
        if count:
            parts.append(f"{_en_below_1000(count)} {name}")
    if n:
        # "one thousand and five", "two million and forty": British "and" before a last part < 100.
        parts.append(f"and {_en_below_100(n)}" if parts and n < 100 else _en_below_1000(n))
    return " ".join(parts)


_EN_ORDINAL_WORDS = {"one": "first", "two": "second", "three": "third", "five": "fifth",
                     "eight": "eighth", "nine": "ninth", "twelve": "twelfth"}


def _en_ordinal(n: int) -> str:
    words = _en_number(n)
    head, sep, last = max((words.rpartition(s) for s in (" ", "-")), key=lambda p: len(p[0]))
    if last in _EN_ORDINAL_WORDS:
        last = _EN_ORDINAL_WORDS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last = last + "th"
    return f"{head}{sep}{last}"


def _en_year(year: int) -> str:
    """Years as English speakers say them: nineteen ninety-nine, two thousand and five, twenty twenty-six."""
    if 2000 <= year <= 2009 or year < 1000 or year % 1000 == 0:
        return _en_number(year)
    high, low = divmod(year, 100)
    if low == 0:
        return f"{_en_below_100(high)} hundred"
    if low < 10:
        return f"{_en_below_100(high)} oh {_EN_UNITS[low]}"
    return f"{_en_below_100(high)} {_en_below_100(low)}"


# -- public API ---------------------------------------------------------------------------------


def number_words(n: int, language: str) -> str:
    """A whole number 0..10**12 in words: 45 -> ``vijfenveertig`` / ``forty-five``."""
    lang = _lang(language)
    _check_whole(n)
    return _nl_number(n) if lang == "nl" else _en_number(n)


def ordinal_words(n: int, language: str) -> str:
    """1 -> ``eerste`` / ``first``; 21 -> ``eenentwintigste`` / ``twenty-first``."""
    lang = _lang(language)
    _check_whole(n)
    return _nl_ordinal(n) if lang == "nl" else _en_ordinal(n)


#: currency -> language -> (main unit singular, plural, minor unit singular, plural)
_CURRENCIES: dict[str, dict[str, tuple[str, str, str, str]]] = {
    "EUR": {"nl": ("euro", "euro", "cent", "cent"), "en": ("euro", "euros", "cent", "cents")},
    "USD": {"nl": ("dollar", "dollar", "cent", "cent"), "en": ("dollar", "dollars", "cent", "cents")},
    "GBP": {"nl": ("pond", "pond", "penny", "pence"), "en": ("pound", "pounds", "penny", "pence")},
    "CHF": {"nl": ("frank", "frank", "rappen", "rappen"), "en": ("franc", "francs", "centime", "centimes")},
}
CURRENCIES = tuple(_CURRENCIES)


def amount_words(amount: Decimal, currency: str = "EUR", language: str = "nl") -> str:
    """Money as said aloud.

    nl: 45.20 -> ``vijfenveertig euro twintig``, 0.50 -> ``vijftig cent``; en: ``forty-five
    euros and twenty cents``. More than two decimals that are not zeros, negative amounts
    and floats are errors: a reminder must say exactly what is owed, never a rounded figure.
    """
    lang = _lang(language)
    if not isinstance(currency, str) or currency.strip().upper() not in _CURRENCIES:
        raise ValueError(f"unsupported currency {currency!r}: choose one of {', '.join(CURRENCIES)}")
    major_one, major_many, minor_one, minor_many = _CURRENCIES[currency.strip().upper()][lang]
    value = _exact_amount(amount)
    cents_total = int(value * 100)
    units, cents = divmod(cents_total, 100)
    if units > MAX_NUMBER:
        raise ValueError(f"amount {amount} is too large to be spoken")

    def say(n: int) -> str:
        return number_words(n, lang)

    if units == 0 and cents == 0:
        return f"{say(0)} {major_many}"                   # nul euro, zero euros
    if lang == "nl":
        if units == 0:
            return f"{say(cents)} {minor_one if cents == 1 else minor_many}"
        major = f"{say(units)} {major_one if units == 1 else major_many}"
        return major if cents == 0 else f"{major} {say(cents)}"
    if units == 0:
        return f"{say(cents)} {minor_one if cents == 1 else minor_many}"
    major = f"{say(units)} {major_one if units == 1 else major_many}"
    return major if cents == 0 else f"{major} and {say(cents)} {minor_one if cents == 1 else minor_many}"


def _exact_amount(amount: Decimal | int) -> Decimal:
    if isinstance(amount, float):
        raise ValueError(f"amount must be a Decimal, not the float {amount!r}: floats are not exact")
    if isinstance(amount, bool):
        raise ValueError(f"amount must be a Decimal, not {amount!r}")
    if isinstance(amount, int):
        amount = Decimal(amount)
    if not isinstance(amount, Decimal):
        raise ValueError(f"amount must be a Decimal, not {amount!r}")
    if not amount.is_finite():
        raise ValueError(f"amount must be a finite number, not {amount}")
    if amount < 0:
        raise ValueError(f"amount must not be negative, not {amount}")
    try:
        cents = amount.quantize(Decimal("0.01"))
    except InvalidOperation:
        raise ValueError(f"amount {amount} is too large to be spoken") from None
    if cents != amount:
        raise ValueError(f"amount {amount} has more than two decimals; round it before it is spoken")
    return cents


_NL_MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
              "oktober", "november", "december")
_EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
              "October", "November", "December")
_NL_WEEKDAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
_EN_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def date_words(d: dt.date, language: str, *, weekday: bool = False, year: bool | None = None,
               today: dt.date | None = None) -> str:
    """``vijftien december`` / ``the fifteenth of December``.

    ``year=None`` says the year only when it differs from ``today``'s (the current date
    when not given), because "on the fifteenth of December" is clear within the year and
    shorter; ``True``/``False`` force it.
    """
    lang = _lang(language)
    if not isinstance(d, dt.date):
        raise ValueError(f"date must be a date, not {d!r}")
    if isinstance(d, dt.datetime):
        d = d.date()
    if year is None:
        year = d.year != (today or dt.date.today()).year
    if lang == "nl":
        text = f"{number_words(d.day, 'nl')} {_NL_MONTHS[d.month - 1]}"
        if year:
            text += f" {number_words(d.year, 'nl')}"
        return f"{_NL_WEEKDAYS[d.weekday()]} {text}" if weekday else text
    text = f"the {ordinal_words(d.day, 'en')} of {_EN_MONTHS[d.month - 1]}"
    if year:
        text += f" {_en_year(d.year)}"
    return f"{_EN_WEEKDAYS[d.weekday()]} {text}" if weekday else text


def time_words(t: dt.time, language: str) -> str:
    """``veertien uur dertig`` / ``two thirty in the afternoon`` (seconds are not said).

    Dutch uses the 24-hour announcement form (see the module notes); English the
    12-hour clock with the part of the day, as British speakers say it, with
    ``noon`` and ``midnight`` for the two ambiguous twelves.
    """
    lang = _lang(language)
    if not isinstance(t, dt.time):
        raise ValueError(f"time must be a time of day, not {t!r}")
    hour, minute = t.hour, t.minute
    if lang == "nl":
        text = f"{number_words(hour, 'nl')} uur"
        return text if minute == 0 else f"{text} {number_words(minute, 'nl')}"
    if minute == 0 and hour == 0:
        return "midnight"
    if minute == 0 and hour == 12:
        return "twelve noon"
    clock = hour % 12 or 12
    if minute == 0:
        spoken = f"{_EN_UNITS[clock]} o'clock"
    elif minute < 10:
        spoken = f"{_en_below_100(clock)} oh {_EN_UNITS[minute]}"
    else:
        spoken = f"{_en_below_100(clock)} {_en_below_100(minute)}"
    if hour < 5:
        part = "at night"
    elif hour < 12:
        part = "in the morning"
    elif hour < 18:
        part = "in the afternoon"
    else:
        part = "in the evening"
    return f"{spoken} {part}"


_DIGITS = {"nl": ("nul", "één", "twee", "drie", "vier", "vijf", "zes", "zeven", "acht", "negen"),
           "en": ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")}
_PLUS = {"nl": "plus", "en": "plus"}
_SEPARATORS = frozenset(" -./\u00a0")


def _natural_groups(run: str) -> list[str]:
    """Cut a long digit run into groups of three, never leaving a lone digit (7 -> 3+4)."""
    if len(run) <= 4:
        return [run]
    groups = [run[i:i + 3] for i in range(0, len(run), 3)]
    if len(groups[-1]) == 1:
        groups[-2:] = [groups[-2] + groups[-1]]
    return groups


def digits_words(text: str, language: str, *, group: int | None = None) -> str:
    """Phone numbers and references digit by digit, groups separated by a pause (a comma).

    ``group=None`` keeps the groups written in ``text`` (spaces, dashes, dots, slashes)
    and cuts runs longer than four into threes; ``group=n`` regroups all digits by n.
    A leading ``+`` is said as "plus"; letters (in references such as ``AB-123``) are
    kept as single capitals, which engines spell; anything else is an error.
    """
    lang = _lang(language)
    if not isinstance(text, str):
        raise ValueError(f"digits must be given as text, not {text!r}")
    if group is not None and (isinstance(group, bool) or not isinstance(group, int) or group < 1):
        raise ValueError(f"group must be a positive whole number, not {group!r}")
    stripped = text.strip()
    prefix: list[str] = []
    if stripped.startswith("+"):
        prefix = [_PLUS[lang]]
        stripped = stripped[1:]
    chunks: list[str] = []
    current = ""
    for position, char in enumerate(stripped):
        if char in _SEPARATORS:
            if current:
                chunks.append(current)
            current = ""
        elif char.isascii() and char.isalnum():
            current += char.upper()
        else:
            raise ValueError(f"cannot say {char!r} (position {position + 1}) in digits {text!r}")
    if current:
        chunks.append(current)
    if not chunks:
        raise ValueError(f"no digits to say in {text!r}")
    if group is not None:
        joined = "".join(chunks)
        chunks = [joined[i:i + group] for i in range(0, len(joined), group)]
    else:
        chunks = [g for chunk in chunks for g in _natural_groups(chunk)]
    spoken = [" ".join(_DIGITS[lang][int(c)] if c.isdigit() else c for c in chunk) for chunk in chunks]
    if prefix:
        spoken[0] = f"{prefix[0]} {spoken[0]}"
    return ", ".join(spoken)
