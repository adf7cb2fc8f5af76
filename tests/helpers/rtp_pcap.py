"""RTP capture files (libpcap) that a SIP test peer replays as the far end's audio.

sipp's ``play_pcap_audio`` sends the RTP packets of a capture file with their
original timing. Writing the captures here, from PCM we choose (a spoken
greeting, silence, RFC 4733 digits), lets tests and the benchmark say exactly
what the far end "says" without shipping binary fixtures. Pure logic: bytes in,
bytes out.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass

from audio.convert import encode
from dialer.core.media import FRAME_BYTES, FRAME_SAMPLES, split_frames

PT_PCMA = 8
PT_TELEPHONE_EVENT = 101
_DTMF_EVENTS = {**{str(d): d for d in range(10)}, "*": 10, "#": 11, "A": 12, "B": 13, "C": 14, "D": 15}


@dataclass
class RtpStream:
    """Packets of one RTP stream, 20 ms apart, accumulated in order."""

    ssrc: int = 0x1234ABCD
    seq: int = 1000
    timestamp: int = 160_000
    at_s: float = 0.0
    packets: list[tuple[float, bytes]] | None = None

    def __post_init__(self) -> None:
        if self.packets is None:
            self.packets = []

    def _packet(self, pt: int, payload: bytes, marker: bool, timestamp: int) -> bytes:
        header = struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt, self.seq & 0xFFFF,
                             timestamp & 0xFFFFFFFF, self.ssrc)
        self.seq += 1
        return header + payload

    def audio(self, pcm: bytes) -> RtpStream:
        """Append PCM (8 kHz 16-bit mono) as 20 ms PCMA packets."""
        assert self.packets is not None
        for frame in split_frames(pcm):
            payload = encode(frame, "alaw")
            self.packets.append((self.at_s, self._packet(PT_PCMA, payload, False, self.timestamp)))
            self.timestamp += FRAME_SAMPLES
            self.at_s += 0.02
        return self

    def silence(self, seconds: float) -> RtpStream:
        return self.audio(bytes(FRAME_BYTES * max(1, round(seconds / 0.02))))

    def digit(self, digit: str, duration_ms: int = 160) -> RtpStream:
        """One RFC 4733 event: updates every 20 ms, then three end packets (as phones send it)."""
        assert self.packets is not None
        event = _DTMF_EVENTS[digit.upper()]
        start = self.timestamp
        steps = max(1, duration_ms // 20)
        for i in range(1, steps + 1):
            payload = struct.pack("!BBH", event, 10, i * FRAME_SAMPLES)
            self.packets.append((self.at_s, self._packet(PT_TELEPHONE_EVENT, payload, i == 1, start)))
            self.at_s += 0.02
        for _ in range(3):
            payload = struct.pack("!BBH", event, 0x80 | 10, steps * FRAME_SAMPLES)
            self.packets.append((self.at_s, self._packet(PT_TELEPHONE_EVENT, payload, False, start)))
        self.timestamp += steps * FRAME_SAMPLES
        self.at_s += 0.02
        return self


def _ipv4_checksum(header: bytes) -> int:
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def pcap_bytes(packets: Iterable[tuple[float, bytes]], src_port: int = 6000, dst_port: int = 6002) -> bytes:
    """A libpcap file of UDP datagrams (Ethernet/IPv4, 127.0.0.1), timestamps as given."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for at_s, payload in packets:
        udp = struct.pack("!HHHH", src_port, dst_port, 8 + len(payload), 0) + payload
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                         bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]))
        ip = ip[:10] + struct.pack("!H", _ipv4_checksum(ip)) + ip[12:]
        frame = bytes(6) + bytes(6) + b"\x08\x00" + ip + udp
        seconds = int(at_s)
        micros = round((at_s - seconds) * 1_000_000)
        out.append(struct.pack("<IIII", 1_700_000_000 + seconds, micros, len(frame), len(frame)) + frame)
    return b"".join(out)
