"""kill -9 of a dialer mid-campaign: nothing lost, nobody called too soon (real processes, real Redis)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.waiting import wait_for

from dialer.simulation.always_open import always_open_campaign
from dialer.simulation.debtor_generator import write_debtors_csv
from dialer.store.redis_server import kill
from dialer.store.redis_store import Store

pytestmark = pytest.mark.slow

CAMPAIGN = always_open_campaign(
    "crash", dial_mode="ratio", ratio=2.0, max_lines=20, calls_per_second=10,
    retry={"interrupted": "2h", "no_answer": "2h", "busy": "2h", "machine": "2h", "failed": "2h"})

CALLPACT = [sys.executable, "-m", "dialer.cli"]


def cli(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CALLPACT, "--data-dir", str(data), *args], capture_output=True, text=True,
                          timeout=60, check=False)


def start_dialer(data: Path, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, CALLPACT_HEARTBEAT_TTL="2")
    with log.open("ab") as fh:
        return subprocess.Popen([*CALLPACT, "--data-dir", str(data), "-v", "dialer", "--agents", "4",
                                 "--answer-prob", "0.7", "--seed", "3"], stdout=fh, stderr=fh, env=env)


async def test_kill_9_mid_campaign_loses_no_attempt_and_calls_nobody_too_soon(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (tmp_path / "crash.yaml").write_text(CAMPAIGN)
    write_debtors_csv(tmp_path / "debtors.csv", 150, seed=5, invalid_share=0.0)
    assert cli(data, "campaign", "load", str(tmp_path / "crash.yaml")).returncode == 0
    assert cli(data, "import", str(tmp_path / "debtors.csv"), "--campaign", "crash").returncode == 0
    assert cli(data, "campaign", "start", "crash").returncode == 0

    log = tmp_path / "dialer.log"
    first = start_dialer(data, log)
    store = await Store.open(data_dir=data)
    second = None
    try:
        async def open_attempts() -> list[dict[str, str]]:
            rows = await store.open_attempts("crash")
            return rows if len(rows) >= 5 else []

        before = await wait_for(open_attempts, 30, "calls in progress")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        orphaned = {r["attempt_id"] for r in await store.open_attempts("crash")}
        assert len(orphaned) >= len(before) - 2        # a few may have ended just before the kill
        attempts_at_crash = (await store.stats("crash"))["attempts"]

        second = start_dialer(data, log)

        async def reconciled() -> bool:
            rows = await store.attempts("crash", sorted(orphaned))
            return all(r["state"] == "closed" for r in rows)

        await wait_for(reconciled, 30, "the dead dialer's attempts to be reconciled")
        await asyncio.sleep(2)                          # let the new dialer place more calls
        assert cli(data, "campaign", "stop", "crash").returncode == 0
        second.send_signal(signal.SIGINT)               # stop launching
        await asyncio.sleep(0.5)
        second.send_signal(signal.SIGINT)               # hang up what is still up
        assert second.wait(timeout=30) == 0, log.read_text()[-3000:]

        rows = [r async for r in store.iter_attempts("crash")]
        stats = await store.stats("crash")
        assert len(rows) == stats["attempts"] >= attempts_at_crash
        assert all(r["state"] == "closed" and r["outcome"] for r in rows), "an attempt was left open"
        assert sum(v for k, v in stats.items() if k.startswith("outcome:")) == len(rows)
        by_id = {r["attempt_id"]: r for r in rows}
        for aid in orphaned:
            row = by_id[aid]
            assert row["outcome"] == "interrupted" and "reconciled" in row["detail"]
            later = [r for r in rows if r["debtor_id"] == row["debtor_id"]
                     and float(r["dialled_at"]) > float(row["dialled_at"])]
            assert not later, f"debtor {row['debtor_id']} was called again before its 2 h retry delay"
        assert (await store.hopper_sizes("crash", time.time()))["claimed"] == 0
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        await store.close()                             # the last client shuts the embedded Redis down
        if store.embedded is not None and not store.embedded.started_here:
            kill(store.embedded)                        # started by a dialer we killed: stop it by PID
