"""A Redis outage longer than the engine retries loses no outcome (issue 22, point 9).

Each test starts its own redis-server in ``tmp_path``, stops it mid-day and starts it again on the
same data directory; only the server a test started is ever killed, by its PID.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from helpers.waiting import wait_for

from dialer.campaign import parse_campaign
from dialer.core.records import Debtor, DebtorState, DebtorStatus, Outcome
from dialer.engine import CampaignEngine, Clock
from dialer.export import export_attempts
from dialer.outcome_journal import OutcomeJournal, PendingOutcome
from dialer.scheduling import first_due, priority_score
from dialer.simulation.always_open import always_open_campaign
from dialer.simulation.debtor_generator import write_debtors_csv
from dialer.store.port import AttemptStart
from dialer.store.redis_server import EmbeddedRedis, ensure_running, kill
from dialer.store.redis_store import Store
from sip.distributions import Fixed
from sip.simulated import NetworkProfile, SimulatedAgents, SimulatedNetwork

ROOT = Path(__file__).resolve().parents[2]
RETRY = {"interrupted": "2h", "no_answer": "2h", "busy": "2h", "machine": "2h", "failed": "2h",
         "abandoned": "72h"}


class Servers:
    """The redis-servers this test started, so that it stops those and no other.

    A connection of the test's own is kept open, so that a ``callpact`` command ending does not shut
    the server down as the last one using it.
    """

    def __init__(self, data: Path) -> None:
        self.data = data
        self.started: list[EmbeddedRedis] = []
        self.keeper: redis.Redis | None = None

    def start(self) -> EmbeddedRedis:
        server = ensure_running(self.data)
        self.started.append(server)
        self.keeper = redis.Redis(unix_socket_path=str(server.socket_path), client_name="test-keeper")
        self.keeper.ping()
        return server

    def stop(self) -> None:
        kill(self.started[-1])
        if self.keeper is not None:
            self.keeper.close()
            self.keeper = None


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    s = Servers(tmp_path / "data")
    yield s
    if s.keeper is not None:
        s.keeper.close()
    for server in s.started:
        if server.started_here:
            kill(server)


async def assert_every_attempt_has_one_outcome(store: Store, campaign: str, out: Path) -> dict[str, int]:
    stats = await store.stats(campaign)
    hopper = await store.hopper_sizes(campaign, time.time())
    assert hopper["open_attempts"] == 0 and hopper["claimed"] == 0
    await export_attempts(store, campaign, out)
    with out.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == stats["attempts"]
    assert all(r["outcome"] for r in rows)
    assert len({r["attempt_id"] for r in rows}) == len(rows)
    exported = Counter(r["outcome"] for r in rows)
    counted = {k.removeprefix("outcome:"): v for k, v in stats.items() if k.startswith("outcome:")}
    assert counted == dict(exported)          # each outcome counted once: no replay counted twice
    return stats


def test_a_redis_outage_longer_than_the_retries_loses_no_outcome(servers: Servers, tmp_path: Path) -> None:
    servers.start()
    text = always_open_campaign("outage", dial_mode="progressive", max_lines=20, calls_per_second=20,
                                retry=RETRY)
    cfg = parse_campaign(text, "test campaign")
    journal_dir = tmp_path / "journal"

    async def main() -> tuple[CampaignEngine, dict[str, int], bool]:
        store = await Store.open(servers.started[-1].url)
        journal = OutcomeJournal(journal_dir, store.owner)
        try:
            now = time.time()
            await store.save_campaign(cfg.name, text)
            rows = []
            for i in range(400):
                d = Debtor(f"D{i:04d}", f"Debtor {i}", (f"+316{i:08d}",), Decimal("25.00"))
                rows.append((d, first_due(d, cfg, now), priority_score(d, cfg)))
            await store.upsert_debtors(cfg.name, rows)
            await store.set_state(cfg.name, "running")
            profile = NetworkProfile(answer_prob=1.0, machine_share=0.3, busy_prob=0.1, failed_prob=0.0,
                                     setup_s=Fixed(0.0), ring_s=Fixed(0.4), amd_s=Fixed(0.0))
            net = SimulatedNetwork(profile, SimulatedAgents(8, Fixed(1.0), Fixed(0.0), seed=2), seed=2)
            await net.start()
            loop = asyncio.get_running_loop()
            started = loop.time()
            outage: list[float] = []

            def on_tick(engine: CampaignEngine) -> None:
                # Between launches, with calls in flight: stop Redis for 4 s, twice the retry window.
                if not outage and loop.time() - started > 2.0 and engine.calls_in_flight >= 5:
                    servers.stop()
                    outage.append(loop.time())
                    loop.call_later(4.0, servers.start)

            engine = CampaignEngine(store, net, cfg, clock=Clock(), tick_s=0.1, on_tick=on_tick,
                                    journal=journal, finish_retry_s=2.0)
            await asyncio.wait_for(engine.run(until_epoch=now + 13.0), timeout=60)
            await net.close()
            stats = await assert_every_attempt_has_one_outcome(store, cfg.name, tmp_path / "attempts.csv")
            return engine, stats, bool(outage)
        finally:
            journal.close()
            await store.close()

    engine, stats, stopped = asyncio.run(main())
    assert stopped
    assert engine.counters.journaled > 0           # the outage outlived the retries: it was exercised
    assert engine.counters.lost_writes == 0
    assert stats["attempts"] == engine.counters.attempts
    assert "outcome:interrupted" not in stats        # every real outcome survived, none reconciled
    assert not list(journal_dir.glob("*.jsonl"))      # replayed and removed


def callpact(data: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dialer.cli", "--data-dir", str(data), *args],
                          capture_output=True, text=True, timeout=60, check=False, env=env or cli_env())


def cli_env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT), CALLPACT_HEARTBEAT_TTL="2", CALLPACT_FINISH_RETRY_S="1")


def test_the_dialer_does_not_exit_0_while_outcomes_wait_in_its_journal(servers: Servers,
                                                                        tmp_path: Path) -> None:
    data = servers.data
    servers.start()
    (tmp_path / "c.yaml").write_text(always_open_campaign(
        "jc", dial_mode="ratio", ratio=2.0, max_lines=10, calls_per_second=10, ring_timeout="15s",
        retry=RETRY))
    write_debtors_csv(tmp_path / "debtors.csv", 60, seed=5, invalid_share=0.0)
    for args in (("campaign", "load", str(tmp_path / "c.yaml")),
                 ("import", str(tmp_path / "debtors.csv"), "--campaign", "jc"), ("campaign", "start", "jc")):
        done = callpact(data, *args)
        assert done.returncode == 0, done.stderr

    err = tmp_path / "dialer.err"
    with err.open("wb") as fh:    # nobody answers: every call ends by itself within the 15 s ring timeout
        proc = subprocess.Popen([sys.executable, "-m", "dialer.cli", "--data-dir", str(data), "dialer",
                                 "--answer-prob", "0", "--exit-when-stopped"],
                                stdout=subprocess.DEVNULL, stderr=fh, env=cli_env())

    async def scenario() -> None:
        store = await Store.open(servers.started[-1].url)
        try:
            async def calls() -> bool:
                return len(await store.open_attempts("jc")) >= 3
            await wait_for(calls, 30, "calls in progress")
        finally:
            await store.close()

    journal_dir = data / "journal"
    try:
        asyncio.run(scenario())
        servers.stop()
        proc.send_signal(signal.SIGINT)      # Ctrl-C: no new calls; those in progress end unrecorded

        deadline = time.monotonic() + 45
        while "wait for Redis" not in err.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, err.read_text()
            time.sleep(0.2)
        assert "wait for Redis" in err.read_text(), err.read_text()
        time.sleep(3)
        assert proc.poll() is None, err.read_text()     # still waiting, not exited 0
        (journal_file,) = journal_dir.glob("*.jsonl")
        waiting = journal_file.read_text().splitlines()
        assert waiting and str(journal_file) in err.read_text()
        assert journal_file.stat().st_mode & 0o777 == 0o600
        assert journal_dir.stat().st_mode & 0o777 == 0o700
        assert "+316" not in err.read_text()              # numbers are not logged

        proc.send_signal(signal.SIGINT)      # again: give up, and say where the outcomes wait
        assert proc.wait(timeout=15) not in (0, None)
        assert "replayed when a dialer next starts" in err.read_text()
        assert journal_file.read_text().splitlines() == waiting
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)

    servers.start()
    time.sleep(2.5)                           # the first dialer's heartbeat expires meanwhile
    assert callpact(data, "campaign", "stop", "jc").returncode == 0
    again = callpact(data, "dialer", "--exit-when-stopped")
    assert again.returncode == 0, again.stderr
    assert not list(journal_dir.glob("*.jsonl"))

    async def check() -> list[dict[str, str]]:
        store = await Store.open(servers.started[-1].url)
        try:
            await assert_every_attempt_has_one_outcome(store, "jc", tmp_path / "attempts.csv")
            return await store.attempts("jc", [json.loads(line)["attempt_id"] for line in waiting])
        finally:
            await store.close()

    rows = asyncio.run(check())
    journaled = {json.loads(line)["attempt_id"]: json.loads(line)["outcome"] for line in waiting}
    assert {r["attempt_id"]: r["outcome"] for r in rows} == journaled    # the real outcomes, not interrupted


async def test_a_journal_replayed_twice_or_after_a_reconcile_counts_each_outcome_once(
        store: Store, tmp_path: Path) -> None:
    await store.save_campaign("c", "name: c\n")
    await store.upsert_debtors("c", [(Debtor(f"D{i}", f"Debtor {i}", (f"+3161234567{i}",), Decimal("9")),
                                      100.0, 0.0) for i in range(2)])
    claims = await store.claim("c", 2, now=100.0)
    ids = await store.begin_attempts("c", [AttemptStart(c, c.debtor.phones[0], 100.5) for c in claims])
    state = DebtorState()
    state.record_attempt(100.5)

    def outcome(i: int, what: Outcome) -> PendingOutcome:
        return PendingOutcome("c", ids[i], claims[i].debtor.debtor_id, what, {"ended_at": 130.0}, state,
                              DebtorStatus.SCHEDULED, 7300.0, 0)

    # A reconcile (another dialer) closed the second attempt first: its first outcome stands.
    assert await outcome(1, Outcome.INTERRUPTED).record(store)
    dead = OutcomeJournal(tmp_path / "j", "dead-dialer")
    dead.append(outcome(0, Outcome.BUSY))
    dead.append(outcome(0, Outcome.BUSY))           # written twice (a replay cut short, then a crash)
    dead.append(outcome(1, Outcome.NO_ANSWER))
    with (tmp_path / "j" / "dead-dialer.jsonl").open("a") as fh:
        fh.write('{"campaign": "c", "attempt')      # torn by a crash before its fsync returned
    os.close(dead._lock_fd)                          # the process dies: its lock goes with it
    dead._lock_fd = None

    journal = OutcomeJournal(tmp_path / "j", "next-dialer")
    assert journal.adopt_orphans() == 3
    assert not (tmp_path / "j" / "dead-dialer.jsonl").exists()
    assert journal.path.stat().st_mode & 0o777 == 0o600 and (tmp_path / "j").stat().st_mode & 0o777 == 0o700
    assert await journal.replay(store) == 0
    assert not journal.path.exists()
    stats = await store.stats("c")
    assert stats["outcome:busy"] == 1 and stats["outcome:interrupted"] == 1
    assert "outcome:no-answer" not in stats
    rows = {r["attempt_id"]: r["outcome"] for r in await store.attempts("c", ids)}
    assert rows == {ids[0]: "busy", ids[1]: "interrupted"}
    assert await store.claimed_debtors("c") == []
    journal.close()
    assert not list((tmp_path / "j").iterdir())
