"""The raw audio of one answered call, as every real backend hands it over.

pjsua2 (an ``AudioMediaPort`` on pjmedia's clock) and Asterisk (AudioSocket
over TCP) both carry 8 kHz, 16-bit signed little-endian mono PCM in 20 ms
frames (160 samples, 320 bytes). A backend wraps each answered call's audio in
a :class:`MediaLeg`; the audio pipeline (``audio/``: prompt playback with
barge-in, in-band DTMF, answering-machine detection, voice activity and speech
recognition) works on a :class:`MediaLeg` only, so IVR flows behave the same
whichever backend carries the call.

Threading rule: every method here is called on the event loop. A backend whose
media arrives on another thread (pjmedia's clock thread) hands frames over with
``loop.call_soon_threadsafe(leg.frame_received, frame)`` and pulls outgoing
frames through :meth:`MediaLeg.next_outgoing_frame`, which is safe to call from
any thread (it only pops from a deque).
"""

from __future__ import annotations

import asyncio
import collections

SAMPLE_RATE = 8000
FRAME_MS = 20
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000      # 160
FRAME_BYTES = FRAME_SAMPLES * 2                     # 320
SILENCE_FRAME = bytes(FRAME_BYTES)


def split_frames(pcm: bytes) -> list[bytes]:
    """Cut PCM into whole 20 ms frames, padding the last one with silence."""
    if len(pcm) % 2:
        raise ValueError("16-bit PCM must have an even number of bytes")
    frames = [pcm[i:i + FRAME_BYTES] for i in range(0, len(pcm), FRAME_BYTES)]
    if frames and len(frames[-1]) < FRAME_BYTES:
        frames[-1] = frames[-1] + bytes(FRAME_BYTES - len(frames[-1]))
    return frames


class MediaLeg:
    """Both directions of one call's audio plus its out-of-band DTMF.

    Incoming: the backend calls :meth:`frame_received` per 20 ms frame from the
    far end, :meth:`dtmf_received` per RFC 4733 / SIP INFO digit, and
    :meth:`close` at hangup. Consumers read with :meth:`read_frame` and
    :meth:`read_dtmf`; both return None once the leg is closed and drained.

    Outgoing: consumers :meth:`send` PCM (any length; cut into frames here) and
    may :meth:`flush` what has not gone out yet (barge-in). The backend takes
    one frame per 20 ms tick with :meth:`next_outgoing_frame` (silence when
    nothing is queued), so pacing belongs to the backend's real clock.
    """

    #: Frames kept for a slow consumer before the oldest are dropped (10 s);
    #: a stalled analysis must never grow memory without bound.
    MAX_BUFFERED_FRAMES = 500

    def __init__(self, call_id: str) -> None:
        self.call_id = call_id
        self._incoming: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._dtmf: asyncio.Queue[str | None] = asyncio.Queue()
        self._outgoing: collections.deque[bytes] = collections.deque()
        self.closed = False
        self.frames_in = 0
        self.frames_dropped = 0
        self.frames_out = 0          # frames of real audio taken by the backend (not silence)

    # -- backend side ------------------------------------------------------------------------
    def frame_received(self, frame: bytes) -> None:
        if self.closed:
            return
        self.frames_in += 1
        if self._incoming.qsize() >= self.MAX_BUFFERED_FRAMES:
            self._incoming.get_nowait()
            self.frames_dropped += 1
        self._incoming.put_nowait(frame)

    def dtmf_received(self, digit: str) -> None:
        if not self.closed:
            self._dtmf.put_nowait(digit)

    def next_outgoing_frame(self) -> bytes:
        """One frame to send now; silence when nothing is queued. Any thread."""
        try:
            frame = self._outgoing.popleft()
        except IndexError:
            return SILENCE_FRAME
        self.frames_out += 1
        return frame

    def close(self) -> None:
        """The call ended: readers get None after what was already received."""
        if self.closed:
            return
        self.closed = True
        self._outgoing.clear()
        self._incoming.put_nowait(None)
        self._dtmf.put_nowait(None)

    # -- consumer side -----------------------------------------------------------------------
    async def read_frame(self) -> bytes | None:
        if self.closed and self._incoming.empty():
            return None
        return await self._incoming.get()

    async def read_dtmf(self) -> str | None:
        if self.closed and self._dtmf.empty():
            return None
        return await self._dtmf.get()

    def send(self, pcm: bytes) -> None:
        if self.closed:
            return
        self._outgoing.extend(split_frames(pcm))

    def flush(self) -> None:
        self._outgoing.clear()

    @property
    def queued_ms(self) -> int:
        """Outgoing audio not yet taken by the backend."""
        return len(self._outgoing) * FRAME_MS
