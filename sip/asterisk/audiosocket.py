"""Asterisk AudioSocket: the call's audio both ways over TCP, as a :class:`dialer.core.media.MediaLeg`.

Asterisk is the TCP client: one connection per ``AudioSocket()`` (or ``Dial(AudioSocket/...)``) call.
Every message is ``kind (1 byte) | length (2 bytes, big-endian) | payload``. Asterisk sends the call's
UUID first (0x01, 16 *binary* bytes), then 0x10 audio (320 bytes of 8 kHz signed 16-bit
little-endian mono = 20 ms) as the RTP arrives, 0x03 DTMF (one ASCII digit, at the digit's end) and
0x00 hangup — but on a remote hangup it usually just closes the TCP connection. It accepts from us
only 0x00 and 0x10..0x18 audio: anything else hangs the call up. If neither side sends for 2 s,
Asterisk drops the call, so the server sends a frame every 20 ms, silence when there is nothing to say.

``Dial(AudioSocket/host:port/uuid)`` without ``/c(slin)`` sends 160-byte µ-law frames that are still
labelled 0x10; they are recognised by their size and decoded, with a warning naming the fix.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass

from audio.convert import decode
from dialer.core.media import FRAME_BYTES, FRAME_MS, MediaLeg

log = logging.getLogger("callpact.audiosocket")

KIND_HANGUP = 0x00
KIND_UUID = 0x01
KIND_SILENCE = 0x02
KIND_DTMF = 0x03
KIND_AUDIO = 0x10          # slin 8 kHz; 0x11..0x18 are higher rates, which callpact does not ask for
KIND_ERROR = 0xFF

HEADER = struct.Struct(">BH")
ULAW_FRAME_BYTES = FRAME_BYTES // 2


class AudioSocketError(Exception):
    """The peer broke the protocol (bad first message, oversized frame)."""


def encode(kind: int, payload: bytes = b"") -> bytes:
    if len(payload) > 0xFFFF:
        raise ValueError(f"AudioSocket payload of {len(payload)} bytes exceeds 65535")
    return HEADER.pack(kind, len(payload)) + payload


def hangup_message() -> bytes:
    return encode(KIND_HANGUP)


class FrameDecoder:
    """Bytes in arbitrary TCP chunks -> (kind, payload) messages."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self._buffer += data
        out: list[tuple[int, bytes]] = []
        while len(self._buffer) >= HEADER.size:
            kind, length = HEADER.unpack_from(self._buffer)
            end = HEADER.size + length
            if len(self._buffer) < end:
                break
            out.append((kind, bytes(self._buffer[HEADER.size:end])))
            del self._buffer[:end]
        return out

    @property
    def pending(self) -> int:
        return len(self._buffer)


def parse_uuid(payload: bytes) -> str:
    if len(payload) != 16:
        raise AudioSocketError(f"UUID message of {len(payload)} bytes (16 expected)")
    return str(uuidlib.UUID(bytes=payload))


@dataclass
class SessionEnd:
    reason: str                      # "remote-hangup", "tcp-closed", "local-hangup", "error: ..."


class AudioSocketSession:
    """One AudioSocket connection: its UUID, its MediaLeg, and how it ended."""

    def __init__(self, session_uuid: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 decoder: FrameDecoder) -> None:
        self.uuid = session_uuid
        self.leg = MediaLeg(session_uuid)
        self._reader = reader
        self._writer = writer
        self._decoder = decoder
        self.ended: asyncio.Future[SessionEnd] = asyncio.get_running_loop().create_future()
        self._warned_ulaw = False
        self._hangup_sent = False

    def rename(self, call_id: str) -> None:
        """Key the leg by the attempt id once the backend knows which call this is."""
        self.leg.call_id = call_id

    async def hangup(self) -> None:
        """End the AudioSocket: the dialplan continues after AudioSocket() (usually to Hangup())."""
        if self._hangup_sent or self.ended.done():
            return
        self._hangup_sent = True
        with contextlib.suppress(OSError, RuntimeError):
            self._writer.write(hangup_message())
            await self._writer.drain()
        self._finish("local-hangup")

    def _finish(self, reason: str) -> None:
        self.leg.close()
        if not self.ended.done():
            self.ended.set_result(SessionEnd(reason))
        with contextlib.suppress(Exception):
            self._writer.close()

    def _on_message(self, kind: int, payload: bytes) -> bool:
        """Handle one message from Asterisk; False when the session is over."""
        if kind == KIND_AUDIO:
            if len(payload) == ULAW_FRAME_BYTES:
                if not self._warned_ulaw:
                    self._warned_ulaw = True
                    log.warning("AudioSocket %s sends 160-byte frames: G.711 u-law labelled as slin; "
                                "decoding it (dial with AudioSocket/host:port/uuid/c(slin) to avoid this)",
                                self.uuid)
                payload = decode(payload, "ulaw")
            if payload:
                self.leg.frame_received(payload)
        elif kind == KIND_DTMF:
            if payload:
                self.leg.dtmf_received(chr(payload[0]))
        elif kind == KIND_HANGUP:
            self._finish("remote-hangup")
            return False
        elif kind == KIND_ERROR:
            self._finish(f"error: code {payload.hex() or 'none'}")
            return False
        return True

    async def run(self) -> SessionEnd:
        sender = asyncio.create_task(self._send_loop(), name=f"audiosocket-send-{self.uuid}")
        try:
            while not self.ended.done():
                data = await self._reader.read(4096)
                if not data:
                    self._finish("tcp-closed")
                    break
                for kind, payload in self._decoder.feed(data):
                    if not self._on_message(kind, payload):
                        break
                # read() returns at once while the stream holds buffered bytes, so without this a peer
                # flooding small frames (a 4-byte DTMF message: ~1000 per read) was decoded up to the
                # stream's 128 KiB buffer in one go, and 20 such peers in the same loop iteration.
                await asyncio.sleep(0)
        except (ConnectionError, OSError):
            self._finish("tcp-closed")
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            self._finish("tcp-closed")
        return self.ended.result()

    async def _send_loop(self) -> None:
        """One frame every 20 ms on an absolute schedule (no drift); silence keeps the call alive."""
        loop = asyncio.get_running_loop()
        period = FRAME_MS / 1000
        next_at = loop.time()
        try:
            while not self.ended.done():
                self._writer.write(encode(KIND_AUDIO, self.leg.next_outgoing_frame()))
                await self._writer.drain()
                next_at += period
                delay = next_at - loop.time()
                if delay < -5 * period:       # far behind (a stalled loop): start a new schedule
                    next_at = loop.time()
                    delay = 0
                await asyncio.sleep(max(0.0, delay))
        except (ConnectionError, OSError):
            self._finish("tcp-closed")


#: Called once per new session, after its UUID arrived (on the event loop).
SessionHandler = Callable[[AudioSocketSession], None]


class AudioSocketServer:
    """asyncio TCP server for Asterisk's AudioSocket; hands each session to ``handler``.

    At most ``max_connections`` connections are served at once (handshakes included): each one costs a
    task, buffers and a 20 ms send loop, and anyone who can reach the port can open them. Those beyond
    the limit are closed at once, with one log line when the limit is reached and one when the server
    is below it again, however many were refused in between.
    """

    #: How long a new connection may take to send its UUID.
    UUID_TIMEOUT_S = 5.0
    #: Without a configured limit (the Asterisk backend derives one from its servers' max_channels).
    DEFAULT_MAX_CONNECTIONS = 64

    def __init__(self, handler: SessionHandler, host: str = "127.0.0.1", port: int = 0, *,
                 max_connections: int = DEFAULT_MAX_CONNECTIONS) -> None:
        if max_connections <= 0:
            raise ValueError(f"max_connections must be positive, not {max_connections}")
        self.handler = handler
        self.host = host
        self.port = port
        self.max_connections = max_connections
        self._server: asyncio.Server | None = None
        self.sessions: dict[str, AudioSocketSession] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._refused = 0                 # connections refused since the limit was reached

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("AudioSocket server listening on %s:%d", self.host, self.port)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for session in list(self.sessions.values()):
            await session.hangup()
        if self._tasks:
            _done, pending = await asyncio.wait(set(self._tasks), timeout=2)
            for task in pending:
                task.cancel()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is None or len(self._tasks) >= self.max_connections:
            self._refuse(writer)
            return
        self._tasks.add(task)
        # A handler cancelled at shutdown ends quietly (asyncio would log the CancelledError).
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await self._serve(reader, writer)
        finally:
            self._tasks.discard(task)
            if self._refused and len(self._tasks) < self.max_connections:
                log.warning("AudioSocket server below its limit again; %d connection(s) were refused",
                            self._refused)
                self._refused = 0

    def _refuse(self, writer: asyncio.StreamWriter) -> None:
        if not self._refused:
            log.warning("AudioSocket server at its limit of %d connections; refusing new ones "
                        "(audiosocket_max_connections)", self.max_connections)
        self._refused += 1
        with contextlib.suppress(Exception):
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        decoder = FrameDecoder()
        try:
            first: list[tuple[int, bytes]] = []
            async with asyncio.timeout(self.UUID_TIMEOUT_S):
                while not first:
                    data = await reader.read(4096)
                    if not data:
                        raise AudioSocketError("connection closed before its UUID")
                    first = decoder.feed(data)
            kind, payload = first[0]
            if kind != KIND_UUID:
                raise AudioSocketError(f"first message is kind 0x{kind:02x}, not a UUID (0x01)")
            session = AudioSocketSession(parse_uuid(payload), reader, writer, decoder)
        except (AudioSocketError, TimeoutError, ValueError, OSError) as exc:
            log.warning("AudioSocket connection from %s rejected: %s", peer, exc)
            with contextlib.suppress(Exception):
                writer.write(hangup_message())
                writer.close()
            return
        self.sessions[session.uuid] = session
        for kind, payload in first[1:]:
            session._on_message(kind, payload)
        try:
            self.handler(session)
            end = await session.run()
            log.debug("AudioSocket %s ended: %s", session.uuid, end.reason)
        finally:
            if self.sessions.get(session.uuid) is session:
                del self.sessions[session.uuid]
