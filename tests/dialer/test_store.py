"""The Redis store against a real redis-server: hopper order, atomic claims, attempts closed once."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from decimal import Decimal
from typing import Any

import pytest

from dialer.core.errors import StoreUnavailable
from dialer.core.records import Debtor, DebtorState, DebtorStatus, Outcome
from dialer.core.virtual_time import real_io, run_virtual
from dialer.store.redis_store import AttemptStart, Store


def debtor(i: int, phones: tuple[str, ...] | None = None) -> Debtor:
    return Debtor(f"D{i:05d}", f"Debtor {i}", phones or (f"+316{i:08d}",), Decimal("10.00"))


async def seed(store: Store, n: int, due: float = 100.0, campaign: str = "c") -> None:
    await store.save_campaign(campaign, f"name: {campaign}\n")
    rows = [(debtor(i), due, float(i % 7)) for i in range(n)]
    for start in range(0, n, 1000):
        await store.upsert_debtors(campaign, rows[start:start + 1000])


async def test_claim_takes_due_debtors_best_priority_first_and_never_future_ones(store: Store) -> None:
    await store.save_campaign("c", "name: c\n")
    await store.upsert_debtors("c", [
        (debtor(1), 100.0, 5.0),
        (debtor(2), 100.0, 1.0),    # best priority among the due
        (debtor(3), 500.0, 0.0),    # best priority, but not due yet
        (debtor(4), 90.0, 3.0),
    ])
    first = await store.claim("c", 2, now=200.0)
    assert [c.debtor.debtor_id for c in first] == ["D00002", "D00004"]
    rest = await store.claim("c", 10, now=200.0)
    assert [c.debtor.debtor_id for c in rest] == ["D00001"]
    assert await store.claim("c", 10, now=200.0) == []
    later = await store.claim("c", 10, now=600.0)
    assert [c.debtor.debtor_id for c in later] == ["D00003"]


async def test_reimport_updates_data_but_keeps_state_and_hopper_place(store: Store) -> None:
    await store.save_campaign("c", "name: c\n")
    await store.upsert_debtors("c", [(debtor(1), 100.0, 0.0)])
    [claim] = await store.claim("c", 1, now=100.0)
    [aid] = await store.begin_attempts("c", [AttemptStart(claim, claim.debtor.phones[0], 101.0)])
    state = DebtorState()
    state.record_attempt(101.0)
    await store.finish_attempt("c", aid, "D00001", Outcome.BUSY, {"ended_at": 110.0}, state,
                               DebtorStatus.SCHEDULED, 1000.0, 0)
    changed = Debtor("D00001", "Debtor 1", ("+31612345678",), Decimal("99.95"))
    created = await store.upsert_debtors("c", [(changed, 50.0, 0.0)])
    assert created == 0
    found = await store.debtor("c", "D00001")
    assert found is not None
    stored, stored_state, status = found
    assert stored.amount_due == Decimal("99.95")
    assert stored_state.attempts == 1 and status == "scheduled"
    assert await store.claim("c", 1, now=999.0) == []          # still due at 1000, not at 50
    assert await store.phone_owners("c", ["+31612345678"]) == {"+31612345678": ["D00001"]}


async def test_an_attempt_is_open_from_before_the_call_until_finished_exactly_once(store: Store) -> None:
    await seed(store, 3)
    claims = await store.claim("c", 3, now=100.0)
    ids = await store.begin_attempts("c", [AttemptStart(c, c.debtor.phones[0], 100.5) for c in claims])
    assert len(set(ids)) == 3
    assert {a["attempt_id"] for a in await store.open_attempts("c")} == set(ids)
    state = DebtorState()
    state.record_attempt(100.5)
    args = ("c", ids[0], claims[0].debtor.debtor_id, Outcome.ABANDONED, {"ended_at": 130.0}, state,
            DebtorStatus.SCHEDULED, 100.0 + 72 * 3600, 0)
    assert await store.finish_attempt(*args) is True
    assert await store.finish_attempt(*args) is False          # a second close is refused
    stats = await store.stats("c")
    assert stats["outcome:abandoned"] == 1 and stats["abandoned"] == 1 and stats["live"] == 1
    assert stats["attempts"] == 3
    assert len(await store.open_attempts("c")) == 2
    rows = [row async for row in store.iter_attempts("c")]
    assert [r["attempt_id"] for r in rows] == ids
    assert rows[0]["outcome"] == "abandoned" and rows[0]["state"] == "closed"


async def test_only_a_dead_dialers_attempts_and_undialled_claims_are_orphans(
        store: Store, redis_url: str) -> None:
    await seed(store, 5)
    alive = await Store.open(redis_url, owner="alive-dialer")
    dead = await Store.open(redis_url, owner="dead-dialer")
    try:
        await alive.heartbeat()
        await dead.heartbeat()
        mine = await store.claim("c", 1, now=100.0)
        alive_claims = await alive.claim("c", 1, now=100.0)
        dead_claims = await dead.claim("c", 2, now=100.0)
        [own_aid] = await store.begin_attempts("c", [AttemptStart(mine[0], "+31600000000", 100.0)])
        await alive.begin_attempts("c", [AttemptStart(alive_claims[0], "+31600000001", 100.0)])
        [dead_aid] = await dead.begin_attempts("c", [AttemptStart(dead_claims[0], "+31600000002", 100.0)])
        stranded = dead_claims[1].debtor.debtor_id          # claimed, never dialled
        undialled_own = (await store.claim("c", 1, now=100.0))[0].debtor.debtor_id
        me = ({own_aid}, {mine[0].debtor.debtor_id})
        # Just claimed: our launch may still be writing its attempt. A minute later it is stranded.
        assert await store.orphan_candidates("c", *me, now=110.0) == ([], [])
        assert await store.orphan_candidates("c", *me, now=161.0) == ([], [undialled_own])
        await dead.r.delete("cp:proc:dead-dialer")            # as if its heartbeat expired
        open_ids, claimed = await store.orphan_candidates("c", *me, now=110.0, slice_size=2)
        assert open_ids == [dead_aid] and claimed == [stranded]   # a dead dialer's claims at once
        # A debtor being dialled by this process right now is never handed back.
        assert await store.orphan_candidates("c", set(), {undialled_own}, now=161.0) == (
            [dead_aid], [stranded])
    finally:
        await alive.close()
        await dead.close()


async def test_unreachable_redis_is_one_clear_error() -> None:
    with pytest.raises(StoreUnavailable) as err:
        await Store.open("redis://127.0.0.1:1/0")
    assert "Redis is unreachable" in str(err.value)
    assert "127.0.0.1:1" in str(err.value)


async def test_redis_url_password_is_not_shown_in_errors() -> None:
    with pytest.raises(StoreUnavailable) as err:
        await Store.open("redis://dialer:s3cret@127.0.0.1:1/0")
    assert "s3cret" not in str(err.value)


_CLAIMER = textwrap.dedent("""
    import asyncio, json, sys
    from dialer.store.redis_store import Store

    async def main(url):
        store = await Store.open(url)
        got = []
        while True:
            claims = await store.claim("c", 3, now=1000.0)
            if not claims:
                break
            got += [c.debtor.debtor_id for c in claims]
        await store.close()
        print(json.dumps(got))

    asyncio.run(main(sys.argv[1]))
""")


async def test_two_dialer_processes_never_claim_the_same_debtor(store: Store, redis_url: str) -> None:
    n = 6000
    await seed(store, n)
    procs = [
        await asyncio.create_subprocess_exec(sys.executable, "-c", _CLAIMER, redis_url,
                                             stdout=subprocess.PIPE)
        for _ in range(2)
    ]
    outputs = [json.loads((await asyncio.wait_for(p.communicate(), 120))[0]) for p in procs]
    a, b = (set(o) for o in outputs)
    assert len(outputs[0]) == len(a) and len(outputs[1]) == len(b)   # no repeats within a process
    assert not a & b, f"{len(a & b)} debtors claimed twice"
    assert len(a | b) == n                                          # and none lost
    assert min(len(a), len(b)) > n / 10                             # both really competed


def test_under_virtual_time_the_guarded_store_waits_for_redis_instead_of_jumping_over_it(
        redis_url: str) -> None:
    """The demo runs its store on a virtual clock (``io_guard=real_io``). While a reply is on its way
    the clock must not jump to the next timer: skipped-over waits run into the socket timeout
    ("Redis is unreachable") or let timers fire early. A reply that takes 0.2 s of real time costs
    about that much virtual time, not the next 1 s tick, and a prompt one costs none."""
    async def main() -> tuple[Any, float, float]:
        store = await Store.open(redis_url, io_guard=real_io)
        loop = asyncio.get_running_loop()

        async def ticker() -> None:         # a timer always pending, as in a running engine
            while True:
                await asyncio.sleep(1.0)

        tick = asyncio.ensure_future(ticker())
        try:
            start = loop.time()
            popped = await store.r.blpop(["cp:nothing"], timeout=0.2)   # the server answers after 0.2 s
            slow = loop.time() - start
            start = loop.time()
            for _ in range(50):
                await store.ping()
            prompt = loop.time() - start
            return popped, slow, prompt
        finally:
            tick.cancel()
            await store.close()

    popped, slow, prompt = run_virtual(main())
    assert popped is None
    assert 0.15 <= slow < 1.0
    assert prompt < 1.0


async def test_a_store_written_by_the_old_layout_keeps_its_call_history(store: Store, redis_url: str) -> None:
    """Before, a debtor's attempt list lived at ``cp:{c}:debtor:{id}:attempts``: it is still read, and
    importing a debtor whose id is that key's tail moves the list out of its way instead of failing."""
    import redis

    await store.save_campaign("c", "name: c\n")
    await store.upsert_debtors("c", [(debtor(1, ("+31612345678",)), 100.0, 0.0)])
    raw = redis.Redis.from_url(redis_url)
    raw.hset("cp:c:attempt:c-1", mapping={"attempt_id": "c-1", "debtor_id": "D00001", "dialled_at": "50"})
    raw.rpush("cp:c:debtor:D00001:attempts", "c-1")
    raw.close()

    async def history(debtor_id: str, number: str) -> list[str]:
        found = await store.callback_candidates("c", number, 0.0)
        return [a["attempt_id"] for d, _, rows in found if d.debtor_id == debtor_id for a in rows]

    assert await history("D00001", "+31612345678") == ["c-1"]
    newcomer = Debtor("D00001:attempts", "L", ("+31612345679",), Decimal("1"))
    assert await store.upsert_debtors("c", [(newcomer, 100.0, 0.0)]) == 1
    assert await history("D00001", "+31612345678") == ["c-1"]
    assert await history("D00001:attempts", "+31612345679") == []
    claimed = await store.claim("c", 5, now=200.0)
    assert sorted(c.debtor.debtor_id for c in claimed) == ["D00001", "D00001:attempts"]


async def test_beginning_attempts_on_a_damaged_key_writes_nothing(store: Store, redis_url: str) -> None:
    """Redis keeps what a script wrote before it failed: the check comes first, so nothing is half done."""
    import redis

    from dialer.store.redis_store import Keys

    await seed(store, 2)
    claims = await store.claim("c", 2, now=200.0)
    raw = redis.Redis.from_url(redis_url)
    raw.set(Keys("c").debtor_attempts(claims[1].debtor.debtor_id), "not a list")
    raw.close()
    with pytest.raises(redis.ResponseError):
        await store.begin_attempts("c", [AttemptStart(c, c.debtor.phones[0], 201.0) for c in claims])
    assert await store.open_attempts("c") == []
    assert "attempts" not in await store.stats("c")
    assert [attempt for _, _, attempt in await store.claimed_debtors("c")] == ["", ""]
