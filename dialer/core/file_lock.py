"""An exclusive lock on a file, held by an open descriptor: the one way callpact's processes take turns.

``flock`` belongs to the open file, so the kernel drops it when the holder exits, ``kill -9``
included: a crashed process never blocks the next, and whether a lock can be taken tells a live
holder from a dead one. The descriptor is close-on-exec (a child process, such as the redis-server
started under the lock, does not inherit and keep it) and the path is never followed as a symlink.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

__all__ = ["try_lock"]


def try_lock(path: Path) -> int | None:
    """The descriptor holding ``path``'s lock (the file made 0600 if new), or None if another process
    holds it. Closing the descriptor releases the lock."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd
