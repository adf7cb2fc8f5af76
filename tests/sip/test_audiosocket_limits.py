"""The AudioSocket port under abuse: too many connections, stray UUIDs, a flood of DTMF frames.

Anyone who can reach the port can connect. Before these limits, every connection was served, a
random UUID held its connection for 5.5 s, and 20 peers flooding DTMF frames stalled the event loop
(every call's audio and the AMI with it) because a session decoded all it had buffered in one go.
Real loopback TCP against a real server; every load loop is bounded in count and time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

import pytest
from helpers.asterisk_fixtures import audiosocket_bytes, audiosocket_summary
from test_ami_connection import FakeAmi
from test_asterisk_inbound import start

from sip.asterisk.audiosocket import (
    KIND_AUDIO,
    KIND_DTMF,
    KIND_UUID,
    AudioSocketServer,
    AudioSocketSession,
    encode,
)
from sip.asterisk.settings import settings_from_mapping

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def connect(port: int, payload: bytes = b"") -> Connection:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(encode(KIND_UUID, uuid.uuid4().bytes) + payload)
    await writer.drain()
    return reader, writer


async def read_to_end(reader: asyncio.StreamReader, timeout_s: float) -> bytes:
    """What the server sent before it closed (a close with our bytes unread arrives as a reset)."""
    data = b""
    async with asyncio.timeout(timeout_s):
        with contextlib.suppress(ConnectionResetError):
            while chunk := await reader.read(65536):
                data += chunk
    return data


async def test_connections_beyond_the_limit_are_closed_at_once_and_logged_once(
        caplog: pytest.LogCaptureFixture) -> None:
    sessions: asyncio.Queue[AudioSocketSession] = asyncio.Queue()
    server = AudioSocketServer(sessions.put_nowait, "127.0.0.1", 0, max_connections=3)
    await server.start()
    kept: list[Connection] = []
    extra: list[Connection] = []
    try:
        for _ in range(3):
            kept.append(await connect(server.port))
            await asyncio.wait_for(sessions.get(), 5)
        with caplog.at_level(logging.WARNING, logger="callpact.audiosocket"):
            for _ in range(5):
                extra.append(await connect(server.port))
            for reader, _writer in extra:
                assert await read_to_end(reader, 5) == b""          # closed, never served
            for reader, _writer in kept:                            # the first three still get audio
                assert (await asyncio.wait_for(reader.readexactly(1), 5))[0] == KIND_AUDIO
            assert sessions.empty()
            kept.pop()[1].close()                                   # a place frees up...
            for _ in range(100):
                if len(server.sessions) < 3:
                    break
                await asyncio.sleep(0.05)
            kept.append(await connect(server.port))                 # ... and is served again
            await asyncio.wait_for(sessions.get(), 5)
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len([w for w in warnings if "at its limit of 3" in w]) == 1
        assert len([w for w in warnings if "5 connection(s) were refused" in w]) == 1
    finally:
        for _reader, writer in kept + extra:
            writer.close()
        await server.close()


def test_the_default_limit_follows_the_servers_channels() -> None:
    base = {"servers": [{"secret": "s", "max_channels": 10}, {"secret": "s", "max_channels": 20}]}
    assert settings_from_mapping(base).audiosocket_limit == 60
    assert settings_from_mapping({**base, "audiosocket_max_connections": 7}).audiosocket_limit == 7
    with pytest.raises(ValueError, match="audiosocket_max_connections"):
        settings_from_mapping({**base, "audiosocket_max_connections": -1})


async def test_a_session_whose_uuid_belongs_to_no_call_is_hung_up_at_once() -> None:
    fake = FakeAmi(queue_originates=True)
    telephony = await start(fake)
    try:
        reader, writer = await connect(telephony.audiosocket.port)
        data = await read_to_end(reader, 3)          # it was held 5.5 s; now well under a second
        writer.close()
    finally:
        await telephony.close()
        await fake.close()
    assert data.endswith(b"\x00\x00\x00")            # our hangup message, then the close
    assert not telephony.audiosocket.sessions


async def test_twenty_dtmf_floods_do_not_stall_the_loop_and_a_real_call_gets_every_frame() -> None:
    flooders, frames_each = 20, 50_000
    sessions: asyncio.Queue[AudioSocketSession] = asyncio.Queue()
    server = AudioSocketServer(sessions.put_nowait, "127.0.0.1", 0)
    await server.start()
    loop = asyncio.get_running_loop()
    gaps: list[float] = []
    done = asyncio.Event()

    async def watch() -> None:
        last = loop.time()
        while not done.is_set():
            await asyncio.sleep(0.005)
            now = loop.time()
            gaps.append(now - last)
            last = now

    watcher = asyncio.create_task(watch())
    connections: list[Connection] = []
    real_uuid = audiosocket_summary("as_session_remote_bye")["directions"]["ast->server"]["uuid"]["as_string"]
    try:
        connections = [await connect(server.port) for _ in range(flooders)]
        real = await asyncio.open_connection("127.0.0.1", server.port)
        connections.append(real)
        got = [await asyncio.wait_for(sessions.get(), 10) for _ in range(flooders)]
        flood = encode(KIND_DTMF, b"5") * frames_each
        for _reader, writer in connections[:flooders]:      # all at once, as a coordinated attack would
            writer.write(flood)
        real[1].write(audiosocket_bytes("as_session_remote_bye"))
        await asyncio.gather(*(writer.drain() for _reader, writer in connections))
        got.append(await asyncio.wait_for(sessions.get(), 10))
        call = next(s for s in got if s.uuid == real_uuid)
        digit = await asyncio.wait_for(call.leg.read_dtmf(), 10)
        for _reader, writer in connections[:flooders]:
            writer.close()
        # A session ends on the close only after decoding everything sent before it.
        await asyncio.wait_for(asyncio.gather(*(s.ended for s in got if s is not call)), 30)
        real[1].close()
        await asyncio.wait_for(call.ended, 5)
        frames = []
        while (frame := await call.leg.read_frame()) is not None:
            frames.append(frame)
    finally:
        done.set()
        await watcher
        for _reader, writer in connections:
            writer.close()
        await server.close()
    assert digit == "7" and len(frames) == 250 and call.leg.frames_dropped == 0
    assert max(gaps) < 0.3, f"the event loop stalled for {max(gaps):.2f} s"
