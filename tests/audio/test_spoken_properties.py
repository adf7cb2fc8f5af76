"""Whatever the number, its words mean that number: a listener's parse of the words gives it back.

The parsers here are deliberately independent of audio.spoken (a lexicon and the usual
arithmetic of spoken numbers), so a slip in a compound (tweeëntwintig, elfhonderd,
"one thousand and five") shows up as a wrong value.
"""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from audio.spoken import digits_words, number_words, ordinal_words

_NL_LEXICON = {
    "nul": 0, "een": 1, "één": 1, "twee": 2, "drie": 3, "vier": 4, "vijf": 5, "zes": 6, "zeven": 7, "acht": 8,
    "negen": 9, "tien": 10, "elf": 11, "twaalf": 12, "dertien": 13, "veertien": 14, "vijftien": 15,
    "zestien": 16, "zeventien": 17, "achttien": 18, "negentien": 19, "twintig": 20, "dertig": 30,
    "veertig": 40, "vijftig": 50, "zestig": 60, "zeventig": 70, "tachtig": 80, "negentig": 90,
    "en": 0, "ën": 0, "honderd": 100, "duizend": 1000, "miljoen": 10**6, "miljard": 10**9, "biljoen": 10**12,
}
_EN_LEXICON = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40,
    "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "and": 0, "hundred": 100,
    "thousand": 1000, "million": 10**6, "billion": 10**9, "trillion": 10**12,
}


def _tokens_nl(words: str) -> list[str]:
    morphemes = sorted(_NL_LEXICON, key=len, reverse=True)
    tokens: list[str] = []
    for word in words.split():
        rest = word
        while rest:
            match = next((m for m in morphemes if rest.startswith(m)), None)
            assert match is not None, f"cannot read {rest!r} in {words!r}"
            tokens.append(match)
            rest = rest[len(match):]
    return tokens


def _value(tokens: list[str], lexicon: dict[str, int]) -> int:
    total = current = 0
    for token in tokens:
        value = lexicon[token]
        if value == 100:
            current = (current or 1) * 100
        elif value >= 1000:
            total += (current or 1) * value
            current = 0
        else:
            current += value
    return total + current


def parse_nl(words: str) -> int:
    return _value(_tokens_nl(words), _NL_LEXICON)


def parse_en(words: str) -> int:
    return _value(re.split(r"[ -]", words), _EN_LEXICON)


@given(st.integers(min_value=0, max_value=10**12))
def test_dutch_words_mean_the_number(n: int) -> None:
    assert parse_nl(number_words(n, "nl")) == n


@given(st.integers(min_value=0, max_value=10**12))
def test_english_words_mean_the_number(n: int) -> None:
    assert parse_en(number_words(n, "en")) == n


def test_every_number_up_to_ten_thousand_reads_back() -> None:
    for n in range(10_001):
        assert parse_nl(number_words(n, "nl")) == n
        assert parse_en(number_words(n, "en")) == n


@given(st.integers(min_value=1, max_value=10**6))
def test_ordinals_end_as_ordinals(n: int) -> None:
    assert re.search(r"(ste|de)$", ordinal_words(n, "nl"))
    assert re.search(r"(first|second|third|th)$", ordinal_words(n, "en"))


@given(st.text(alphabet="0123456789 -", min_size=1, max_size=30).filter(lambda s: any(map(str.isdigit, s))))
def test_digit_strings_read_back_digit_by_digit(text: str) -> None:
    nl_digits = {"nul": "0", "één": "1", "twee": "2", "drie": "3", "vier": "4", "vijf": "5", "zes": "6",
                 "zeven": "7", "acht": "8", "negen": "9"}
    spoken = digits_words(text, "nl")
    assert "".join(nl_digits[w] for w in spoken.replace(",", " ").split()) == re.sub(r"\D", "", text)
    assert all(len(group.split()) <= 4 for group in spoken.split(","))    # short enough to note down
