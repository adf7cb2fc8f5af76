"""A Redis outage longer than the engine retries loses no outcome (issue 22, point 9).

Each test starts its own redis-server in ``tmp_path``, stops it mid-day and starts it again on the
same data directory; only the server a test started is ever killed, by its PID.
"""

from __future__ import annotations

import asyncio
import csv
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis

from dialer.campaign import parse_campaign
from dialer.core.records import Debtor
from dialer.engine import CampaignEngine, Clock
from dialer.export import export_attempts
from dialer.outcome_journal import OutcomeJournal
from dialer.scheduling import first_due, priority_score
from dialer.simulation.always_open import always_open_campaign
from dialer.store.redis_server import EmbeddedRedis, ensure_running, kill
from dialer.store.redis_store import Store
from sip.distributions import Fixed
from sip.simulated import NetworkProfile, SimulatedAgents, SimulatedNetwork

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


async def wait_for(predicate: Callable[[], Awaitable[Any]], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


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

