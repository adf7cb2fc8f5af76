"""A back office refuses replayed and malformed webhook events, without a server (pure checks).

Before event ids, a request captured on the wire verified again for the whole 300 s window, and a
signature header with a non-ASCII character crashed the receiver (TypeError) instead of being refused.
"""

from __future__ import annotations

import json

import pytest

from ivr_flows.webhook import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    SIGNATURE_V2_HEADER,
    TIMESTAMP_HEADER,
    ReplayGuard,
    WebhookSender,
    new_event_id,
    signature,
    verify_signature,
)

SECRET = b"s3cret"
BODY = b'{"event":"payment_link"}'
SENT = 1764579600
EVENT_ID = "9f2c1d0e8b7a6f5e4d3c2b1a09f8e7d6"


@pytest.mark.parametrize("received", ["sha256=é" + "0" * 63, "sha256=\u2603", "\udcff"])
def test_a_non_ascii_signature_is_not_verified_rather_than_an_error(received: str) -> None:
    assert not verify_signature(SECRET, str(SENT), BODY, received, now=SENT)
    assert not verify_signature(SECRET, str(SENT), BODY, received, now=SENT, event_id=EVENT_ID,
                                guard=ReplayGuard())


def test_a_replayed_event_id_is_refused_within_the_window_and_forgotten_after_it() -> None:
    guard = ReplayGuard(tolerance_s=300)
    sig = signature(SECRET, str(SENT), BODY, EVENT_ID)
    assert verify_signature(SECRET, str(SENT), BODY, sig, now=SENT + 1, event_id=EVENT_ID, guard=guard)
    assert not verify_signature(SECRET, str(SENT), BODY, sig, now=SENT + 2, event_id=EVENT_ID, guard=guard)
    assert not verify_signature(SECRET, str(SENT), BODY, sig, now=SENT + 299, event_id=EVENT_ID, guard=guard)
    assert len(guard) == 1
    # Once the timestamp is too old, the timestamp check refuses it and the guard need not remember it.
    assert not verify_signature(SECRET, str(SENT), BODY, sig, now=SENT + 301, event_id=EVENT_ID, guard=guard)
    assert guard.accept("another", SENT + 301, now=SENT + 301) and len(guard) == 1
    # The same id sent afresh later (a new timestamp, so a new signature) is no replay.
    later = signature(SECRET, str(SENT + 400), BODY, EVENT_ID)
    assert verify_signature(SECRET, str(SENT + 400), BODY, later, now=SENT + 400, event_id=EVENT_ID,
                            guard=guard)


def test_the_guard_memory_is_bounded() -> None:
    guard = ReplayGuard(tolerance_s=300, max_ids=3)
    for i in range(10):
        assert guard.accept(f"id{i}", SENT + i, now=SENT + i)
    assert len(guard) == 3
    assert not guard.accept("id9", SENT + 9, now=SENT + 10)


def test_the_event_id_is_covered_by_the_signature() -> None:
    sig = signature(SECRET, str(SENT), BODY, EVENT_ID)
    assert verify_signature(SECRET, str(SENT), BODY, sig, now=SENT, event_id=EVENT_ID)
    assert not verify_signature(SECRET, str(SENT), BODY, sig, now=SENT, event_id="0" * 32)   # swapped id
    assert not verify_signature(SECRET, str(SENT), BODY, sig, now=SENT)                      # id dropped
    # A guard without an id to remember refuses: a v1 signature cannot get past replay protection.
    v1 = signature(SECRET, str(SENT), BODY)
    assert not verify_signature(SECRET, str(SENT), BODY, v1, now=SENT, guard=ReplayGuard())


def test_every_event_carries_a_fresh_signed_id_and_the_v1_signature_still_verifies() -> None:
    sender = WebhookSender("http://127.0.0.1:9/events", SECRET, clock=lambda: SENT)
    ids = set()
    for _ in range(3):
        event_id = new_event_id()
        body = sender.body("payment_link", {"amount": "12.50"}, {"attempt_id": "a1"}, event_id)
        headers = sender.headers("payment_link", event_id, str(SENT), body)
        assert headers[EVENT_ID_HEADER] == json.loads(body)["id"] == event_id and len(event_id) == 32
        assert verify_signature(SECRET, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_V2_HEADER],
                                now=SENT, event_id=headers[EVENT_ID_HEADER], guard=ReplayGuard())
        assert verify_signature(SECRET, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER], now=SENT)
        ids.add(event_id)
    assert len(ids) == 3
