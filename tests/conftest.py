"""Shared fixtures: a real redis-server for the whole test session, emptied between tests."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis

from dialer.redis_server import EmbeddedRedis, ensure_running, kill
from dialer.store import Store


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
