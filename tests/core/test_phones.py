"""Phone numbers as people type them, and the lines the dialer must refuse; masking for logs."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.core.phones import is_mobile, normalise_number
from dialer.core.privacy import mask_name, mask_number


@pytest.mark.parametrize(
    "raw",
    ["06 12345678", "+31 6 1234 5678", "0031612345678", "06-12345678", "+31612345678", "+31 (0)6 12345678"],
)
def test_dutch_mobile_in_every_common_spelling_is_one_number(raw: str) -> None:
    check = normalise_number(raw)
    assert (check.e164, check.kind, check.problem) == ("+31612345678", "mobile", None)
    assert check.raw == raw
    assert is_mobile(check)


def test_landline_with_area_code_in_brackets() -> None:
    check = normalise_number("(020) 123 4567")
    assert (check.e164, check.kind, check.problem) == ("+31201234567", "fixed", None)
    assert not is_mobile(check)


def test_us_number_may_be_mobile() -> None:
    check = normalise_number("+1 212 555 0123")
    assert check.e164 == "+12125550123"
    assert check.kind == "fixed_or_mobile"
    assert is_mobile(check)


def test_default_region_decides_numbers_without_country_code() -> None:
    assert normalise_number("0470 12 34 56", default_region="BE").e164 == "+32470123456"
    assert normalise_number("+32 470 12 34 56").e164 == "+32470123456"


def test_too_short_number_is_explained() -> None:
    check = normalise_number("06 1234")
    assert check.e164 is None
    assert check.problem == "'06 1234' is not a valid number for region NL"
    assert not check.usable


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("", "empty"),
        ("onbekend", "contains letters"),
        ("06-CALL-NOW", "contains letters"),
        ("+999 1234567", "unknown country code"),
        ("+31 6 1234 56789", "not a valid number for region NL"),
        ("1", "not a phone number"),
    ],
)
def test_unusable_numbers_say_why(raw: str, words: str) -> None:
    check = normalise_number(raw)
    assert check.e164 is None
    assert check.problem is not None and words in check.problem


@pytest.mark.parametrize("raw", ["0900 1234567", "0909 1234567", "+31 906 123456"])
def test_premium_rate_lines_are_never_usable(raw: str) -> None:
    check = normalise_number(raw)
    assert check.kind == "premium_rate"
    assert check.e164 is not None  # shown in the flag so a person can see which number it was
    assert check.problem is not None and "premium-rate" in check.problem
    assert not check.usable


def test_toll_free_and_voip_are_callable() -> None:
    assert normalise_number("0800 0222").usable
    voip = normalise_number("+31 85 123 4567")
    assert (voip.kind, voip.usable) == ("voip", True)


@settings(max_examples=200, deadline=None)
@given(
    region=st.sampled_from(["NL", "BE", "DE", "GB", "US", "FR", "MA", "TR"]),
    prefix=st.sampled_from(
        ["", "0", "00", "+", "+31", "+32", "+49", "+44", "+1", "+212", "+90", "06", "+316"]
    ),
    digits=st.text("0123456789", min_size=3, max_size=13),
)
def test_verdict_agrees_with_phonenumbers(region: str, prefix: str, digits: str) -> None:
    """The fast path must never accept a number phonenumbers refuses, nor read it differently."""
    raw = prefix + digits
    check = normalise_number(raw, region)
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        assert check.e164 is None
        return
    if phonenumbers.is_valid_number(parsed):
        assert check.e164 == phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    else:
        assert check.e164 is None and check.problem


def test_mask_number_keeps_country_code_and_last_two_digits() -> None:
    assert mask_number("+31612345678") == "+31*******78"
    assert mask_number("+12125550123") == "+1********23"
    assert mask_number("06 12345678") == "** ******78"


def test_mask_number_hides_short_or_garbage_input_entirely() -> None:
    assert mask_number("06 1234") == "** ****"
    assert mask_number("bel Jan") == "*** ***"
    assert "1234" not in mask_number("+999 1234567")


def test_mask_name_keeps_initials_only() -> None:
    assert mask_name("Jan de Vries") == "J** d* V****"
    assert mask_name("Fatima El-Amrani") == "F***** E*-A*****"
    assert mask_name("Zoë") == "Z**"
    assert mask_name("") == ""
