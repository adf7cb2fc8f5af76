"""The embedded Redis: a private ``redis-server`` that callpact starts and owns.

With no ``REDIS_URL`` configured every callpact command uses a Redis in its data
directory, listening only on a unix socket (mode 0700 directory, no TCP port),
with append-only persistence. The first command that finds no server running
starts one; later commands (``campaign status`` while a dialer runs) reuse it;
a command that exits as the server's last client shuts it down, so nothing is
left running behind the user's back. The server runs in its own session, so a
``kill -9`` of the dialer leaves it (and every attempt written to it) intact for
the restart to reconcile.

Commands started at the same moment take a lock file in the data directory
around the check-and-start, so exactly one of them starts the server and the
others wait for it: two servers on one append-only file would corrupt it. A
data directory whose path is too long for a unix socket gets its socket in a
private per-user directory (``$TMPDIR/callpact-<uid>``, mode 0700), never at a
name in the shared /tmp that another user could take first.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from dialer.core.errors import StoreUnavailable
from dialer.core.file_lock import try_lock

SOCKET_NAME = "redis.sock"
LOCK_NAME = "redis.lock"
# AF_UNIX paths are limited to 107 bytes on Linux.
_MAX_SOCKET_PATH = 100


def default_data_dir() -> Path:
    env = os.environ.get("CALLPACT_DATA_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "callpact"


def socket_path_for(data_dir: Path) -> Path:
    path = data_dir.resolve() / SOCKET_NAME
    if len(str(path)) <= _MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha1(str(data_dir.resolve()).encode()).hexdigest()[:16]
    return private_socket_dir() / f"{digest}.sock"


def private_socket_dir() -> Path:
    """Where the sockets of long data directories live: ours alone, so nobody can bind there first."""
    return Path(tempfile.gettempdir()) / f"callpact-{os.getuid()}"


def _ensure_private_dir(path: Path) -> None:
    """Create ``path`` mode 0700, or accept it only if it is a real directory of ours no one else can use.

    The name is predictable, so another user may have made it first (or made it a symlink to a place
    of theirs); a server found in such a directory could be theirs, so it is refused, not repaired.
    """
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        problem = "is not a directory (a symlink?)"
    elif st.st_uid != os.getuid():
        problem = f"belongs to uid {st.st_uid}, not to us (uid {os.getuid()})"
    elif st.st_mode & 0o077:
        problem = f"is accessible to other users (mode {stat.S_IMODE(st.st_mode):o})"
    else:
        return
    raise StoreUnavailable(f"refusing the socket directory {path}: it {problem}; remove it, "
                           "or use a shorter --data-dir")


def _check_socket_owner(sock: Path) -> None:
    """Refuse a socket some other user made: the server behind it is theirs, not this data directory's."""
    try:
        owner = os.lstat(sock).st_uid
    except FileNotFoundError:
        return
    if owner != os.getuid():
        raise StoreUnavailable(f"refusing the socket {sock}: it belongs to uid {owner}, not to us "
                               f"(uid {os.getuid()}); another user's redis-server may be listening there")


@contextlib.contextmanager
def _start_lock(data_dir: Path, timeout_s: float) -> Iterator[None]:
    """Hold the data directory's lock file, so one command at a time checks for a server and starts it
    (:func:`~dialer.core.file_lock.try_lock`: a crashed command never blocks the next, and the
    redis-server started under it does not keep it)."""
    deadline = time.monotonic() + timeout_s
    while (fd := try_lock(data_dir / LOCK_NAME)) is None:
        if time.monotonic() >= deadline:
            raise StoreUnavailable(f"another callpact command held {LOCK_NAME} for over "
                                   f"{timeout_s:.0f} s while starting redis-server", where=str(data_dir))
        time.sleep(0.02)
    try:
        yield
    finally:
        os.close(fd)  # releases the lock


@dataclass
class EmbeddedRedis:
    """Handle on the data directory's server; ``url`` is what clients connect to."""

    data_dir: Path
    socket_path: Path
    started_here: bool
    pid: int | None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"


def _ping(socket_path: Path) -> bool:
    if not socket_path.exists():
        return False
    try:
        client = redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1, socket_connect_timeout=1,
                             retry=Retry(NoBackoff(), 0))
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False


def ensure_running(data_dir: Path, *, startup_timeout_s: float = 15.0) -> EmbeddedRedis:
    """Reuse the data directory's server if it answers, otherwise start one."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        data_dir.chmod(0o700)
    sock = socket_path_for(data_dir)
    if sock.parent != data_dir.resolve():
        _ensure_private_dir(sock.parent)
    with _start_lock(data_dir, startup_timeout_s + 5):
        _check_socket_owner(sock)
        if _ping(sock):
            return EmbeddedRedis(data_dir, sock, started_here=False, pid=_read_pid(data_dir))
        pid = _server_running_in(data_dir)
        if pid is not None:
            found = _await_started(data_dir, sock, pid, startup_timeout_s)
            if found is not None:
                return found
        return _start(data_dir, sock, startup_timeout_s)


def _server_running_in(data_dir: Path) -> int | None:
    """The PID of a redis-server alive in ``data_dir`` that does not answer yet, per its pid file.

    A command killed while its server was still loading the AOF released the lock with the server
    running; starting a second one on the same AOF would corrupt it. redis-server writes its pid file
    before it loads, and ``--dir`` makes the data directory its working directory, which tells it
    from an unrelated process that reused a stale PID.
    """
    pid = _read_pid(data_dir)
    if pid is None:
        return None
    proc = Path(f"/proc/{pid}")
    try:
        alive = (proc / "comm").read_text().strip() == "redis-server"
        return pid if alive and Path(os.readlink(proc / "cwd")) == data_dir.resolve() else None
    except OSError:  # gone, a zombie, or no /proc: nothing to wait for
        return None


def _await_started(data_dir: Path, sock: Path, pid: int, startup_timeout_s: float) -> EmbeddedRedis | None:
    """The server ``pid`` once it answers; None if it exits first (then a new one may start)."""
    deadline = time.monotonic() + startup_timeout_s
    while time.monotonic() < deadline:
        if _ping(sock):
            return EmbeddedRedis(data_dir, sock, started_here=False, pid=pid)
        if _server_running_in(data_dir) != pid:
            return None
        time.sleep(0.02)
    raise StoreUnavailable(f"redis-server (pid {pid}) runs in this data directory but did not answer "
                           f"within {startup_timeout_s:.0f} s", where=str(data_dir))


def _start(data_dir: Path, sock: Path, startup_timeout_s: float) -> EmbeddedRedis:
    binary = shutil.which("redis-server")
    if binary is None:
        raise StoreUnavailable(
            "redis-server is not installed; install it (Debian: apt-get install redis-server, "
            "or run `make setup`) or point REDIS_URL at a running Redis"
        )
    with contextlib.suppress(FileNotFoundError):
        sock.unlink()
    log_path = data_dir / "redis.log"
    args = [
        binary,
        "--port", "0",
        "--unixsocket", str(sock),
        "--unixsocketperm", "700",
        "--dir", str(data_dir.resolve()),
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        "--save", "",
        "--daemonize", "no",
        "--pidfile", str((data_dir / "redis.pid").resolve()),
        "--logfile", str(log_path.resolve()),
        "--databases", "1",
    ]
    try:
        proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise StoreUnavailable(f"cannot start redis-server: {exc.strerror}") from None
    deadline = time.monotonic() + startup_timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = (proc.stderr.read().decode(errors="replace") if proc.stderr else "").strip()
            tail = _tail(log_path) or err
            raise StoreUnavailable(f"redis-server exited at start (code {proc.returncode}): {tail}",
                                   where=str(data_dir))
        if _ping(sock):
            if proc.stderr:
                proc.stderr.close()
            return EmbeddedRedis(data_dir, sock, started_here=True, pid=proc.pid, process=proc)
        time.sleep(0.02)
    proc.kill()
    raise StoreUnavailable(f"redis-server did not answer within {startup_timeout_s:.0f} s",
                           where=str(data_dir))


def shutdown_if_last(server: EmbeddedRedis, own_client_prefix: str) -> bool:
    """Shut the embedded server down if no other callpact process is connected to it.

    Connections are named ``callpact:<owner>``; ours share ``own_client_prefix``.
    Returns True if the server was shut down.
    """
    try:
        # No retries: the server closing the connection is the expected answer to SHUTDOWN.
        client = redis.Redis(unix_socket_path=str(server.socket_path), socket_timeout=5,
                             retry=Retry(NoBackoff(), 0))
        others = [
            c for c in client.client_list()
            if not str(c.get("name", "")).startswith(own_client_prefix) and c.get("cmd") != "client|list"
        ]
        if others:
            client.close()
            return False
        with contextlib.suppress(redis.ConnectionError):
            client.shutdown(save=False)  # AOF is fsynced by SHUTDOWN
        client.close()
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False
    _wait_gone(server)
    return True


def kill(server: EmbeddedRedis) -> None:
    """Stop the server by PID (tests and emergencies); only ever a PID we recorded, only while it answers."""
    if not _ping(server.socket_path):
        return
    pid = server.pid or _read_pid(server.data_dir)
    if pid:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    _wait_gone(server)


def _wait_gone(server: EmbeddedRedis, timeout_s: float = 10.0) -> None:
    if server.process is not None:  # our child: reap it, so no zombie is left behind
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.process.wait(timeout_s)
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and _ping(server.socket_path):
        time.sleep(0.02)


def _read_pid(data_dir: Path) -> int | None:
    try:
        return int((data_dir / "redis.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def _tail(path: Path, lines: int = 3) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return ""
