"""Real SIP peers for the pjsua2 tests and the benchmark: sipp with our scenarios, on loopback.

Every port is chosen free at run time; every sipp run is bounded (``-m`` calls and
``-timeout``), and its process is ended by PID if it outlives the test.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SCENARIOS = Path(__file__).parents[1] / "sipp"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_udp_range(size: int) -> int:
    """A start port with ``size`` consecutive free UDP ports (RTP ranges)."""
    for _ in range(50):
        start = free_udp_port()
        start -= start % 2
        if start + size > 65000:
            continue
        socks: list[socket.socket] = []
        try:
            for port in range(start, start + size):
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(sock)
                sock.bind(("127.0.0.1", port))
            return start
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise RuntimeError(f"no {size} consecutive free UDP ports")


def sipp_media_base(*, avoid: int) -> int:
    """A ``-mp`` base for sipp whose audio (base) and video (base + 2) ports are free and clear of ``avoid``.

    sipp binds its SIP port, then both media ports, at start and exits if one is taken: a base picked
    without looking at the SIP port put the video port on the SIP port itself one run in a few hundred.
    """
    for _ in range(50):
        base = free_udp_range(4)
        if not base <= avoid < base + 4:
            return base
    raise RuntimeError(f"no media ports clear of {avoid}")


def sipp_bound(port: int, media_base: int, transport: str = "udp") -> bool:
    """Whether sipp holds its SIP port and both media ports, i.e. it got past every bind at start."""
    return _port_taken(port, transport) and _port_taken(media_base) and _port_taken(media_base + 2)


def _port_taken(port: int, transport: str = "udp") -> bool:
    kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


@dataclass
class Sipp:
    """One running sipp."""

    process: subprocess.Popen[bytes]
    port: int
    workdir: Path

    def wait(self, timeout_s: float = 30.0) -> int:
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.stop()
            raise

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def errors(self) -> str:
        texts = [p.read_text(errors="replace")[-3000:] for p in self.workdir.glob("*_errors.log")]
        out = self.process.stdout.read().decode(errors="replace")[-3000:] if self.process.stdout else ""
        return "\n".join([*texts, out])


def scenario(name: str, workdir: Path, **values: str) -> Path:
    """A scenario template from tests/sipp with its @NAME@ placeholders filled in."""
    text = (SCENARIOS / name).read_text()
    for key, value in values.items():
        text = text.replace(f"@{key.upper()}@", value)
    left = re.findall(r"@[A-Z_]+@", re.sub(r"<!--.*?-->", "", text, flags=re.S))
    if left:
        raise ValueError(f"{name}: placeholders not filled: {sorted(set(left))}")
    path = workdir / name
    path.write_text(text)
    return path


def start_sipp(scenario_path: Path, workdir: Path, *, calls: int = 1, remote: str | None = None,
               timeout_s: int = 30, extra: tuple[str, ...] = (), transport: str = "udp") -> Sipp:
    """Start sipp on a free loopback port; returns once it listens."""
    binary = shutil.which("sipp")
    if binary is None:
        raise RuntimeError("sipp not found (apt-get install sip-tester)")
    port = free_udp_port()
    media_port = sipp_media_base(avoid=port)
    command = [binary, "-sf", str(scenario_path), "-i", "127.0.0.1", "-p", str(port), "-mp", str(media_port),
               "-m", str(calls), "-timeout", f"{timeout_s}s", "-timeout_error", "-nostdin", "-trace_err",
               "-max_socket", "2048", "-t", {"udp": "u1", "tcp": "t1"}[transport], *extra]
    if remote:
        command.append(remote)
    process = subprocess.Popen(command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    sipp = Sipp(process, port, workdir)
    deadline = time.monotonic() + 10
    while remote is None and not sipp_bound(port, media_port, transport):
        if process.poll() is not None or time.monotonic() > deadline:
            with contextlib.suppress(Exception):
                sipp.stop()
            raise RuntimeError(f"sipp did not start: {sipp.errors()}")
        time.sleep(0.05)
    return sipp
