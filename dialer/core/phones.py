"""Phone-number checking: is this string a number the dialer may call, and what kind is it?

Debtor lists arrive with numbers typed by people ("06 12345678", "0031 6...",
"(020) 123 4567"). Everything downstream (dedup, callback recognition, the trunk)
needs one canonical E.164 form, and the dialer must refuse lines that cost the
*debtor* money or cannot take a voice call (premium rate, shared cost, pagers).

Parsing with ``phonenumbers`` costs ~50 µs a number, which alone would take
close to a minute for a million-row import. Most numbers in real lists are plain
digit strings, so those take a fast path that applies ``phonenumbers``' own
metadata (the same patterns, the same order of checks) without its general
parser; anything unusual, and every number the fast path would not accept, goes
through ``phonenumbers.parse`` so that problem texts come from one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumberType, ValidationResult

KINDS = ("mobile", "fixed", "fixed_or_mobile", "voip", "toll_free", "premium_rate", "shared_cost", "other")

_KIND = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "fixed",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_or_mobile",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.SHARED_COST: "shared_cost",
}

# Types a dialer must not call, with the reason a user reads in the flags file.
_FORBIDDEN = {
    PhoneNumberType.PREMIUM_RATE: "a premium-rate number (calling it costs money); never called",
    PhoneNumberType.SHARED_COST: "a shared-cost number (the debtor pays part of the call); never called",
    PhoneNumberType.PERSONAL_NUMBER: "a personal-number service (often premium-rate); never called",
    PhoneNumberType.PAGER: "a pager number; it cannot take a voice call",
    PhoneNumberType.VOICEMAIL: "a voicemail access number, not the debtor's own line",
}

_PARSE_PROBLEM = {
    NumberParseException.INVALID_COUNTRY_CODE: "has an unknown country code",
    NumberParseException.NOT_A_NUMBER: "is not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "is too short to be a phone number",
    NumberParseException.TOO_SHORT_NSN: "is too short to be a phone number",
    NumberParseException.TOO_LONG: "is too long to be a phone number",
}

_LENGTH_HINT = {
    ValidationResult.TOO_SHORT: " (too short)",
    ValidationResult.TOO_LONG: " (too long)",
    ValidationResult.INVALID_LENGTH: " (wrong number of digits)",
}

# Characters people put between digits; removing them leaves the digits the fast path reads.
_SEPARATORS = str.maketrans("", "", " \t-.()/\u00a0\u202f")
_LETTERS = re.compile(r"[A-Za-z]")


@dataclass(frozen=True)
class NumberCheck:
    """The verdict on one raw number. The dialer may call ``e164`` only when ``problem`` is None.

    ``e164`` is also filled in for valid numbers the dialer must not call (premium rate and
    the like) so that the flag can show which number it was.
    """

    raw: str
    e164: str | None
    kind: str
    problem: str | None

    @property
    def usable(self) -> bool:
        return self.problem is None and self.e164 is not None


def is_mobile(check: NumberCheck) -> bool:
    """Mobile or possibly mobile: in NANP regions (+1) a number does not tell which it is."""
    return check.kind in ("mobile", "fixed_or_mobile")


def normalise_number(raw: str, default_region: str = "NL") -> NumberCheck:
    """Check one number as typed by a person; numbers without a country code belong to ``default_region``."""
    text = raw.strip()
    region = default_region.upper()
    fast = _fast_check(raw, text.translate(_SEPARATORS), region)
    if fast is not None:
        return fast
    if not text:
        return NumberCheck(raw, None, "other", "the phone number is empty")
    if _LETTERS.search(text):
        # phonenumbers reads letters as a keypad word (1-800-FLOWERS); in a debtor list
        # letters mean a note or a typo, never a vanity number.
        return NumberCheck(raw, None, "other", f"{text!r} contains letters, not only a phone number")
    return _full_check(raw, text, region)


def _full_check(raw: str, text: str, region: str) -> NumberCheck:
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        problem = _PARSE_PROBLEM.get(exc.error_type, "is not a phone number")
        if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE and not text.startswith(("+", "00")):
            problem = f"has no country code and the default region {region!r} is unknown"
        return NumberCheck(raw, None, "other", f"{text!r} {problem}")
    number_type = phonenumbers.number_type(number)
    if number_type == PhoneNumberType.UNKNOWN:
        number_region = phonenumbers.region_code_for_country_code(number.country_code)
        if number_region in (None, "ZZ"):
            number_region = f"+{number.country_code}"
        hint = _LENGTH_HINT.get(phonenumbers.is_possible_number_with_reason(number), "")
        problem = f"{text!r} is not a valid number for region {number_region}{hint}"
        return NumberCheck(raw, None, "other", problem)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return _verdict(raw, text, e164, number_type)


def _verdict(raw: str, text: str, e164: str, number_type: int) -> NumberCheck:
    kind = _KIND.get(number_type, "other")
    forbidden = _FORBIDDEN.get(number_type)
    return NumberCheck(raw, e164, kind, f"{text!r} is {forbidden}" if forbidden else None)


# --- fast path -------------------------------------------------------------------------------

_Desc = tuple[frozenset[int], re.Pattern[str]] | None

# The order phonenumbers' _number_type_helper tests the types in (fixed line, then mobile, follow).
_SPECIAL_ORDER = (
    ("premium_rate", PhoneNumberType.PREMIUM_RATE),
    ("toll_free", PhoneNumberType.TOLL_FREE),
    ("shared_cost", PhoneNumberType.SHARED_COST),
    ("voip", PhoneNumberType.VOIP),
    ("personal_number", PhoneNumberType.PERSONAL_NUMBER),
    ("pager", PhoneNumberType.PAGER),
    ("uan", PhoneNumberType.UAN),
    ("voicemail", PhoneNumberType.VOICEMAIL),
)


@dataclass(frozen=True)
class _Region:
    """One region's metadata compiled once: what ``phonenumbers.number_type`` decides, in two regexes.

    phonenumbers tries up to eleven patterns one by one; here the type patterns are one
    alternation in the same order (a full match takes the first alternative that fits),
    each guarded by its possible lengths, so the first matching type wins as it does there.
    """

    country_code: int
    national_prefix: str | None  # '0' where "0612345678" is the national form; None: no national fast path
    no_strip: re.Pattern[str] | None  # an NSN starting with this could be altered by parse; not fast
    general: _Desc
    types: re.Pattern[str] | None
    mobile: _Desc
    same_fixed_mobile: bool

    def number_type(self, nsn: str) -> int:
        if self.types is None or not _matches(nsn, self.general):
            return PhoneNumberType.UNKNOWN
        match = self.types.fullmatch(nsn)
        if match is None or match.lastgroup is None:
            return PhoneNumberType.UNKNOWN
        number_type = int(match.lastgroup[1:])
        if number_type == PhoneNumberType.FIXED_LINE and (
            self.same_fixed_mobile or _matches(nsn, self.mobile)
        ):
            return PhoneNumberType.FIXED_LINE_OR_MOBILE
        return number_type


def _compile_desc(desc: object) -> _Desc:
    pattern = getattr(desc, "national_number_pattern", None)
    if not pattern:
        return None
    return frozenset(getattr(desc, "possible_length", ()) or ()), re.compile(pattern)


def _matches(nsn: str, desc: _Desc) -> bool:
    if desc is None:
        return False
    lengths, pattern = desc
    if lengths and len(nsn) not in lengths:
        return False
    return pattern.fullmatch(nsn) is not None


def _alternative(desc: object, number_type: int) -> str | None:
    """One type's pattern as a named alternative, or None where phonenumbers could never match it."""
    pattern = getattr(desc, "national_number_pattern", None)
    if not pattern:
        return None
    lengths = tuple(getattr(desc, "possible_length", ()) or ())
    guard = ""
    if lengths:
        usable = [length for length in lengths if length > 0]
        if not usable:
            return None
        guard = "(?=(?:" + "|".join(f".{{{length}}}" for length in usable) + r")\Z)"
    return f"(?P<t{number_type}>{guard}(?:{pattern}))"


def _types_pattern(meta: PhoneMetadata) -> re.Pattern[str] | None:
    order = [(getattr(meta, name), number_type) for name, number_type in _SPECIAL_ORDER]
    order.append((meta.fixed_line, PhoneNumberType.FIXED_LINE))
    if not meta.same_mobile_and_fixed_line_pattern:
        order.append((meta.mobile, PhoneNumberType.MOBILE))
    alternatives = [alt for desc, number_type in order if (alt := _alternative(desc, number_type))]
    return re.compile("|".join(alternatives)) if alternatives else None


@lru_cache(maxsize=512)
def _region(region: str) -> _Region | None:
    """Compiled metadata for a region, or None where its rules are too unusual for the fast path."""
    meta = PhoneMetadata.metadata_for_region(region, None)
    if meta is None or meta.country_code is None or meta.national_prefix_transform_rule:
        return None
    parse_prefix = meta.national_prefix_for_parsing
    national_prefix = None
    if (
        meta.national_prefix == "0"
        and parse_prefix in (None, "0")
        and (meta.international_prefix or "").startswith("00")
    ):
        national_prefix = "0"
    strip = parse_prefix or meta.national_prefix
    if strip == "0":
        strip = None  # _fast_check already leaves NSNs starting with 0 to the parser
    return _Region(
        country_code=meta.country_code,
        national_prefix=national_prefix,
        no_strip=re.compile(strip) if strip else None,
        general=_compile_desc(meta.general_desc),
        types=_types_pattern(meta),
        mobile=_compile_desc(meta.mobile),
        same_fixed_mobile=bool(meta.same_mobile_and_fixed_line_pattern),
    )


@lru_cache(maxsize=4)
def _single_region_codes() -> dict[str, str]:
    """Country code text → region, for codes that belong to one region only (+1, +44, +7 excluded)."""
    return {str(cc): regions[0] for cc, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items()
            if len(regions) == 1 and regions[0] != "001"}


def _fast_check(raw: str, digits: str, region: str) -> NumberCheck | None:
    """The verdict for a plain number, or None to let phonenumbers decide.

    Returns only verdicts the full parser would give too: a usable number or a forbidden kind.
    """
    if digits.startswith("+"):
        body = digits[1:]
        if not body.isdigit() or not body.isascii():
            return None
        codes = _single_region_codes()
        for size in (1, 2, 3):
            number_region = codes.get(body[:size])
            if number_region is not None:
                break
        else:
            return None
        nsn = body[size:]
        meta = _region(number_region)
    else:
        meta = _region(region)
        if meta is None or meta.national_prefix is None or not digits.isdigit() or not digits.isascii():
            return None
        if not digits.startswith("0") or digits.startswith("00"):
            return None
        nsn = digits[1:]
    if meta is None or not nsn or nsn[0] == "0" or (meta.no_strip is not None and meta.no_strip.match(nsn)):
        # A leading 0 (Italian-style numbers) or a national prefix inside the NSN: parse decides.
        return None
    number_type = meta.number_type(nsn)
    if number_type == PhoneNumberType.UNKNOWN:
        return None
    return _verdict(raw, raw.strip(), f"+{meta.country_code}{nsn}", number_type)
