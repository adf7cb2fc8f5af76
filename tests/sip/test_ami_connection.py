"""The AMI connection's login, reconnect and no-resend rules, against a scripted AMI peer on loopback.

The peer answers with the bytes a real Asterisk 22.10.1 sent (tests/fixtures/asterisk/ami/a1, a2): its
banner, the delayed ``Authentication failed`` and the socket close that follows it. Real Asterisk is
driven by the slow integration tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import re

import pytest
from helpers.asterisk_fixtures import ami_chunks

from sip.asterisk.ami import AmiConnection, AmiDisconnected, AmiLoginError

BANNER = ami_chunks("a1_login_ok")[0][1]
LOGIN_OK = next(c for _, c in ami_chunks("a1_login_ok") if "Authentication accepted" in c)
LOGIN_FAIL = next(c for _, c in ami_chunks("a2_login_fail") if "Authentication failed" in c)


class FakeAmi:
    """Speaks just enough AMI: banner, Login, Ping, and records every action it receives."""

    def __init__(self, *, accept_login: bool = True, drop_after_login: int = 0,
                 queue_originates: bool = False, mute_connections: int = 0,
                 drop_on_originate: int = 0, stopping_connections: int = 0) -> None:
        self.drop_on_originate = drop_on_originate   # the first N connections die on an Originate
        self.stopping_connections = stopping_connections   # ... or answer it "shutting down", then die
        self.accept_login = accept_login
        self.mute_connections = mute_connections     # the first N connections answer no Ping (dead path)
        self.queue_originates = queue_originates     # answer Originate as Asterisk does (Async: true)
        self.drop_after_login = drop_after_login     # close the first N connections right after login
        self.connections = 0
        self.actions: list[tuple[int, str]] = []
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        for w in self.writers:
            w.close()
        if self.server:
            self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            await self._converse(reader, writer)

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        conn = self.connections
        self.writers.append(writer)
        writer.write(BANNER.encode())
        buffer = ""
        while data := await reader.read(4096):
            buffer += data.decode()
            while "\r\n\r\n" in buffer:
                block, buffer = buffer.split("\r\n\r\n", 1)
                action = re.search(r"(?im)^Action: ([^\r\n]*)", block)
                action_id = re.search(r"(?im)^ActionID: ([^\r\n]*)", block)
                name, aid = (action.group(1) if action else ""), (action_id.group(1) if action_id else "")
                self.actions.append((conn, name))
                if name.lower() == "login":
                    if not self.accept_login:
                        await asyncio.sleep(0.2)              # real Asterisk: about 1 s
                        writer.write(LOGIN_FAIL.replace("login-1", aid).encode())
                        await writer.drain()
                        writer.close()
                        return
                    writer.write(LOGIN_OK.replace("login-1", aid).encode())
                    writer.write(b"Event: FullyBooted\r\nStatus: Fully Booted\r\n\r\n")
                    if conn <= self.drop_after_login:
                        await writer.drain()
                        writer.close()
                        return
                elif name.lower() == "ping" and conn <= self.mute_connections:
                    pass
                elif name.lower() == "ping":
                    writer.write(f"Response: Success\r\nActionID: {aid}\r\nPing: Pong\r\n\r\n".encode())
                elif name.lower() == "originate" and conn <= self.stopping_connections:
                    writer.write(f"Response: Error\r\nActionID: {aid}\r\n"
                                 "Message: Asterisk is shutting down\r\n\r\n".encode())
                    await writer.drain()
                    await asyncio.sleep(0.2)
                    writer.close()
                    return
                elif name.lower() == "originate" and conn <= self.drop_on_originate:
                    writer.close()
                    return
                elif name.lower() == "coreshowchannels":
                    writer.write(f"Response: Success\r\nActionID: {aid}\r\nEventList: start\r\n\r\n"
                                 f"Event: CoreShowChannelsComplete\r\nActionID: {aid}\r\n"
                                 "EventList: Complete\r\nListItems: 0\r\n\r\n".encode())
                elif name.lower() == "originate" and self.queue_originates:
                    writer.write(f"Response: Success\r\nActionID: {aid}\r\n"
                                 "Message: Originate successfully queued\r\n\r\n".encode())
                elif name.lower() == "hangup" and self.queue_originates:
                    channel = re.search(r"(?im)^Channel: ([^\r\n]*)", block)
                    writer.write(f"Response: Success\r\nActionID: {aid}\r\n\r\n"
                                 f"Event: Hangup\r\nUniqueid: {channel.group(1) if channel else ''}\r\n"
                                 "Cause: 16\r\n\r\n".encode())
                elif name.lower() in ("setvar", "redirect") and self.queue_originates:
                    writer.write(f"Response: Success\r\nActionID: {aid}\r\n\r\n".encode())
                elif name.lower() == "queuestatus":
                    writer.write(f"Response: Success\r\nActionID: {aid}\r\nEventList: start\r\n\r\n"
                                 f"Event: QueueStatusComplete\r\nActionID: {aid}\r\nEventList: Complete\r\n"
                                 "ListItems: 0\r\n\r\n".encode())
                # anything else (Originate...) gets no answer: the test decides what happens next


async def test_wrong_secret_fails_start_once_and_never_retries() -> None:
    fake = FakeAmi(accept_login=False)
    port = await fake.start()
    conn = AmiConnection(host="127.0.0.1", port=port, username="callpact", secret="wrong")
    try:
        with pytest.raises(AmiLoginError, match="login as 'callpact' rejected: Authentication failed"):
            await conn.start(timeout_s=5)
        await asyncio.sleep(1.5)               # panoramisk alone would have reconnected by now
        assert fake.connections == 1
    finally:
        await conn.close()
        await fake.close()


async def test_unreachable_server_is_a_one_line_error() -> None:
    fake = FakeAmi()
    port = await fake.start()
    await fake.close()                         # nothing listens there any more
    conn = AmiConnection(host="127.0.0.1", port=port, username="u", secret="s")
    with pytest.raises(Exception, match="no successful login within 2 s"):
        await conn.start(timeout_s=2)


async def test_reconnects_logs_in_again_and_reports_it_for_a_resync() -> None:
    fake = FakeAmi(drop_after_login=1)
    port = await fake.start()
    logins: list[bool] = []

    async def on_login(_conn: AmiConnection, again: bool) -> None:
        logins.append(again)

    conn = AmiConnection(host="127.0.0.1", port=port, username="u", secret="s", on_login=on_login)
    try:
        await conn.start(timeout_s=5)
        for _ in range(100):
            if len(logins) >= 2 and conn.connected.is_set():
                break
            await asyncio.sleep(0.05)
        assert logins == [False, True]
        assert fake.connections == 2
        reply = await conn.send({"Action": "Ping"})
        assert reply.get("Ping") == "Pong"
    finally:
        await conn.close()
        await fake.close()


async def test_an_unanswered_originate_fails_on_disconnect_and_is_never_sent_again() -> None:
    fake = FakeAmi()
    port = await fake.start()
    conn = AmiConnection(host="127.0.0.1", port=port, username="u", secret="s")
    try:
        await conn.start(timeout_s=5)
        pending = asyncio.ensure_future(conn.send({"Action": "Originate", "Channel": "PJSIP/x"}))
        while not any(name == "Originate" for _, name in fake.actions):
            await asyncio.sleep(0.01)
        fake.writers[0].close()                # Asterisk restarts before answering
        with pytest.raises(AmiDisconnected):
            await asyncio.wait_for(pending, 5)
        while fake.connections < 2 or not conn.connected.is_set():
            await asyncio.sleep(0.05)
        await conn.send({"Action": "Ping"})
        assert [c for c, name in fake.actions if name == "Originate"] == [1]
    finally:
        await conn.close()
        await fake.close()


async def test_debug_logging_never_shows_the_numbers_in_events(caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeAmi()
    port = await fake.start()
    got: list = []
    conn = AmiConnection(host="127.0.0.1", port=port, username="u", secret="s", handler=got.append)
    caplog.set_level("DEBUG")
    try:
        await conn.start(timeout_s=5)
        fake.writers[0].write(b"Event: Newchannel\r\nChannel: PJSIP/trunk-00000001\r\n"
                              b"CallerIDNum: +31612345678\r\nCallerIDName: Jan Jansen\r\n"
                              b"Uniqueid: u1\r\n\r\n")
        while not any(m.get("Event") == "Newchannel" for m in got):
            await asyncio.sleep(0.01)
    finally:
        await conn.close()
        await fake.close()
    assert "+31612345678" not in caplog.text and "Jan Jansen" not in caplog.text


async def test_keepalive_finds_a_dead_connection_and_reconnects() -> None:
    fake = FakeAmi(mute_connections=1)        # TCP stays open but nothing answers: a stale NAT, a hung box
    port = await fake.start()
    logins: list[bool] = []

    async def on_login(_conn: AmiConnection, again: bool) -> None:
        logins.append(again)

    conn = AmiConnection(host="127.0.0.1", port=port, username="u", secret="s", on_login=on_login,
                         ping_interval_s=0.3)
    try:
        await conn.start(timeout_s=5)
        for _ in range(200):
            if logins == [False, True]:
                break
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
        await fake.close()
    assert logins == [False, True]
    assert fake.connections == 2
