"""The replay check of a signed webhook cannot be switched off by its timestamp.

``float("nan")`` is a valid float, and ``abs(now - nan) > tolerance`` is false, so a request
stamped "nan" was never too old: a captured request could be replayed for ever. (The webhook
round trips with a real server are in test_webhook.py, a slow suite.)
"""

from __future__ import annotations

import pytest

from ivr_flows.webhook import signature, verify_signature

SECRET = b"s3cret"
BODY = b'{"event":"payment_link"}'


@pytest.mark.parametrize("stamp", ["nan", "NaN", "-nan"])
def test_a_timestamp_that_is_not_a_number_is_refused_even_when_signed(stamp: str) -> None:
    assert verify_signature(SECRET, "1764579600", BODY, signature(SECRET, "1764579600", BODY), now=1764579660)
    assert not verify_signature(SECRET, stamp, BODY, signature(SECRET, stamp, BODY), now=1764579600)

