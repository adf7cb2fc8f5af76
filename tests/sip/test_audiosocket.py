"""AudioSocket framing and server, on byte streams recorded from a real Asterisk 22.10.1.

The server tests replay those recorded bytes over a real loopback TCP connection (Asterisk itself is
exercised by the slow integration tests).
"""

from __future__ import annotations

import asyncio
import math
import random
import struct

import pytest
from helpers.asterisk_fixtures import audiosocket_bytes, audiosocket_summary

from audio import convert
from dialer.core.media import FRAME_BYTES, SILENCE_FRAME
from sip.asterisk.audiosocket import (
    KIND_AUDIO,
    KIND_DTMF,
    KIND_HANGUP,
    KIND_UUID,
    AudioSocketServer,
    AudioSocketSession,
    FrameDecoder,
    encode,
    parse_uuid,
)


def decode_all(data: bytes, seed: int = 1) -> list[tuple[int, bytes]]:
    rng = random.Random(seed)
    decoder, out, pos = FrameDecoder(), [], 0
    while pos < len(data):
        step = rng.randint(1, 700)
        out += decoder.feed(data[pos:pos + step])
        pos += step
    assert decoder.pending == 0
    return out


def test_recorded_session_decodes_whatever_the_tcp_chunking() -> None:
    summary = audiosocket_summary("as_session_remote_bye")
    msgs = decode_all(audiosocket_bytes("as_session_remote_bye"))
    kinds = [k for k, _ in msgs]
    assert kinds.count(KIND_UUID) == 1 and kinds[0] == KIND_UUID
    assert kinds.count(KIND_AUDIO) == 250
    assert [chr(p[0]) for k, p in msgs if k == KIND_DTMF] == ["7"]
    assert parse_uuid(msgs[0][1]) == summary["directions"]["ast->server"]["uuid"]["as_string"]
    first_audio = next(p for k, p in msgs if k == KIND_AUDIO)
    assert struct.unpack("<8h", first_audio[:16])[:4] == (0, 5628, 7932, 5628)   # 1 kHz, little-endian


def test_ulaw_decoding_matches_g711() -> None:
    # The decoder the session uses for u-law frames labelled as slin.
    assert convert.decode(bytes([0xFF, 0x7F, 0x80, 0x00]), "ulaw") == struct.pack("<4h", 0, 0, 32124, -32124)


def test_encode_rejects_oversized_payloads() -> None:
    assert encode(KIND_HANGUP) == b"\x00\x00\x00"
    with pytest.raises(ValueError, match="65535"):
        encode(KIND_AUDIO, bytes(70000))


async def _server() -> tuple[AudioSocketServer, asyncio.Queue[AudioSocketSession]]:
    sessions: asyncio.Queue[AudioSocketSession] = asyncio.Queue()
    server = AudioSocketServer(sessions.put_nowait, "127.0.0.1", 0)
    await server.start()
    return server, sessions


async def _replay(server: AudioSocketServer,
                  data: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    for i in range(0, len(data), 4000):
        writer.write(data[i:i + 4000])
        await writer.drain()
    return reader, writer


async def _drain_leg(session: AudioSocketSession) -> list[bytes]:
    frames = []
    while (frame := await session.leg.read_frame()) is not None:
        frames.append(frame)
    return frames


async def test_server_turns_a_session_into_a_media_leg_and_tcp_close_into_hangup() -> None:
    server, sessions = await _server()
    try:
        summary = audiosocket_summary("as_session_remote_bye")
        _reader, writer = await _replay(server, audiosocket_bytes("as_session_remote_bye"))
        session = await asyncio.wait_for(sessions.get(), 5)
        assert session.uuid == summary["directions"]["ast->server"]["uuid"]["as_string"]
        digit = await asyncio.wait_for(session.leg.read_dtmf(), 5)
        writer.close()                         # Asterisk closes TCP on a remote BYE, no 0x00 frame
        end = await asyncio.wait_for(session.ended, 5)
        frames = await _drain_leg(session)
        assert digit == "7"
        assert end.reason == "tcp-closed"
        assert len(frames) == 250 and all(len(f) == FRAME_BYTES for f in frames)
        assert session.leg.closed
    finally:
        await server.close()


async def test_ulaw_labelled_as_slin_is_recognised_and_decoded() -> None:
    server, sessions = await _server()
    try:
        _reader, writer = await _replay(server, audiosocket_bytes("as_session_chan_dial_default_codec"))
        session = await asyncio.wait_for(sessions.get(), 5)
        await asyncio.wait_for(session.leg.read_dtmf(), 5)
        writer.close()
        await asyncio.wait_for(session.ended, 5)
        frames = await _drain_leg(session)
        assert len(frames) == 250 and all(len(f) == FRAME_BYTES for f in frames)
        # decoded audio is speech-like PCM, not byte noise: not every sample is near full scale
        samples = struct.unpack(f"<{FRAME_BYTES // 2}h", frames[10])
        assert max(abs(s) for s in samples) < 32767
    finally:
        await server.close()


async def test_outgoing_audio_goes_out_in_order_as_320_byte_frames_then_our_hangup() -> None:
    server, sessions = await _server()
    try:
        uuid_bytes = bytes(range(16))
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(encode(KIND_UUID, uuid_bytes))
        await writer.drain()
        session = await asyncio.wait_for(sessions.get(), 5)
        tone = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * n / 8000)))
                        for n in range(1600))                        # 200 ms = 10 frames
        session.leg.send(tone)
        got, decoder = [], FrameDecoder()
        while sum(1 for _, p in got if p != SILENCE_FRAME) < 10:
            got += decoder.feed(await asyncio.wait_for(reader.read(4096), 5))
        audio = [p for k, p in got if k == KIND_AUDIO and p != SILENCE_FRAME]
        assert all(k == KIND_AUDIO and len(p) == FRAME_BYTES for k, p in got)
        assert b"".join(audio) == tone
        await session.hangup()
        rest = b""
        while chunk := await asyncio.wait_for(reader.read(4096), 5):
            rest += chunk
        assert rest.endswith(b"\x00\x00\x00")
        assert session.ended.result().reason == "local-hangup"
        writer.close()
    finally:
        await server.close()


async def test_a_connection_that_does_not_start_with_a_uuid_is_refused() -> None:
    server, sessions = await _server()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(encode(KIND_AUDIO, SILENCE_FRAME))
        await writer.drain()
        reply = await asyncio.wait_for(reader.read(100), 5)
        assert reply == b"\x00\x00\x00"
        assert sessions.empty()
        writer.close()
    finally:
        await server.close()
