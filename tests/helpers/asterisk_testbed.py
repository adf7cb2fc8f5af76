"""Fixtures for tests against a real Asterisk (tools/asterisk-testbed) with sipp as the far ends."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.sip_peers import sipp_bound, sipp_media_base
from sip.asterisk.settings import AsteriskServer, AsteriskSettings

ROOT = Path(__file__).resolve().parents[2]
TESTBED = ROOT / "tools" / "asterisk-testbed"
SIPP_DIR = Path(__file__).parents[1] / "fixtures" / "asterisk" / "sipp"


def run_testbed(command: str, where: Path) -> dict:
    proc = subprocess.run([str(TESTBED), command, "--dir", str(where)], capture_output=True, text=True,
                          timeout=1800)
    if proc.returncode != 0:
        pytest.fail(f"asterisk-testbed {command} failed: {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else {}


@pytest.fixture(scope="session")
def asterisk() -> Iterator[dict]:
    """One real Asterisk for the session (built once into the cache), stopped by PID at the end."""
    if shutil.which("sipp") is None:
        pytest.fail("sipp is not installed (Debian package sip-tester): run `make setup`")
    where = Path(tempfile.mkdtemp(prefix="callpact-asterisk-"))
    state = run_testbed("start", where)
    state["dir_path"] = where
    yield state
    run_testbed("stop", where)
    shutil.rmtree(where, ignore_errors=True)


def settings_for(state: dict, **kw: object) -> AsteriskSettings:
    server = AsteriskServer(name="testbed", host="127.0.0.1", ami_port=state["ami_port"],
                            username=state["ami_user"], secret=state["ami_secret"],
                            dial="PJSIP/{digits}@trunk", max_channels=10, calls_per_second=10)
    return AsteriskSettings(servers=(server,), audiosocket_port=state["audiosocket_port"],
                            queues=("collections",), **kw)  # type: ignore[arg-type]


#: Calls a far-end sipp (server mode) may lose to stray requests before the one it is there for.
#: sipp makes a call of every request whose Call-ID it does not know, and Asterisk goes on
#: retransmitting the BYE of a previous test's call for 32 s after that test's sipp is gone (about
#: ten times a dialog). Each such call fails at once and counts toward ``-m``: with ``-m 1`` sipp
#: was quitting, and ignored the INVITE, before the test's own call arrived (seen in CI: "cause 19
#: sip 480", no answer, and the Asterisk log's INVITE retransmitted to a sipp that never replied).
STRAY_CALLS = 100


class Sipp:
    """One sipp process playing a scenario from tests/fixtures/asterisk/sipp (bounded: -m calls, -timeout)."""

    def __init__(self, scenario: str, *, port: int, remote: str | None = None, service: str = "",
                 calls: int = 1, timeout_s: int = 40) -> None:
        self.media_base = sipp_media_base(avoid=port)
        most = calls if remote else calls + STRAY_CALLS      # (a client only counts the calls it places)
        args = ["sipp", "-sf", f"{scenario}.xml", "-i", "127.0.0.1", "-p", str(port), "-m", str(most),
                "-mi", "127.0.0.1", "-mp", str(self.media_base), "-nostdin", "-timeout", f"{timeout_s}s",
                "-timeout_error", "-max_recv_loops", "1000"]
        if service:
            args += ["-s", service]
        if remote:
            args.append(remote)
        self.args = args
        self.port = port
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> Sipp:
        self.proc = await asyncio.create_subprocess_exec(
            *self.args, cwd=SIPP_DIR, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        # Asterisk must not send before sipp listens (an early INVITE fails the call), and sipp exits if a
        # media bind fails after its SIP port is up: wait until it holds all three.
        for _ in range(200):
            if self.proc.returncode is not None:
                break
            if sipp_bound(self.port, self.media_base):
                return self
            await asyncio.sleep(0.05)
        stderr = (await self.proc.stderr.read()).decode(errors="replace") if self.proc.stderr else ""
        raise RuntimeError(f"sipp {self.args[2]} did not start listening on {self.port}: {stderr[-500:]}")

    async def wait(self, timeout_s: float = 45) -> int:
        assert self.proc is not None
        await asyncio.wait_for(self.proc.wait(), timeout_s)
        return self.proc.returncode or 0

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            await self.proc.wait()


def messages_log_size(state: dict) -> int:
    """Where the testbed's messages.log ends now: a test reads the SIP traffic of its own calls from here."""
    log = Path(state["dir"]) / "log" / "messages.log"
    return log.stat().st_size if log.exists() else 0


def sip_sent(state: dict, since: int, port: int) -> list[str]:
    """Every SIP message Asterisk sent to 127.0.0.1:``port`` after offset ``since`` of messages.log.

    The testbed logs each message (pjsip debug) as one log entry: a ``[date] VERBOSE...`` line that
    says ``<--- Transmitting SIP ... to UDP:host:port --->``, then the message's own lines.
    """
    log = Path(state["dir"]) / "log" / "messages.log"
    with log.open("rb") as f:
        f.seek(since)
        text = f.read().decode(errors="replace")
    entries = re.split(r"\n(?=\[\d{4}-\d\d-\d\d )", text)
    wanted = f"to UDP:127.0.0.1:{port} --->"
    return [entry.split("--->", 1)[1] for entry in entries
            if "<--- Transmitting SIP" in entry and wanted in entry]
