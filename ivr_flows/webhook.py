"""Signed webhook events: how a flow tells the collections back office what the debtor chose.

Each event is one JSON body POSTed to the configured URL with::

    X-Callpact-Event:      payment_link
    X-Callpact-Timestamp:  1764579600              (POSIX seconds when it was sent)
    X-Callpact-Signature:  sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the shared secret>

The timestamp is inside the signed text, so a receiver that checks the
signature (:func:`verify_signature`) and refuses timestamps older than a few
minutes refuses replays as well as forgeries. A timeout, a refused connection or
any non-2xx answer counts as failure: the flow then takes the node's
``on_failure`` branch, so a dead back office never leaves a debtor hanging.

Real time only: under the demo's virtual-time loop a timeout would expire at
once (the demo uses an in-process stand-in instead).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

log = logging.getLogger("callpact.webhook")

SIGNATURE_HEADER = "X-Callpact-Signature"
TIMESTAMP_HEADER = "X-Callpact-Timestamp"
EVENT_HEADER = "X-Callpact-Event"
DEFAULT_TOLERANCE_S = 300


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify_signature(secret: bytes, timestamp: str, body: bytes, received: str, *, now: float,
                     tolerance_s: float = DEFAULT_TOLERANCE_S) -> bool:
    """What a receiver checks: the signature matches and the timestamp is recent (no replay)."""
    try:
        sent = float(timestamp)
    except ValueError:
        return False
    if not math.isfinite(sent) or abs(now - sent) > tolerance_s:   # "nan" is never "too old"
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), received)


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

    def body(self, event: str, payload: Mapping[str, Any], context: Mapping[str, str]) -> bytes:
        document = {"event": event, "id": uuid.uuid4().hex, "call": dict(context), "data": dict(payload)}
        return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                          default=str).encode()

    async def send(self, event: str, payload: Mapping[str, Any], timeout_s: float,
                   context: Mapping[str, str]) -> bool:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        body = self.body(event, payload, context)
        stamp = str(int(self.clock()))
        headers = {"Content-Type": "application/json", EVENT_HEADER: event, TIMESTAMP_HEADER: stamp,
                   SIGNATURE_HEADER: signature(self.secret, stamp, body)}
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
