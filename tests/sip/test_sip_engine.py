"""The pacing engine driving real SIP calls (pjsua2 backend) into a trunk that refuses them all.

A 503 storm: every call fails, the backend pauses new calls once too many fail
in a row, and the engine keeps running and records one outcome per attempt,
with masked numbers in every log line. Real Redis, real sipp, real pjsua2.
"""

from __future__ import annotations

import asyncio
import logging
import time
from decimal import Decimal
from pathlib import Path

import pytest
from helpers.sip_peers import scenario, start_sipp
from test_sip_pjsua2 import config

from dialer.campaign import parse_campaign
from dialer.core.records import Debtor
from dialer.engine import CampaignEngine
from dialer.scheduling import first_due, priority_score
from dialer.simulation.always_open import always_open_campaign
from dialer.store.redis_store import Store
from sip.pjsua2.backend import Pjsua2Telephony, pjsua2_available

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not pjsua2_available(), reason="pjsua2 not built: run tools/build_pjsua2.sh"),
]

CAMPAIGN = always_open_campaign("storm", dial_mode="agentless", caller_id="+31201234567", max_lines=10,
                                calls_per_second=20, retry={"failed": "1h"})
DEBTORS = 30


async def test_503_storm_every_attempt_recorded_and_the_engine_keeps_running(
        tmp_path: Path, store: Store, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    cfg = parse_campaign(CAMPAIGN, "storm.yaml")
    await store.save_campaign(cfg.name, CAMPAIGN)
    now = time.time()
    rows = []
    for i in range(DEBTORS):
        debtor = Debtor(f"D{i:03d}", f"Debtor {i}", (f"+3161234{i:04d}",), Decimal("10.00"))
        rows.append((debtor, first_due(debtor, cfg, now), priority_score(debtor, cfg)))
    await store.upsert_debtors(cfg.name, rows)
    await store.set_state(cfg.name, "running")
    sipp = start_sipp(scenario("uas_503.xml", tmp_path), tmp_path, calls=DEBTORS)
    telephony = Pjsua2Telephony(config(sipp.port))
    await telephony.start()
    engine = CampaignEngine(store, telephony, cfg, tick_s=0.1)
    runner = asyncio.create_task(engine.run())
    try:
        async with asyncio.timeout(60):
            while engine.counters.finished < DEBTORS:
                assert not runner.done(), runner
                await asyncio.sleep(0.2)
    finally:
        engine.stop()
        await asyncio.wait_for(runner, 30)
        await telephony.close()
        sipp.stop()
    rows_out = [row async for row in store.iter_attempts(cfg.name)]
    assert len(rows_out) == DEBTORS                                  # one attempt each, none lost
    assert {row["outcome"] for row in rows_out} == {"failed"}
    details = [row.get("detail", "") for row in rows_out]
    assert any("SIP 503" in d for d in details)
    assert any("trunk failing every call" in d for d in details)     # the backend paused, said why
    assert len({row["debtor_id"] for row in rows_out}) == DEBTORS
    for record in caplog.records:                                   # no full number in any log line
        assert "+3161234" not in record.getMessage(), record.getMessage()
