"""Shared fixtures: a real redis-server for the whole test session, emptied between tests."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis

from dialer.store.redis_server import EmbeddedRedis, ensure_running, kill
from dialer.store.redis_store import Store


@pytest.fixture(scope="session")
def redis_server() -> Iterator[EmbeddedRedis]:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed: run `make setup` (the tests need a real Redis)")
    data_dir = Path(tempfile.mkdtemp(prefix="callpact-test-redis-"))
    server = ensure_running(data_dir)
    yield server
    kill(server)
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def redis_url(redis_server: EmbeddedRedis) -> str:
    client = redis.Redis(unix_socket_path=str(redis_server.socket_path))
    client.flushall()
    client.close()
    return redis_server.url


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[Store]:
    s = await Store.open(redis_url)
    yield s
    await s.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """A failing test against the real Asterisk shows the end of Asterisk's log, SIP trace included.

    Such failures are rare and timing-bound; without Asterisk's side of the call they can only be
    guessed at (this log found the stray-BYE one: tests/helpers/asterisk_testbed.py, STRAY_CALLS).
    """
    outcome = yield
    report = outcome.get_result()
    state = getattr(item, "funcargs", {}).get("asterisk")
    if report.failed and isinstance(state, dict) and state.get("dir_path"):
        log = Path(state["dir_path"]) / "log" / "messages.log"
        if log.exists():
            lines = log.read_text(errors="replace").splitlines()[-400:]
            report.sections.append(("asterisk log/messages.log (last 400 lines)", "\n".join(lines)))
