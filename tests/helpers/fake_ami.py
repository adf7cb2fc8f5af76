"""A scripted AMI peer on loopback: banner, Login, Ping and the few actions the backend sends.

It answers with the bytes a real Asterisk 22.10.1 sent (tests/fixtures/asterisk/ami/a1, a2), so the
AMI connection, the Asterisk backend and the ``callpact dialer`` start are tested against the same peer.
"""

from __future__ import annotations

import asyncio
import contextlib
import re

from helpers.asterisk_fixtures import ami_chunks

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
