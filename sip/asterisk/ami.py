"""One long-lived AMI connection per Asterisk server, over panoramisk.

panoramisk frames the protocol and logs in; this class adds what a dialer needs and panoramisk does
not do (see tests/fixtures/asterisk/README.md, pitfalls 8 and 9):

- **Every message in stream order** to one handler, responses and the OriginateResponse included
  (panoramisk swallows OriginateResponse into the Originate's future and dispatches events before the
  futures' callbacks run). A protocol subclass hands each message over before panoramisk sees it.
- **Login failure is final**: Asterisk answers a wrong secret after ~1 s and closes the socket;
  panoramisk would reconnect and retry every 2 s forever. Here it raises :class:`AmiLoginError` from
  :meth:`AmiConnection.start` and stops.
- **Reconnect with backoff** (1 s doubling to 30 s), a **keep-alive** Ping whose missing answer aborts a
  dead connection, and ``on_login`` after every successful login so the owner can resync.
- **No action is ever re-sent after a reconnect** (panoramisk would re-send those that got no answer,
  which for an Originate means a second call): a lost action fails with :class:`AmiDisconnected`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from panoramisk import Manager
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

log = logging.getLogger("callpact.ami")
# panoramisk logs every parsed message at DEBUG, phone numbers and names included: never below INFO.
_wire_log = logging.getLogger("callpact.ami.wire")
_wire_log.setLevel(logging.INFO)

MessageHandler = Callable[[Message], None]


class AmiError(Exception):
    """An AMI problem worth one clear line."""


class AmiLoginError(AmiError):
    """Asterisk rejected the login (wrong user or secret, or an ACL)."""


class AmiDisconnected(AmiError):
    """The connection went away before the action was answered (Asterisk may have acted on it)."""


class AmiNotConnected(AmiError):
    """No connection right now: the action was not sent."""


class _ForgetAll:
    """panoramisk's ``forgetable_actions``: forget every action on a disconnect, never re-send it."""

    def __contains__(self, _item: object) -> bool:
        return True


class _Protocol(AMIProtocol):
    def handle_message(self, message: Message) -> None:
        hook = getattr(self.factory, "raw_hook", None)
        if hook is not None:
            hook(message)
        super().handle_message(message)


class _Manager(Manager):
    """panoramisk's Manager with its reconnect and login handling routed to :class:`AmiConnection`."""

    owner: AmiConnection

    def login(self, future: asyncio.Future[Any]) -> bool:
        ok = super().login(future)
        self.owner._login_result(ok, future)
        return ok

    def connection_lost(self, exc: Exception | None) -> None:
        self._connected = False
        if self.pinger:
            self.pinger.cancel()
            self.pinger = None
        self.owner._connection_lost(exc)


class AmiConnection:
    """Login, keep-alive, reconnect; ``send``/``collect`` actions; every message to ``handler``."""

    RECONNECT_MIN_S = 1.0
    RECONNECT_MAX_S = 30.0

    def __init__(self, *, host: str, port: int, username: str, secret: str, name: str = "",
                 handler: MessageHandler | None = None,
                 on_login: Callable[[AmiConnection, bool], Awaitable[None]] | None = None,
                 on_disconnect: Callable[[AmiConnection], None] | None = None,
                 ping_interval_s: float = 5.0, action_timeout_s: float = 10.0,
                 events: str = "on") -> None:
        self.host, self.port = host, port
        self.name = name or f"{host}:{port}"
        self.handler = handler
        self.on_login = on_login
        self.on_disconnect = on_disconnect
        self.ping_interval_s = ping_interval_s
        self.action_timeout_s = action_timeout_s
        self._username, self._secret, self._events = username, secret, events
        self.manager: _Manager | None = None
        self.connected = asyncio.Event()
        self.logins = 0
        self.closed = False
        self.failed: AmiError | None = None
        self._first_login: asyncio.Future[None] | None = None
        self._pending: dict[str, tuple[asyncio.Future[list[Message]], bool]] = {}
        self._collected: dict[str, list[Message]] = {}
        self._ids = itertools.count(1)
        self._backoff = self.RECONNECT_MIN_S
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reconnect_handle: asyncio.TimerHandle | None = None
        self.last_error = ""

    # -- lifecycle ------------------------------------------------------------------------------
    async def start(self, timeout_s: float = 10.0) -> None:
        """Connect and log in; raises AmiLoginError / AmiError (unreachable) with a one-line reason."""
        loop = asyncio.get_running_loop()
        self._first_login = loop.create_future()
        self._connect_now()
        try:
            await asyncio.wait_for(asyncio.shield(self._first_login), timeout_s)
        except TimeoutError:
            await self.close()
            why = f" ({self.last_error})" if self.last_error else ""
            raise AmiError(f"AMI {self.name} ({self.host}:{self.port}): no successful login within "
                           f"{timeout_s:.0f} s{why}; is "
                           "Asterisk running, with manager.conf enabled on that address?") from None
        except AmiError:
            await self.close()
            raise
        self._spawn(self._keepalive())

    async def close(self) -> None:
        self.closed = True
        if self._reconnect_handle is not None:
            self._reconnect_handle.cancel()
        for task in list(self._tasks):
            task.cancel()
        if self.manager is not None:
            with contextlib.suppress(Exception):
                self.manager.close()
        self._fail_pending(AmiDisconnected(f"AMI {self.name}: closed"))
        self.connected.clear()

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _connect_now(self) -> None:
        self._reconnect_handle = None
        if self.closed or self.failed is not None:
            return
        loop = asyncio.get_running_loop()
        manager = _Manager(host=self.host, port=self.port, username=self._username, secret=self._secret,
                           events=self._events, loop=loop, protocol_factory=_Protocol,
                           ping_delay=10**7, ping_interval=10**7, reconnect_timeout=10**7,
                           forgetable_actions=_ForgetAll(), log=_wire_log)
        manager.owner = self
        manager.raw_hook = self._on_message  # type: ignore[attr-defined]
        self.manager = manager
        self._spawn(self._open(manager))

    async def _open(self, manager: _Manager) -> None:
        loop = asyncio.get_running_loop()
        try:
            transport_protocol = await loop.create_connection(_Protocol, self.host, self.port)
        except OSError as exc:
            self.last_error = os.strerror(exc.errno).lower() if exc.errno else str(exc)
            log.log(self._level(logging.WARNING), "AMI %s: cannot connect (%s); retrying in %.0f s",
                    self.name, self.last_error, self._backoff)
            self._schedule_reconnect()
            return
        done: asyncio.Future[Any] = loop.create_future()
        done.set_result(transport_protocol)
        manager.connection_made(done)

    def _level(self, level: int) -> int:
        """Until the first login, ``start`` raises what went wrong as one line: the tries before it
        are debug detail, not warnings printed ahead of that line."""
        starting = self._first_login is not None and not self._first_login.done()
        return logging.DEBUG if starting else level

    def _schedule_reconnect(self) -> None:
        if self.closed or self.failed is not None:
            return
        delay = self._backoff
        self._backoff = min(self._backoff * 2, self.RECONNECT_MAX_S)
        self._reconnect_handle = asyncio.get_running_loop().call_later(delay, self._connect_now)

    def _login_result(self, ok: bool, future: asyncio.Future[Any]) -> None:
        if not ok:
            message = ""
            with contextlib.suppress(Exception):
                message = str(future.result().get("Message", ""))
            error = AmiLoginError(f"AMI {self.name}: login as '{self._username}' rejected"
                                  f"{': ' + message if message else ''} (check manager.conf user, "
                                  "secret and permit)")
            self.failed = error
            log.log(self._level(logging.ERROR), "%s", error)
            if self._first_login is not None and not self._first_login.done():
                self._first_login.set_exception(error)
            if self.manager is not None:
                self.manager.close()
            return
        self._backoff = self.RECONNECT_MIN_S
        self.logins += 1
        self.connected.set()
        first = self._first_login is not None and not self._first_login.done()
        if first:
            assert self._first_login is not None
            self._first_login.set_result(None)
        else:
            log.warning("AMI %s: reconnected and logged in again", self.name)
        if self.on_login is not None:
            self._spawn(self.on_login(self, not first))

    def _connection_lost(self, exc: Exception | None) -> None:
        was = self.connected.is_set()
        self.connected.clear()
        self._fail_pending(AmiDisconnected(f"AMI {self.name}: connection lost"))
        if self.closed or self.failed is not None:
            return
        if was:
            log.error("AMI %s: connection lost; reconnecting", self.name)
        if self.on_disconnect is not None:
            self.on_disconnect(self)
        self._schedule_reconnect()

    def _fail_pending(self, error: AmiError) -> None:
        for future, _ in self._pending.values():
            if not future.done():
                future.set_exception(error)
        self._pending.clear()
        self._collected.clear()

    # -- messages -------------------------------------------------------------------------------
    def _on_message(self, message: Message) -> None:
        action_id = str(message.get("ActionID", ""))
        waiting = self._pending.get(action_id) if action_id else None
        if waiting is not None:
            future, is_list = waiting
            got = self._collected.setdefault(action_id, [])
            got.append(message)
            response = str(got[0].get("Response", "")).lower()
            event = str(message.get("Event", ""))
            complete = (not is_list or response in ("error", "failure")
                        or event.endswith("Complete") or str(message.get("EventList", "")) == "Complete")
            if complete:
                self._pending.pop(action_id, None)
                self._collected.pop(action_id, None)
                if not future.done():
                    future.set_result(got)
            if "Event" not in message:
                return
        if self.handler is not None and "Event" in message:
            try:
                self.handler(message)
            except Exception:  # one bad event must not stop the stream
                log.exception("AMI %s: handling %s failed", self.name, message.get("Event"))

    def next_action_id(self, prefix: str = "cp") -> str:
        return f"{prefix}-{next(self._ids)}"

    def _write(self, action: Mapping[str, Any], *,
               is_list: bool) -> tuple[str, asyncio.Future[list[Message]]]:
        if not self.connected.is_set() or self.manager is None or self.manager.protocol is None:
            raise AmiNotConnected(f"AMI {self.name}: not connected")
        fields = dict(action)
        action_id = str(fields.setdefault("ActionID", self.next_action_id()))
        future: asyncio.Future[list[Message]] = asyncio.get_running_loop().create_future()
        self._pending[action_id] = (future, is_list)
        # Straight to the transport: panoramisk's own response bookkeeping is not wanted (QueueAdd
        # never resolves there, Async Originate resolves late, and lost actions would be re-sent).
        lines = []
        for key, value in fields.items():
            for item in value if isinstance(value, (list, tuple)) else [value]:
                text = str(item)
                if "\r" in text or "\n" in text:
                    raise ValueError(f"AMI header {key} contains a line break")
                lines.append(f"{key}: {text}")
        self.manager.protocol.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        return action_id, future

    async def send(self, action: Mapping[str, Any], timeout_s: float | None = None) -> Message:
        """Send one action and return its Response (Error included; the caller judges it)."""
        action_id, future = self._write(action, is_list=False)
        try:
            got = await asyncio.wait_for(future, timeout_s or self.action_timeout_s)
        except TimeoutError:
            self._pending.pop(action_id, None)
            raise AmiError(f"AMI {self.name}: no answer to {action.get('Action')} within "
                           f"{timeout_s or self.action_timeout_s:.0f} s") from None
        return got[0]

    async def collect(self, action: Mapping[str, Any], timeout_s: float | None = None) -> list[Message]:
        """Send a list action (CoreShowChannels, QueueStatus); its Response and events up to ...Complete."""
        action_id, future = self._write(action, is_list=True)
        try:
            return await asyncio.wait_for(future, timeout_s or self.action_timeout_s)
        except TimeoutError:
            self._pending.pop(action_id, None)
            self._collected.pop(action_id, None)
            raise AmiError(f"AMI {self.name}: {action.get('Action')} list incomplete after "
                           f"{timeout_s or self.action_timeout_s:.0f} s") from None

    async def _keepalive(self) -> None:
        """A Ping without an answer means a dead TCP path: abort it so the reconnect starts."""
        while not self.closed:
            await asyncio.sleep(self.ping_interval_s)
            if not self.connected.is_set():
                continue
            try:
                await self.send({"Action": "Ping"}, timeout_s=max(2.0, self.ping_interval_s))
            except (AmiDisconnected, AmiNotConnected):
                continue
            except AmiError:
                log.error("AMI %s: Ping unanswered; dropping the connection", self.name)
                manager = self.manager
                if manager is not None and manager.protocol is not None:
                    manager.protocol.transport.abort()
