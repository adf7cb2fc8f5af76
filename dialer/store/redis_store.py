"""Everything callpact keeps, in Redis: campaigns, debtors, the hopper, attempts, counters.

Layout (``{c}`` is the campaign name)::

    cp:campaigns                  set of campaign names
    cp:{c}:config                 the campaign YAML text (the source of truth)
    cp:{c}:control                hash: state (running/paused/stopped), version (bumped on every change)
    cp:{c}:debtor:{id}            hash: data (Debtor JSON), state (DebtorState JSON), status, prio,
                                  owner, attempt
    cp:{c}:phone_owners           hash: E.164 number -> JSON list of debtor ids (duplicates, callbacks)
    cp:{c}:phones                 legacy form of phone_owners (comma-separated ids), read and migrated
    cp:{c}:scheduled              zset: debtor id -> the instant it becomes due
    cp:{c}:ready                  zset: debtor id -> priority (lower first); due now, waiting for a line
    cp:{c}:claimed                zset: debtor id -> claim instant; owned by one dialer process
    cp:{c}:debtor_attempts:{id}   list: the debtor's latest 50 attempt ids, oldest first (callback routing)
    cp:{c}:attempt:{aid}          hash: one call attempt, its outcome and timestamps
    cp:{c}:attempts               list of attempt ids in the order they were created (export)
    cp:{c}:open                   zset: attempt id -> dial instant, for attempts not yet finished
    cp:{c}:stats                  hash: counters (attempts, outcome:*, ivr:* (flow outcomes), live, abandoned,
                                  debtors, status:*, callbacks, callbacks:*, callback_rule:*)
    cp:{c}:hourly                 hash: "<hour epoch>:live" / "<hour epoch>:abandoned" for rolling windows
    cp:{c}:callback:{call id}     hash: one inbound call back: routing rule, route, flow result, handled by
    cp:{c}:callbacks              list of inbound call ids in arrival order (export, review)
    cp:proc:{owner}               a dialer process's heartbeat (expires when the process dies)

The hopper is two sorted sets: ``scheduled`` orders by due time, ``ready`` by
priority among those already due. :meth:`Store.claim` promotes and pops in one
Lua script, so two dialer processes sharing a Redis can never claim the same
debtor. An attempt is written (:meth:`begin_attempts`) before its call is placed
and closed (:meth:`finish_attempt`, also atomic and only once) when it ends; what
a crash leaves open is found by :meth:`open_attempts` and reconciled.

A debtor id is whatever the user's list says, so nothing else may live under the prefix a debtor id
follows: ``cp:{c}:debtor:`` holds only debtor hashes, whatever the id (``K1:attempts`` too). A store
written before kept the attempt list at ``cp:{c}:debtor:{id}:attempts``, where the id ``K1:attempts``
collided with K1's list and stopped the dialer; such a list is still read (:meth:`callback_candidates`)
and moved to ``debtor_attempts`` when an import needs its key for a debtor. Redis does not roll back a
script that fails half way, so each script that writes checks the types of the keys it writes first.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import redis
import redis.asyncio as aioredis
from redis.asyncio.connection import Connection

from dialer.core.errors import NotFound, StoreUnavailable
from dialer.core.records import Debtor, DebtorState, DebtorStatus, Outcome
from dialer.store.port import AttemptStart, Claim, Control
from dialer.store.redis_server import EmbeddedRedis, ensure_running, shutdown_if_last

P = ParamSpec("P")
R = TypeVar("R")

CAMPAIGN_STATES = ("running", "paused", "stopped")


#: Wraps every wait on the Redis socket. The demo and tests that run real Redis on a virtual-time
#: loop pass :func:`dialer.core.virtual_time.real_io`, so the virtual clock does not jump over a reply
#: on its way; the store itself knows nothing of virtual time.
IOGuard = Callable[[], contextlib.AbstractContextManager[object]]


class _GuardedIOMixin:
    """Runs every wait on the Redis socket inside the class's ``io_guard()``."""

    io_guard: IOGuard

    async def connect(self, *args: Any, **kwargs: Any) -> Any:
        with self.io_guard():
            return await super().connect(*args, **kwargs)  # type: ignore[misc]

    async def send_packed_command(self, *args: Any, **kwargs: Any) -> Any:
        with self.io_guard():
            return await super().send_packed_command(*args, **kwargs)  # type: ignore[misc]

    async def read_response(self, *args: Any, **kwargs: Any) -> Any:
        with self.io_guard():
            return await super().read_response(*args, **kwargs)  # type: ignore[misc]


def _guarded(connection_class: type[Connection], io_guard: IOGuard) -> type[Connection]:
    """``connection_class`` (TCP or unix socket, as the URL chose) with its socket waits in ``io_guard``."""
    return type(f"Guarded{connection_class.__name__}", (_GuardedIOMixin, connection_class),
                {"io_guard": staticmethod(io_guard)})


def _redis_errors(func: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Turn a lost Redis link into one clear :class:`StoreUnavailable`."""

    @functools.wraps(func)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await func(*args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            store = args[0]
            raise StoreUnavailable(
                f"Redis is unreachable ({exc.__class__.__name__}: {exc})",
                where=getattr(store, "display_url", None),
            ) from None

    return wrapper


#: Lua: the reason ``key`` cannot take a value of type ``want`` (a Redis type name), or nil. Scripts check
#: before their first write: Redis runs the writes before a failing command and never undoes them.
_CHECK_TYPE_LUA = """
local function wrong_type(key, want)
  local t = redis.call('TYPE', key)['ok']
  if t ~= 'none' and t ~= want then return key .. ' holds a ' .. t .. ', not a ' .. want end
  return nil
end
"""

_CLAIM_LUA = """
local scheduled, ready, claimed = KEYS[1], KEYS[2], KEYS[3]
local now, n, owner, prefix, promote = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], tonumber(ARGV[5])
local due = redis.call('ZRANGEBYSCORE', scheduled, '-inf', now, 'LIMIT', 0, promote)
for _, id in ipairs(due) do
  local prio = redis.call('HGET', prefix .. id, 'prio') or '0'
  redis.call('ZADD', ready, prio, id)
  redis.call('ZREM', scheduled, id)
end
local out = {}
if n <= 0 then return out end
local popped = redis.call('ZPOPMIN', ready, n)
for i = 1, #popped, 2 do
  local id = popped[i]
  local key = prefix .. id
  if redis.call('TYPE', key)['ok'] == 'hash' then
    redis.call('ZADD', claimed, now, id)
    redis.call('HSET', key, 'status', 'claimed', 'owner', owner)
    local vals = redis.call('HMGET', key, 'data', 'state')
    out[#out + 1] = id
    out[#out + 1] = vals[1] or ''
    out[#out + 1] = vals[2] or ''
  end
end
return out
"""

_UPSERT_LUA = _CHECK_TYPE_LUA + """
-- KEYS: scheduled, phone_owners, stats, legacy phones
-- ARGV: debtor prefix, attempt list prefix, then per debtor: id, data, prio, due, phones (a JSON list)
local prefix, lprefix = ARGV[1], ARGV[2]
local scheduled, owners_key, stats, legacy = KEYS[1], KEYS[2], KEYS[3], KEYS[4]

-- Every check before the first write. A list where a debtor's hash goes is an attempt list of the old
-- layout (``debtor:{owner}:attempts``), moved to its owner's ``debtor_attempts`` key below.
local moves = {}
local problem = wrong_type(scheduled, 'zset') or wrong_type(owners_key, 'hash') or
                wrong_type(stats, 'hash') or wrong_type(legacy, 'hash')
local i = 3
while not problem and i <= #ARGV do
  local id = ARGV[i]
  local key = prefix .. id
  local t = redis.call('TYPE', key)['ok']
  if t == 'list' and string.sub(id, -9) == ':attempts' then
    local target = lprefix .. string.sub(id, 1, -10)
    problem = wrong_type(target, 'list')
    moves[#moves + 1] = {key, target}
  elseif t ~= 'none' and t ~= 'hash' then
    problem = key .. ' holds a ' .. t .. ', not a hash'
  end
  i = i + 5
end
if problem then return redis.error_reply('callpact: nothing imported: ' .. problem) end
for _, move in ipairs(moves) do
  local old = redis.call('LRANGE', move[1], 0, -1)
  for j = #old, 1, -1 do redis.call('LPUSH', move[2], old[j]) end
  redis.call('LTRIM', move[2], -50, -1)
  redis.call('DEL', move[1])
end

-- A number still in the legacy comma-separated hash moves to the JSON one the first time a debtor is
-- stored on it. Where the legacy text holds ``id`` itself (commas and all), that is one owner, not
-- several: re-importing a list therefore repairs what the old format split.
local function legacy_owners(num, id)
  local old = redis.call('HGET', legacy, num)
  if not old then return {} end
  redis.call('HDEL', legacy, num)
  local text, out = ',' .. old .. ',', {}
  local a, b = string.find(text, ',' .. id .. ',', 1, true)
  if a then
    out[1] = id
    text = string.sub(text, 1, a) .. string.sub(text, b + 1)
  end
  for o in string.gmatch(text, '[^,]+') do out[#out + 1] = o end
  return out
end

local created = 0
i = 3
while i <= #ARGV do
  local id, data, prio, due, nums = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local key = prefix .. id
  if redis.call('EXISTS', key) == 0 then
    redis.call('HSET', key, 'data', data, 'state', '', 'status', 'scheduled', 'prio', prio)
    redis.call('ZADD', scheduled, due, id)
    created = created + 1
  else
    redis.call('HSET', key, 'data', data, 'prio', prio)
  end
  for _, num in ipairs(cjson.decode(nums)) do
    local stored = redis.call('HGET', owners_key, num)
    local owners = stored and cjson.decode(stored) or legacy_owners(num, id)
    local found = false
    for _, o in ipairs(owners) do if o == id then found = true end end
    if not found then owners[#owners + 1] = id end
    if not stored or not found then redis.call('HSET', owners_key, num, cjson.encode(owners)) end
  end
  i = i + 5
end
redis.call('HINCRBY', stats, 'debtors', created)
return created
"""

_BEGIN_LUA = _CHECK_TYPE_LUA + """
-- KEYS: seq, attempts, open, stats; ARGV: campaign, owner, attempt prefix, debtor prefix,
-- attempt list prefix, then per attempt: debtor id, phone, attempt_no, queued_at, dialled_at
local campaign, owner, aprefix, dprefix, lprefix = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local n = (#ARGV - 5) / 5
local problem = wrong_type(KEYS[1], 'string') or wrong_type(KEYS[2], 'list') or
                wrong_type(KEYS[3], 'zset') or wrong_type(KEYS[4], 'hash')
for j = 0, n - 1 do
  local id = ARGV[6 + j * 5]
  problem = problem or wrong_type(dprefix .. id, 'hash') or wrong_type(lprefix .. id, 'list')
end
if problem then return redis.error_reply('callpact: no attempt written: ' .. problem) end
local last = redis.call('INCRBY', KEYS[1], n)
local ids = {}
for j = 0, n - 1 do
  local b = 6 + j * 5
  local aid = campaign .. '-' .. (last - n + 1 + j)
  redis.call('HSET', aprefix .. aid, 'attempt_id', aid, 'campaign', campaign, 'debtor_id', ARGV[b],
             'phone', ARGV[b + 1], 'attempt_no', ARGV[b + 2], 'owner', owner, 'state', 'open',
             'queued_at', ARGV[b + 3], 'dialled_at', ARGV[b + 4])
  redis.call('RPUSH', KEYS[2], aid)
  redis.call('ZADD', KEYS[3], ARGV[b + 4], aid)
  redis.call('HSET', dprefix .. ARGV[b], 'attempt', aid)
  redis.call('RPUSH', lprefix .. ARGV[b], aid)
  redis.call('LTRIM', lprefix .. ARGV[b], -50, -1)
  ids[#ids + 1] = aid
end
redis.call('HINCRBY', KEYS[4], 'attempts', n)
return ids
"""

_FINISH_LUA = _CHECK_TYPE_LUA + """
-- KEYS: attempt, debtor, open, claimed, scheduled, stats, hourly
-- ARGV[1]: JSON {aid, debtor_id, fields{}, state, status, due|null, outcome, live, abandoned, hour}
local a = cjson.decode(ARGV[1])
if redis.call('HGET', KEYS[1], 'state') ~= 'open' then return 0 end
local problem = wrong_type(KEYS[2], 'hash') or wrong_type(KEYS[3], 'zset') or wrong_type(KEYS[4], 'zset')
                or wrong_type(KEYS[5], 'zset') or wrong_type(KEYS[6], 'hash') or wrong_type(KEYS[7], 'hash')
if problem then return redis.error_reply('callpact: attempt left open: ' .. problem) end
local flat = {}
for k, v in pairs(a.fields) do flat[#flat + 1] = k; flat[#flat + 1] = tostring(v) end
redis.call('HSET', KEYS[1], 'state', 'closed', 'outcome', a.outcome, unpack(flat))
redis.call('ZREM', KEYS[3], a.aid)
redis.call('ZREM', KEYS[4], a.debtor_id)
redis.call('HSET', KEYS[2], 'state', a.state, 'status', a.status, 'owner', '', 'attempt', '')
if a.due ~= cjson.null then
  redis.call('ZADD', KEYS[5], a.due, a.debtor_id)
else
  redis.call('HINCRBY', KEYS[6], 'status:' .. a.status, 1)
end
redis.call('HINCRBY', KEYS[6], 'outcome:' .. a.outcome, 1)
if a.fields.ivr_outcome and a.fields.ivr_outcome ~= '' then
  redis.call('HINCRBY', KEYS[6], 'ivr:' .. a.fields.ivr_outcome, 1)
end
if a.live == 1 then
  redis.call('HINCRBY', KEYS[6], 'live', 1)
  redis.call('HINCRBY', KEYS[7], a.hour .. ':live', 1)
end
if a.abandoned == 1 then
  redis.call('HINCRBY', KEYS[6], 'abandoned', 1)
  redis.call('HINCRBY', KEYS[7], a.hour .. ':abandoned', 1)
end
return 1
"""


_ORPHANS_LUA = """
-- Which open attempts or claimed debtors might a dead dialer have left behind? Filtered here, in
-- Redis, one slice of a sorted set per call: shipping every id to Python and parsing it cost 100+
-- ms of the pacing loop per search at thousands of calls (docs/benchmarks.md), and one script over
-- everything would block Redis as long. Usually the answer is empty.
-- KEYS[1]: cp:{c}:open or cp:{c}:claimed
-- ARGV: 'open'|'claimed', attempt prefix, debtor prefix, this process's owner id, heartbeat prefix,
--       first rank, last rank, claims of this process older than this instant (score) count too
local kind, me, alive, out = ARGV[1], ARGV[4], {}, {}
local function is_alive(owner)
  if owner == me then return true end
  if alive[owner] == nil then alive[owner] = redis.call('EXISTS', ARGV[5] .. owner) == 1 end
  return alive[owner]
end
local slice = redis.call('ZRANGE', KEYS[1], ARGV[6], ARGV[7], 'WITHSCORES')
for i = 1, #slice, 2 do
  local id, score = slice[i], tonumber(slice[i + 1])
  if kind == 'open' then
    if not is_alive(redis.call('HGET', ARGV[2] .. id, 'owner') or '') then out[#out + 1] = id end
  else
    local row = redis.call('HMGET', ARGV[3] .. id, 'owner', 'attempt')
    local owner, attempt = row[1] or '', row[2] or ''
    -- A claim that never got its attempt: a dead dialer's, or ours when a Redis outage cut a launch
    -- short (only after a grace period: a launch in progress is between its claim and its attempt).
    if attempt == '' and ((owner == me and score < tonumber(ARGV[8])) or not is_alive(owner)) then
      out[#out + 1] = id
    end
  end
end
return {#slice / 2, out}
"""


class Keys:
    """Key names for one campaign (see the module docstring)."""

    def __init__(self, campaign: str) -> None:
        base = f"cp:{campaign}:"
        self.base = base
        self.callbacks = base + "callbacks"
        self.config = base + "config"
        self.control = base + "control"
        self.debtor_prefix = base + "debtor:"
        self.debtor_attempts_prefix = base + "debtor_attempts:"
        self.phone_owners = base + "phone_owners"
        self.legacy_phones = base + "phones"
        self.scheduled = base + "scheduled"
        self.ready = base + "ready"
        self.claimed = base + "claimed"
        self.attempt_prefix = base + "attempt:"
        self.attempts = base + "attempts"
        self.open = base + "open"
        self.stats = base + "stats"
        self.hourly = base + "hourly"
        self.seq = base + "seq"

    def debtor(self, debtor_id: str) -> str:
        return self.debtor_prefix + debtor_id

    def attempt(self, attempt_id: str) -> str:
        return self.attempt_prefix + attempt_id

    def debtor_attempts(self, debtor_id: str) -> str:
        return self.debtor_attempts_prefix + debtor_id

    def legacy_debtor_attempts(self, debtor_id: str) -> str:
        """Where a store written before ``debtor_attempts`` kept the list; a hash there is a debtor's."""
        return self.debtor_prefix + debtor_id + ":attempts"

    def callback(self, call_id: str) -> str:
        return self.base + "callback:" + call_id


def new_owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Store:
    """Async access to callpact's Redis. Open with :meth:`open`; close with :meth:`close`."""

    HEARTBEAT_TTL_S = 15

    def __init__(self, client: aioredis.Redis, owner: str, display_url: str,
                 embedded: EmbeddedRedis | None = None) -> None:
        self.r = client
        self.owner = owner
        self.display_url = display_url
        self.embedded = embedded
        # How long a dead dialer's attempts stay untouched before reconciliation may close them.
        self.heartbeat_ttl_s = int(os.environ.get("CALLPACT_HEARTBEAT_TTL", self.HEARTBEAT_TTL_S))
        self._claim = client.register_script(_CLAIM_LUA)
        self._upsert = client.register_script(_UPSERT_LUA)
        self._finish = client.register_script(_FINISH_LUA)
        self._begin = client.register_script(_BEGIN_LUA)
        self._orphans = client.register_script(_ORPHANS_LUA)

    # -- lifecycle -------------------------------------------------------------------------
    @classmethod
    async def open(cls, url: str | None = None, data_dir: Path | None = None,
                   owner: str | None = None, *, io_guard: IOGuard | None = None) -> Store:
        """Connect to ``url`` (or $REDIS_URL); with neither, to the embedded server in ``data_dir``.

        ``io_guard``: a context manager factory every socket wait runs in (see :data:`IOGuard`);
        None, as in production, for plain connections.
        """
        from dialer.store.redis_server import default_data_dir

        owner = owner or new_owner_id()
        url = url or os.environ.get("REDIS_URL") or None
        embedded = None
        if url is None:
            embedded = ensure_running(data_dir or default_data_dir())
            url = embedded.url
        display = _display_url(url)
        try:
            # A bounded pool where callers wait for a free connection: after a pause, hundreds of
            # calls ending at once must queue for Redis, not fail.
            pool = aioredis.BlockingConnectionPool.from_url(
                url, socket_timeout=10, socket_connect_timeout=5, client_name=f"callpact:{owner}",
                max_connections=64, timeout=30,
            )
            # Connections are made lazily; building one (no I/O) checks the options the URL gave now,
            # so a bad one (``ssl_cert_reqs=bogus``) is a one-line error here, not a traceback later.
            pool.connection_class(**pool.connection_kwargs)
        except (ValueError, redis.RedisError) as exc:
            raise StoreUnavailable(f"bad REDIS_URL: {exc}", where=display) from None
        if io_guard is not None:
            pool.connection_class = _guarded(pool.connection_class, io_guard)
        store = cls(aioredis.Redis(connection_pool=pool), owner, display, embedded)
        await store.ping()
        return store

    @_redis_errors
    async def ping(self) -> None:
        await self.r.ping()

    async def close(self) -> None:
        with contextlib.suppress(redis.ConnectionError, redis.TimeoutError, OSError):
            await self.r.delete(f"cp:proc:{self.owner}")
        await self.r.aclose()
        if self.embedded is not None:
            shutdown_if_last(self.embedded, f"callpact:{self.owner}")

    # -- processes ---------------------------------------------------------------------------
    @_redis_errors
    async def heartbeat(self, info: str = "") -> None:
        await self.r.set(f"cp:proc:{self.owner}", info or "alive", ex=self.heartbeat_ttl_s)

    @_redis_errors
    async def dialers_alive(self) -> list[str]:
        """Owner ids of dialer processes whose heartbeat has not expired."""
        return [k.decode().removeprefix("cp:proc:") async for k in self.r.scan_iter("cp:proc:*")]

    @_redis_errors
    async def is_alive(self, owner: str) -> bool:
        if owner == self.owner:
            return True
        return bool(await self.r.exists(f"cp:proc:{owner}"))

    # -- campaigns -------------------------------------------------------------------------
    @_redis_errors
    async def save_campaign(self, name: str, yaml_text: str) -> None:
        k = Keys(name)
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.sadd("cp:campaigns", name)
            pipe.set(k.config, yaml_text)
            pipe.hsetnx(k.control, "state", "stopped")
            pipe.hincrby(k.control, "version", 1)
            await pipe.execute()

    @_redis_errors
    async def campaign_text(self, name: str) -> str:
        text = await self.r.get(Keys(name).config)
        if text is None:
            raise NotFound(
                f"campaign {name!r} is not loaded; load it with `callpact campaign load FILE.yaml`"
            )
        return text.decode()

    @_redis_errors
    async def campaigns(self) -> list[str]:
        return sorted(m.decode() for m in await self.r.smembers("cp:campaigns"))

    @_redis_errors
    async def control(self, name: str) -> Control:
        raw = await self.r.hgetall(Keys(name).control)
        if not raw:
            raise NotFound(f"campaign {name!r} is not loaded")
        return Control(raw.get(b"state", b"stopped").decode(), int(raw.get(b"version", b"0")))

    @_redis_errors
    async def set_state(self, name: str, state: str) -> None:
        if state not in CAMPAIGN_STATES:
            raise ValueError(state)
        await self.campaign_text(name)
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.hset(Keys(name).control, "state", state)
            pipe.hincrby(Keys(name).control, "version", 1)
            await pipe.execute()

    # -- debtors ---------------------------------------------------------------------------------
    @_redis_errors
    async def upsert_debtors(self, campaign: str, rows: Sequence[tuple[Debtor, float, float]]) -> int:
        """Store (debtor, first due instant, priority) rows in one atomic step; returns how many are new.

        A debtor already stored keeps its state, status and place in the hopper;
        only its data (amount, numbers, fields) is replaced.
        """
        if not rows:
            return 0
        k = Keys(campaign)
        args: list[Any] = [k.debtor_prefix, k.debtor_attempts_prefix]
        for debtor, due, prio in rows:
            args += [debtor.debtor_id, debtor.to_json(), repr(prio), repr(due),
                     json.dumps(list(debtor.phones))]
        keys = [k.scheduled, k.phone_owners, k.stats, k.legacy_phones]
        return int(await self._upsert(keys=keys, args=args))

    @_redis_errors
    async def phone_owners(self, campaign: str, numbers: Sequence[str]) -> dict[str, list[str]]:
        """The ids of the debtors stored on each of ``numbers`` (numbers nobody has are left out).

        Owners are a JSON list, so an id may hold any character. A store written before that kept
        comma-separated ids in ``cp:{c}:phones``; a number found only there is read the old way (an id
        with a comma in it was already split when it was written) until an import migrates it.
        """
        if not numbers:
            return {}
        k = Keys(campaign)
        wanted = list(numbers)
        found = {n: json.loads(v) for n, v in zip(wanted, await self.r.hmget(k.phone_owners, wanted),
                                                   strict=True) if v}
        legacy = [n for n in wanted if n not in found]
        if legacy:
            values = await self.r.hmget(k.legacy_phones, legacy)
            found.update({n: v.decode().split(",") for n, v in zip(legacy, values, strict=True) if v})
        return {n: found[n] for n in wanted if n in found}

    @_redis_errors
    async def debtor(self, campaign: str, debtor_id: str) -> tuple[Debtor, DebtorState, str] | None:
        raw = await self.r.hmget(Keys(campaign).debtor(debtor_id), ["data", "state", "status"])
        if raw[0] is None:
            return None
        return Debtor.from_json(raw[0]), DebtorState.from_json(raw[1]), (raw[2] or b"").decode()

    # -- the hopper ----------------------------------------------------------------------------
    @_redis_errors
    async def claim(self, campaign: str, n: int, now: float, promote_limit: int = 2000) -> list[Claim]:
        """Atomically take up to ``n`` due debtors, best priority first."""
        k = Keys(campaign)
        flat = await self._claim(
            keys=[k.scheduled, k.ready, k.claimed],
            args=[repr(now), n, self.owner, k.debtor_prefix, promote_limit],
        )
        claims = []
        for i in range(0, len(flat), 3):
            claims.append(Claim(Debtor.from_json(flat[i + 1]), DebtorState.from_json(flat[i + 2]), now))
        return claims

    @_redis_errors
    async def next_due(self, campaign: str) -> float | None:
        """The earliest due instant in the hopper (now-ish if some are ready), None if empty."""
        k = Keys(campaign)
        if await self.r.zcard(k.ready):
            return 0.0
        first = await self.r.zrange(k.scheduled, 0, 0, withscores=True)
        return float(first[0][1]) if first else None

    @_redis_errors
    async def reschedule(self, campaign: str, debtor_id: str, due: float | None,
                         status: DebtorStatus = DebtorStatus.SCHEDULED) -> None:
        """Return a claimed debtor that was not dialled (outside its window, capped) to the hopper."""
        k = Keys(campaign)
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.zrem(k.claimed, debtor_id)
            if due is None:
                pipe.hset(k.debtor(debtor_id), mapping={"status": status.value, "owner": ""})
                pipe.hincrby(k.stats, f"status:{status.value}", 1)
            else:
                pipe.hset(k.debtor(debtor_id), mapping={"status": "scheduled", "owner": ""})
                pipe.zadd(k.scheduled, {debtor_id: due})
            await pipe.execute()

    @_redis_errors
    async def begin_attempts(self, campaign: str, starts: Sequence[AttemptStart]) -> list[str]:
        """Write attempts (state open) before their calls are placed; returns their ids."""
        if not starts:
            return []
        k = Keys(campaign)
        args: list[Any] = [campaign, self.owner, k.attempt_prefix, k.debtor_prefix, k.debtor_attempts_prefix]
        for start in starts:
            args += [start.claim.debtor.debtor_id, start.phone, start.claim.state.attempts + 1,
                     repr(start.claim.claimed_at), repr(start.dialled_at)]
        ids = await self._begin(keys=[k.seq, k.attempts, k.open, k.stats], args=args)
        return [i.decode() for i in ids]

    @_redis_errors
    async def update_attempt(self, campaign: str, attempt_id: str, fields: dict[str, Any]) -> None:
        await self.r.hset(Keys(campaign).attempt(attempt_id), mapping={k: str(v) for k, v in fields.items()})

    @_redis_errors
    async def finish_attempt(self, campaign: str, attempt_id: str, debtor_id: str, outcome: Outcome,
                             fields: dict[str, Any], state: DebtorState, status: DebtorStatus,
                             due: float | None, hour: int) -> bool:
        """Close an open attempt and move its debtor on, atomically. False if it was already closed."""
        k = Keys(campaign)
        payload = json.dumps({
            "aid": attempt_id,
            "debtor_id": debtor_id,
            "fields": {key: _field_text(v) for key, v in fields.items()},
            "state": state.to_json(),
            "status": status.value,
            "due": due,
            "outcome": outcome.value,
            "live": 1 if outcome.is_live_answer else 0,
            "abandoned": 1 if outcome is Outcome.ABANDONED else 0,
            "hour": str(hour),
        })
        done = await self._finish(
            keys=[k.attempt(attempt_id), k.debtor(debtor_id), k.open, k.claimed, k.scheduled, k.stats,
                  k.hourly],
            args=[payload],
        )
        return bool(done)

    # -- callers back ------------------------------------------------------------------------
    @_redis_errors
    async def callback_candidates(self, campaign: str, number: str, since: float
                                  ) -> list[tuple[Debtor, DebtorState, list[dict[str, str]]]]:
        """The debtors whose phones include ``number``, each with its attempts dialled at or after
        ``since`` (oldest first): what callback routing decides on."""
        owners = (await self.phone_owners(campaign, [number])).get(number, [])
        k = Keys(campaign)
        out = []
        for debtor_id in owners:
            found = await self.debtor(campaign, debtor_id)
            if found is None:
                continue
            ids = await self._debtor_attempt_ids(k, debtor_id)
            rows = await self._hgetall_many([k.attempt(a) for a in ids]) if ids else []
            recent = [r for r in rows if float(r.get("dialled_at") or 0) >= since]
            out.append((found[0], found[1], recent))
        return out

    async def _debtor_attempt_ids(self, k: Keys, debtor_id: str) -> list[str]:
        """The debtor's latest attempt ids, oldest first; those of a store in the old layout before."""
        legacy = k.legacy_debtor_attempts(debtor_id)
        async with self.r.pipeline(transaction=False) as pipe:
            pipe.type(legacy)
            pipe.lrange(k.debtor_attempts(debtor_id), 0, -1)
            kind, ids = await pipe.execute()
        if kind == b"list":
            ids = [*await self.r.lrange(legacy, 0, -1), *ids][-50:]
        return [a.decode() for a in ids]

    @_redis_errors
    async def record_callback(self, campaign: str, call_id: str, fields: dict[str, Any],
                              counters: Sequence[str]) -> None:
        """Keep one inbound call's routing decision and result, and bump its counters in ``stats``."""
        k = Keys(campaign)
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.hset(k.callback(call_id), mapping={key: _field_text(v) for key, v in fields.items()})
            pipe.rpush(k.callbacks, call_id)
            for name in counters:
                pipe.hincrby(k.stats, name, 1)
            await pipe.execute()

    async def iter_callbacks(self, campaign: str, batch: int = 1000) -> AsyncIterator[dict[str, str]]:
        k = Keys(campaign)
        start = 0
        while True:
            ids = await self._lrange(k.callbacks, start, start + batch - 1)
            if not ids:
                return
            for row in await self._hgetall_many([k.callback(c) for c in ids]):
                yield row
            start += batch

    # -- crash recovery -----------------------------------------------------------------------
    @_redis_errors
    async def orphan_candidates(self, campaign: str, mine: set[str], my_debtors: set[str], *,
                                now: float, own_claim_grace_s: float = 60.0, slice_size: int = 2000,
                                ) -> tuple[list[str], list[str]]:
        """Open attempts of dialers whose heartbeat expired, and claims that nobody is dialling.

        Our own attempts never count; our own claims only once they are ``own_claim_grace_s`` old
        without an attempt, and never those of ``my_debtors``. Redis filters one slice per round
        trip, so other commands (the pacing loop's) get their turn in between.
        """
        k = Keys(campaign)
        found: dict[str, list[str]] = {"open": [], "claimed": []}
        for kind, key in (("open", k.open), ("claimed", k.claimed)):
            first = 0
            while True:
                scanned, ids = await self._orphans(keys=[key], args=[
                    kind, k.attempt_prefix, k.debtor_prefix, self.owner, "cp:proc:",
                    first, first + slice_size - 1, repr(now - own_claim_grace_s)])
                found[kind] += [i.decode() for i in ids]
                if scanned < slice_size:
                    break
                first += slice_size
        return ([a for a in found["open"] if a not in mine],
                [d for d in found["claimed"] if d not in my_debtors])

    @_redis_errors
    async def attempts(self, campaign: str, attempt_ids: Sequence[str]) -> list[dict[str, str]]:
        k = Keys(campaign)
        return await self._hgetall_many([k.attempt(a) for a in attempt_ids])

    @_redis_errors
    async def open_attempts(self, campaign: str) -> list[dict[str, str]]:
        k = Keys(campaign)
        ids = [a.decode() for a in await self.r.zrange(k.open, 0, -1)]
        return await self._hgetall_many([k.attempt(a) for a in ids])

    @_redis_errors
    async def claimed_debtors(self, campaign: str, ids: Sequence[str] | None = None
                              ) -> list[tuple[str, str, str]]:
        """(debtor id, owner, open attempt id or '') for claimed debtors (all, or those given)."""
        k = Keys(campaign)
        if ids is None:
            ids = [d.decode() for d in await self.r.zrange(k.claimed, 0, -1)]
        async with self.r.pipeline(transaction=False) as pipe:
            for d in ids:
                pipe.hmget(k.debtor(d), ["owner", "attempt"])
            rows = await pipe.execute()
        return [(d, (o or b"").decode(), (a or b"").decode()) for d, (o, a) in zip(ids, rows, strict=True)]

    # -- reporting -----------------------------------------------------------------------------
    @_redis_errors
    async def stats(self, campaign: str) -> dict[str, int]:
        raw = await self.r.hgetall(Keys(campaign).stats)
        return {key.decode(): int(v) for key, v in raw.items()}

    @_redis_errors
    async def hopper_sizes(self, campaign: str, now: float) -> dict[str, int]:
        k = Keys(campaign)
        async with self.r.pipeline(transaction=False) as pipe:
            pipe.zcard(k.scheduled)
            pipe.zcount(k.scheduled, "-inf", now)
            pipe.zcard(k.ready)
            pipe.zcard(k.claimed)
            pipe.zcard(k.open)
            scheduled, due, ready, claimed, open_ = await pipe.execute()
        # "scheduled" is what waits for a later time; what is due already counts as due now.
        return {"scheduled": scheduled - due, "due_now": due + ready, "ready": ready, "claimed": claimed,
                "open_attempts": open_}

    @_redis_errors
    async def hourly_counts(self, campaign: str) -> dict[int, tuple[int, int]]:
        """hour epoch -> (live answers, abandoned)."""
        raw = await self.r.hgetall(Keys(campaign).hourly)
        out: dict[int, list[int]] = {}
        for key, value in raw.items():
            hour, kind = key.decode().split(":")
            slot = out.setdefault(int(hour), [0, 0])
            slot[0 if kind == "live" else 1] = int(value)
        return {h: (v[0], v[1]) for h, v in out.items()}

    async def iter_attempts(self, campaign: str, batch: int = 1000) -> AsyncIterator[dict[str, str]]:
        k = Keys(campaign)
        start = 0
        while True:
            ids = await self._lrange(k.attempts, start, start + batch - 1)
            if not ids:
                return
            for row in await self._hgetall_many([k.attempt(a) for a in ids]):
                yield row
            start += batch

    @_redis_errors
    async def _lrange(self, key: str, start: int, end: int) -> list[str]:
        return [a.decode() for a in await self.r.lrange(key, start, end)]

    @_redis_errors
    async def _hgetall_many(self, keys: Iterable[str]) -> list[dict[str, str]]:
        async with self.r.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hgetall(key)
            rows = await pipe.execute()
        return [{k.decode(): v.decode() for k, v in row.items()} for row in rows if row]


def _field_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _display_url(url: str) -> str:
    """The URL without its password, for messages.

    redis-py takes the password from the userinfo (``redis://user:pw@host``) or from the query
    (``?password=pw``); both are masked, everything else is shown as given so the user recognises it.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    rest, qmark, query = rest.partition("?")
    netloc, slash, path = rest.partition("/")
    if "@" in netloc:
        creds, host = netloc.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        netloc = f"{user + ':***@' if user else '***@'}{host}"
    if query:
        pairs = [pair.split("=", 1) for pair in query.split("&")]
        query = "&".join(f"{pair[0]}=***" if pair[0].lower() == "password" else "=".join(pair)
                         for pair in pairs)
    return f"{scheme}://{netloc}{slash}{path}{qmark}{query}"
