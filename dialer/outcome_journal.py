"""Outcomes the store could not take, kept on local disk until it can.

A call's outcome exists only in the dialer's memory until
:meth:`~dialer.store.port.CampaignStore.finish_attempt` has written it. When
Redis is away longer than the engine retries, the outcome would be lost and the
attempt left open (later closed as ``interrupted``, the debtor called again as
if nothing had happened). Instead each such outcome is appended, whole and
fsync'd, to an append-only JSON Lines file of this dialer process and replayed
when the store answers again (or by the next dialer started on the same
journal directory, if this one dies first).

Replay is idempotent because ``finish_attempt`` closes an attempt only once: a
record replayed twice, or one whose attempt was closed meanwhile by another
dialer's reconcile, is refused by the store and dropped here, counting nothing.

The files hold debtor ids and dialled numbers: the directory is 0700, each file
0600, and log lines name attempts only by id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dialer.core.file_lock import try_lock
from dialer.core.records import DebtorState, DebtorStatus, Outcome
from dialer.store.port import CampaignStore

__all__ = ["OutcomeJournal", "PendingOutcome", "default_journal_dir"]

log = logging.getLogger("callpact.journal")

_SUFFIX = ".jsonl"
_LOCK = ".lock"


def default_journal_dir(data_dir: Path | None, external_redis: bool) -> Path:
    """Beside the embedded Redis's data; for an external Redis, the user's state directory."""
    if data_dir is not None:
        return data_dir / "journal"
    if external_redis:
        base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
        return Path(base) / "callpact" / "journal"
    from dialer.store.redis_server import default_data_dir

    return default_data_dir() / "journal"


@dataclass(frozen=True)
class PendingOutcome:
    """Everything one ``finish_attempt`` call needs, so that replaying it needs nothing else."""

    campaign: str
    attempt_id: str
    debtor_id: str
    outcome: Outcome
    fields: dict[str, Any]
    state: DebtorState
    status: DebtorStatus
    due: float | None
    hour: int

    def to_line(self) -> str:
        return json.dumps({
            "campaign": self.campaign, "attempt_id": self.attempt_id, "debtor_id": self.debtor_id,
            "outcome": self.outcome.value, "fields": self.fields, "state": self.state.to_json(),
            "status": self.status.value, "due": self.due, "hour": self.hour,
        }, separators=(",", ":"), default=str) + "\n"

    @classmethod
    def from_line(cls, line: str) -> PendingOutcome:
        raw = json.loads(line)
        return cls(raw["campaign"], raw["attempt_id"], raw["debtor_id"], Outcome(raw["outcome"]),
                   dict(raw["fields"]), DebtorState.from_json(raw["state"]), DebtorStatus(raw["status"]),
                   raw["due"], int(raw["hour"]))

    async def record(self, store: CampaignStore) -> bool:
        return await store.finish_attempt(self.campaign, self.attempt_id, self.debtor_id, self.outcome,
                                          self.fields, self.state, self.status, self.due, self.hour)


class OutcomeJournal:
    """This process's journal: ``<owner>.jsonl`` in ``directory``, guarded by ``<owner>.lock``.

    The lock (``flock``, held while the process lives) is how another process tells a dead
    dialer's journal, which it may adopt, from a live one's, which it must leave alone.
    """

    def __init__(self, directory: Path, owner: str) -> None:
        self.directory = directory
        self.owner = owner
        self.path = directory / f"{owner}{_SUFFIX}"
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
        self._lock_fd = try_lock(directory / f"{owner}{_LOCK}")
        if self._lock_fd is None:
            raise RuntimeError(f"journal {self.path} is in use by another process")
        self._pending: list[PendingOutcome] = []
        self._fd: int | None = None
        self._replaying = asyncio.Lock()
        if self.path.exists():     # a process restarted with the same owner id: keep what it left
            self._pending = list(_read(self.path))

    @property
    def pending(self) -> int:
        """Outcomes written here and not yet in the store."""
        return len(self._pending)

    def append(self, item: PendingOutcome) -> None:
        """Write one outcome and fsync it; only then may the caller stop retrying the store."""
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            _fsync_dir(self.directory)
        os.write(self._fd, item.to_line().encode())   # one write of a whole line: O_APPEND keeps it whole
        os.fsync(self._fd)
        self._pending.append(item)

    def adopt_orphans(self) -> int:
        """Take over the journals of dialer processes that are gone; returns how many outcomes."""
        adopted = 0
        for other in sorted(self.directory.glob(f"*{_SUFFIX}")):
            owner = other.name.removesuffix(_SUFFIX)
            if owner == self.owner:
                continue
            lock_path = self.directory / f"{owner}{_LOCK}"
            fd = try_lock(lock_path)
            if fd is None:          # its process is alive and replays its own
                continue
            try:
                items = list(_read(other))
                for item in items:       # ours first, fsync'd, then theirs removed: a crash between
                    self.append(item)    # the two only replays some twice, which the store refuses
                other.unlink()
                with contextlib.suppress(FileNotFoundError):
                    lock_path.unlink()
                adopted += len(items)
                if items:
                    log.warning("adopted %d unrecorded outcome(s) of dialer %s from %s", len(items), owner,
                                self.directory)
            finally:
                os.close(fd)
        for lock_path in self.directory.glob(f"*{_LOCK}"):     # left by dialers killed with nothing waiting
            owner = lock_path.name.removesuffix(_LOCK)
            if owner != self.owner and not (self.directory / f"{owner}{_SUFFIX}").exists():
                fd = try_lock(lock_path)
                if fd is not None:
                    with contextlib.suppress(FileNotFoundError):
                        lock_path.unlink()
                    os.close(fd)
        return adopted

    async def replay(self, store: CampaignStore) -> int:
        """Write what waits here to the store, oldest first; returns how many are still waiting.

        Raises :class:`~dialer.core.errors.StoreUnavailable` if the store went away meanwhile;
        what was written by then is off the journal either way.
        """
        async with self._replaying:
            done: set[int] = set()
            try:
                for item in list(self._pending):
                    if await item.record(store):
                        log.info("attempt %s: journaled outcome %s recorded", item.attempt_id,
                                 item.outcome.value)
                    else:
                        log.warning("attempt %s: already closed in the store (replayed before, or closed "
                                    "by a reconcile); journaled outcome %s dropped", item.attempt_id,
                                    item.outcome.value)
                    done.add(id(item))
            finally:
                if done:
                    self._pending = [p for p in self._pending if id(p) not in done]
                    self._rewrite()
            return len(self._pending)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._lock_fd is not None:
            if not self._pending:
                with contextlib.suppress(FileNotFoundError):
                    (self.directory / f"{self.owner}{_LOCK}").unlink()
            os.close(self._lock_fd)
            self._lock_fd = None

    def _rewrite(self) -> None:
        """Replace the file by what still waits: written new, fsync'd, then renamed over the old one,
        so a crash leaves either file whole. Synchronous: no append can come in between."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if not self._pending:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            _fsync_dir(self.directory)
            return
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, "".join(p.to_line() for p in self._pending).encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        _fsync_dir(self.directory)


def _read(path: Path) -> Iterator[PendingOutcome]:
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield PendingOutcome.from_line(line)
            except (ValueError, KeyError, TypeError):
                # Only the last line can be torn (a crash mid-write, before its fsync returned, so its
                # call was still being retried): skipping it loses nothing that was promised.
                log.error("%s line %d is not a whole outcome record; skipped", path, n)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
