"""Signed webhook events: how a flow tells the collections back office what the debtor chose.

Each event is one JSON body POSTed to the configured URL with::

    X-Callpact-Event:         payment_link
    X-Callpact-Event-Id:      9f2c...                  (32 hex digits, random, new for every event)
    X-Callpact-Timestamp:     1764579600               (POSIX seconds when it was sent)
    X-Callpact-Signature-V2:  sha256=<hex HMAC-SHA256 of "<timestamp>.<event id>.<body>">
    X-Callpact-Signature:     sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">   (v1, deprecated)

both with the shared secret. The event id is also the body's ``"id"``. A receiver checks the v2
signature (:func:`verify_signature` with ``event_id=``), refuses timestamps older than a few minutes,
and refuses an event id it has already accepted within those minutes (:class:`ReplayGuard`): the
timestamp alone let a captured request be replayed until it aged out. The id is inside the signed
text, so it cannot be swapped for a fresh one. The v1 header is still sent, unchanged, so that back
offices written against it keep working until they move to v2.

A timeout, a refused connection or any non-2xx answer counts as failure: the flow then takes the node's
``on_failure`` branch, so a dead back office never leaves a debtor hanging.

Real time only: under the demo's virtual-time loop a timeout would expire at
once (the demo uses an in-process stand-in instead).
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import json
import logging
import math
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

log = logging.getLogger("callpact.webhook")

SIGNATURE_HEADER = "X-Callpact-Signature"
SIGNATURE_V2_HEADER = "X-Callpact-Signature-V2"
TIMESTAMP_HEADER = "X-Callpact-Timestamp"
EVENT_HEADER = "X-Callpact-Event"
EVENT_ID_HEADER = "X-Callpact-Event-Id"
DEFAULT_TOLERANCE_S = 300


def new_event_id() -> str:
    """128 random bits: unguessable, and never repeated by chance within anyone's replay window."""
    return secrets.token_hex(16)


def signature(secret: bytes, timestamp: str, body: bytes, event_id: str | None = None) -> str:
    """v2 (with ``event_id``) signs "<timestamp>.<event id>.<body>"; v1 (without) "<timestamp>.<body>"."""
    material = timestamp.encode() + b"." + (event_id.encode() + b"." if event_id is not None else b"") + body
    return "sha256=" + hmac.new(secret, material, hashlib.sha256).hexdigest()


class ReplayGuard:
    """The event ids a receiver has accepted, each kept while its timestamp could still pass the check.

    Pure (the caller gives the time). An id is forgotten once its timestamp is older than the tolerance:
    from then on the timestamp check refuses a replay by itself. Memory is bounded by ``max_ids``;
    when full, the id closest to ageing out is forgotten first, so ``max_ids`` should exceed the events
    a receiver gets within one tolerance window (callpact sends a few per call).
    """

    def __init__(self, tolerance_s: float = DEFAULT_TOLERANCE_S, max_ids: int = 100_000) -> None:
        if max_ids <= 0:
            raise ValueError("max_ids must be positive")
        self.tolerance_s = tolerance_s
        self.max_ids = max_ids
        self._expiry: dict[str, float] = {}
        self._queue: list[tuple[float, str]] = []

    def __len__(self) -> int:
        return len(self._expiry)

    def _forget(self, now: float) -> None:
        while self._queue and (self._queue[0][0] < now or len(self._expiry) > self.max_ids):
            expiry, event_id = heapq.heappop(self._queue)
            if self._expiry.get(event_id) == expiry:
                del self._expiry[event_id]

    def accept(self, event_id: str, sent: float, *, now: float) -> bool:
        """True the first time ``event_id`` is offered within its window; False for a repeat."""
        self._forget(now)
        if event_id in self._expiry:
            return False
        expiry = sent + self.tolerance_s
        self._expiry[event_id] = expiry
        heapq.heappush(self._queue, (expiry, event_id))
        self._forget(now)
        return True


def verify_signature(secret: bytes, timestamp: str, body: bytes, received: str, *, now: float,
                     tolerance_s: float = DEFAULT_TOLERANCE_S, event_id: str | None = None,
                     guard: ReplayGuard | None = None) -> bool:
    """What a receiver checks: the signature matches, the timestamp is recent, the event id is new.

    With ``event_id`` the v2 signature is checked (``received`` is X-Callpact-Signature-V2), and with a
    ``guard`` an id already accepted is refused; without, the v1 signature (timestamp only). Anything
    malformed, non-ASCII headers included, is "not verified", never an exception.
    """
    if not received.isascii() or (event_id is not None and not event_id.isascii()):
        return False
    try:
        sent = float(timestamp)
    except ValueError:
        return False
    if not math.isfinite(sent) or abs(now - sent) > tolerance_s:   # "nan" is never "too old"
        return False
    if not hmac.compare_digest(signature(secret, timestamp, body, event_id), received):
        return False
    if guard is None:
        return True
    return event_id is not None and guard.accept(event_id, sent, now=now)


class WebhookSender:
    """POSTs signed events with aiohttp; one session for the sender's life (:meth:`close` it)."""

    def __init__(self, url: str, secret: bytes | str, *, clock: Callable[[], float] = time.time) -> None:
        self.url = url
        self.secret = secret.encode() if isinstance(secret, str) else secret
        self.clock = clock
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def body(self, event: str, payload: Mapping[str, Any], context: Mapping[str, str],
             event_id: str | None = None) -> bytes:
        document = {"event": event, "id": event_id or new_event_id(), "call": dict(context),
                    "data": dict(payload)}
        return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                          default=str).encode()

    def headers(self, event: str, event_id: str, stamp: str, body: bytes) -> dict[str, str]:
        return {"Content-Type": "application/json", EVENT_HEADER: event, EVENT_ID_HEADER: event_id,
                TIMESTAMP_HEADER: stamp, SIGNATURE_V2_HEADER: signature(self.secret, stamp, body, event_id),
                SIGNATURE_HEADER: signature(self.secret, stamp, body)}

    async def send(self, event: str, payload: Mapping[str, Any], timeout_s: float,
                   context: Mapping[str, str]) -> bool:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        event_id = new_event_id()
        body = self.body(event, payload, context, event_id)
        headers = self.headers(event, event_id, str(int(self.clock())), body)
        try:
            async with self._session.post(self.url, data=body, headers=headers,
                                          timeout=aiohttp.ClientTimeout(total=timeout_s)) as response:
                if 200 <= response.status < 300:
                    return True
                log.warning("webhook %s for attempt %s: HTTP %d from the receiver", event,
                            context.get("attempt_id", "?"), response.status)
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("webhook %s for attempt %s failed: %s", event, context.get("attempt_id", "?"),
                        exc.__class__.__name__)
        return False
