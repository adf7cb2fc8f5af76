"""The embedded redis-server as users meet it: one per data directory, on a socket nobody else owns.

Every server these tests start (ours or a "foreign" one) lives in a ``tmp_path`` data directory and is
killed by its PID at the end; servers are found through ``/proc`` (their working directory is the data
directory they were started in), so nothing outside the test is touched.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from dialer.core.errors import StoreUnavailable
from dialer.store.redis_server import _ping, ensure_running, kill, socket_path_for

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")

NOBODY = 65534


def servers_in(data_dir: Path) -> list[int]:
    """PIDs of the redis-server processes running in ``data_dir`` (``--dir`` makes it their cwd)."""
    want = data_dir.resolve()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            # comm, not exe: Debian's redis-server is a link to redis-check-rdb.
            name = (entry / "comm").read_text().strip()
            if name == "redis-server" and Path(os.readlink(entry / "cwd")) == want:
                found.append(int(entry.name))
    return found


def kill_servers_in(*data_dirs: Path) -> None:
    for data_dir in data_dirs:
        for pid in servers_in(data_dir):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(servers_in(d) for d in data_dirs):
        time.sleep(0.02)


@pytest.fixture
def private_tmp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A short temp root of our own, so these tests never touch the machine's real /tmp/callpact-<uid>."""
    base = Path(tempfile.mkdtemp(prefix="cp-", dir="/tmp"))
    monkeypatch.setattr(tempfile, "tempdir", str(base))
    yield base
    shutil.rmtree(base, ignore_errors=True)


def long_data_dir(tmp_path: Path) -> Path:
    data_dir = tmp_path / ("d" * 60) / ("e" * 60)
    assert len(str(data_dir / "redis.sock")) > 107
    return data_dir


# -- two commands at once ------------------------------------------------------------------------------

_COMMAND = textwrap.dedent("""
    import asyncio, json, sys, time
    from pathlib import Path
    from dialer.store.redis_store import Store

    async def main(data_dir, start_at):
        while time.time() < start_at:       # both processes past their imports: start at the same instant
            time.sleep(0.001)
        store = await Store.open(data_dir=Path(data_dir))
        await store.r.incr("commands")
        info = await store.r.info("server")
        print(json.dumps({"pid": info["process_id"], "started_here": store.embedded.started_here}))
        # No close: like a dialer still running, the server stays for the next command.

    asyncio.run(main(sys.argv[1], float(sys.argv[2])))
""")


def test_two_commands_started_at_once_share_one_server(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    dirs = [tmp_path / f"data{i}" for i in range(5)]
    try:
        for data_dir in dirs:
            start_at = str(time.time() + 1.5)
            procs = [subprocess.Popen([sys.executable, "-c", _COMMAND, str(data_dir), start_at],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                     for _ in range(2)]
            results = []
            for proc in procs:
                out, err = proc.communicate(timeout=60)
                assert proc.returncode == 0, err
                results.append(json.loads(out))
            running = servers_in(data_dir)
            assert len(running) == 1, (data_dir, running, results)
            assert {r["pid"] for r in results} == set(running)
            assert sorted(r["started_here"] for r in results) == [False, True]
            client = redis.Redis(unix_socket_path=str(socket_path_for(data_dir)))
            assert client.get("commands") == b"2"       # both writes reached the one server
            client.close()
    finally:
        kill_servers_in(*dirs)
    assert not any(servers_in(d) for d in dirs)


def test_a_command_killed_while_its_server_loads_leaves_that_server_to_the_next(tmp_path: Path) -> None:
    """kill -9 of the starting command frees the lock; the next command must wait, not start a second."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    n = 400_000     # an append-only file that takes redis-server a good while to load
    (data_dir / "appendonly.aof").write_bytes(b"".join(
        b"*3\r\n$3\r\nSET\r\n$%d\r\nk%d\r\n$1\r\nv\r\n" % (len(str(i)) + 1, i) for i in range(n)))
    starter = subprocess.Popen([sys.executable, "-c", "import sys; from pathlib import Path; "
                                "from dialer.store.redis_server import ensure_running; "
                                "ensure_running(Path(sys.argv[1]))", str(data_dir)])
    try:
        deadline = time.monotonic() + 30
        while not servers_in(data_dir):
            assert time.monotonic() < deadline and starter.poll() is None, "no redis-server started"
            time.sleep(0.005)
        starter.kill()
        starter.wait()
        sock = socket_path_for(data_dir)
        assert not _ping(sock), "the server answered already: the test needs a bigger file"
        server = ensure_running(data_dir)
        assert not server.started_here
        assert servers_in(data_dir) == [server.pid]
        client = redis.Redis(unix_socket_path=str(sock))
        assert client.dbsize() == n
        client.close()
    finally:
        starter.kill()
        kill_servers_in(data_dir)
    assert servers_in(data_dir) == []


# -- the socket of a long data directory -------------------------------------------------------------


def test_a_long_data_dir_gets_its_socket_in_a_private_directory(tmp_path: Path, private_tmp: Path) -> None:
    data_dir = long_data_dir(tmp_path)
    server = ensure_running(data_dir)
    try:
        sock_dir = server.socket_path.parent
        assert sock_dir == private_tmp / f"callpact-{os.getuid()}"
        st = os.lstat(sock_dir)
        assert st.st_uid == os.getuid() and st.st_mode & 0o777 == 0o700
        assert _ping(server.socket_path)
        assert ensure_running(data_dir).started_here is False     # the next command finds it again
    finally:
        kill(server)
        kill_servers_in(data_dir)


@pytest.mark.parametrize("case", ["world-writable", "someone else's", "a symlink"])
def test_an_unsafe_socket_directory_is_refused(tmp_path: Path, private_tmp: Path, case: str) -> None:
    sock_dir = private_tmp / f"callpact-{os.getuid()}"
    if case == "a symlink":
        (private_tmp / "elsewhere").mkdir(mode=0o700)
        sock_dir.symlink_to(private_tmp / "elsewhere")
    else:
        sock_dir.mkdir()
        sock_dir.chmod(0o777 if case == "world-writable" else 0o700)
        if case == "someone else's":
            os.chown(sock_dir, NOBODY, NOBODY)
    data_dir = long_data_dir(tmp_path)
    try:
        with pytest.raises(StoreUnavailable) as err:
            ensure_running(data_dir)
        message = str(err.value)
        assert "\n" not in message and str(sock_dir) in message
        assert servers_in(data_dir) == []
    finally:
        kill_servers_in(data_dir)


def start_foreign_server(home: Path, sock: Path) -> subprocess.Popen[bytes]:
    """Someone else's redis-server, listening where a careless callpact would look for its own."""
    home.mkdir(parents=True, exist_ok=True)
    args = ["--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "777", "--dir", str(home),
            "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(["redis-server", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not _ping(sock):
        assert time.monotonic() < deadline and proc.poll() is None, "the foreign server did not start"
        time.sleep(0.02)
    return proc


def test_a_foreign_server_on_the_old_predictable_socket_is_not_used(
        tmp_path: Path, private_tmp: Path) -> None:
    data_dir = long_data_dir(tmp_path)
    data_dir.mkdir(parents=True)
    digest = hashlib.sha1(str(data_dir.resolve()).encode()).hexdigest()[:16]
    old_guess = private_tmp / f"callpact-{digest}.sock"     # where callpact used to put it, in shared /tmp
    foreign = start_foreign_server(tmp_path / "foreign", old_guess)
    try:
        server = ensure_running(data_dir)
        assert server.started_here and server.socket_path != old_guess
        assert servers_in(data_dir) == [server.pid]
        kill(server)
        assert foreign.poll() is None and _ping(old_guess)        # still running: nobody sent it SHUTDOWN
    finally:
        foreign.kill()
        foreign.wait()
        kill_servers_in(data_dir)


def test_a_socket_owned_by_someone_else_in_the_expected_place_is_refused(
        tmp_path: Path, private_tmp: Path) -> None:
    data_dir = long_data_dir(tmp_path)
    sock = socket_path_for(data_dir)
    sock.parent.mkdir(mode=0o700)
    foreign = start_foreign_server(tmp_path / "foreign", sock)
    os.chown(sock, NOBODY, NOBODY)
    try:
        with pytest.raises(StoreUnavailable) as err:
            ensure_running(data_dir)
        assert "\n" not in str(err.value) and str(sock) in str(err.value)
        assert servers_in(data_dir) == []
        assert foreign.poll() is None and _ping(sock)             # left alone, not shut down or unlinked
    finally:
        foreign.kill()
        foreign.wait()
        kill_servers_in(data_dir)
