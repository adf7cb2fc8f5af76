"""Masking personal data for log lines (GDPR: logs are kept longer and read by more people than the data).

A masked value must still let an operator tell two log lines apart and match a
complaint to a call ("the number ending in 78"), but not let anyone reading the
log call or identify the debtor.
"""

from __future__ import annotations

import phonenumbers


def mask_number(e164_or_raw: str) -> str:
    """Keep the country code and the last two digits: ``+31612345678`` → ``+31*******78``.

    Works on raw, unparsed input too (log lines about rejected numbers): every letter and
    digit is masked except the last two digits, and only numbers long enough that two
    digits reveal little keep those.
    """
    text = e164_or_raw.strip()
    prefix = ""
    body = text
    if text.startswith("+"):
        digits = text[1:]
        for size in (1, 2, 3):
            if digits[:size].isdigit() and int(digits[:size]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
                prefix, body = "+" + digits[:size], digits[size:]
                break
    digit_count = sum(ch.isdigit() for ch in body)
    keep = 2 if digit_count >= 7 else 0
    out: list[str] = []
    for ch in reversed(body):
        if ch.isdigit() and keep:
            out.append(ch)
            keep -= 1
        elif ch.isalnum():
            out.append("*")
        else:
            out.append(ch)
    return prefix + "".join(reversed(out))


def mask_name(name: str | None) -> str:
    """Keep the first letter of each word: ``Jan de Vries`` → ``J** d* V****``.

    Separators (spaces, hyphens, apostrophes) are kept so the shape stays readable.
    """
    if not name:
        return ""
    out: list[str] = []
    at_word_start = True
    for ch in name.strip():
        if ch.isalnum():
            out.append(ch if at_word_start else "*")
            at_word_start = False
        else:
            out.append(ch)
            at_word_start = ch.isspace() or ch == "-"
    return "".join(out)
