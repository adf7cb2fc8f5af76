"""Readers for the recorded Asterisk traffic in tests/fixtures/asterisk/."""

from __future__ import annotations

import json
from pathlib import Path

from panoramisk.message import Message

from sip.asterisk.events import parse_stream

FIXTURES = Path(__file__).parents[1] / "fixtures" / "asterisk"


def ami_chunks(name: str, direction: str = "server->client",
               conn: int | None = None) -> list[tuple[float, str]]:
    out = []
    for line in (FIXTURES / "ami" / f"{name}.ami.jsonl").read_text().splitlines():
        row = json.loads(line)
        if row.get("dir") == direction and "data" in row and (conn is None or row["conn"] == conn):
            out.append((row["t"], row["data"]))
    return out


def ami_messages(name: str) -> list[tuple[float, Message]]:
    """Server->client messages with the time of the chunk that completed them."""
    out: list[tuple[float, Message]] = []
    buffered: list[str] = []
    for t, chunk in ami_chunks(name):
        buffered.append(chunk)
        text = "".join(buffered)
        complete, sep, rest = text.rpartition("\r\n\r\n")
        if not sep:
            continue
        out += [(t, m) for m in parse_stream([complete + sep])]
        buffered = [rest]
    return out


def audiosocket_bytes(name: str) -> bytes:
    return (FIXTURES / "audiosocket" / f"{name}.ast_to_server.bin").read_bytes()


def audiosocket_summary(name: str) -> dict:
    return json.loads((FIXTURES / "audiosocket" / f"{name}.summary.json").read_text())
