"""A content-addressed render cache on disk: the same words in the same voice are synthesised once.

The key is a SHA-256 over everything that changes the sound: engine, voice and its
options, engine version, the normalised text, sample rate, format and loudness target.
A new espeak-ng release or another piper model therefore misses instead of replaying
stale audio. Files are written to a temporary name and renamed into place, so a crash
or a concurrent writer (two workers, two dialer processes sharing the directory) never
leaves half a prompt for a caller to hear. ``max_bytes`` bounds the directory; the
least recently used entries go first (a hit refreshes the file's modification time);
:meth:`RenderCache.prune` removes entries unused for ``max_age_s``, and a :class:`CachePruner`
(which :class:`audio.prompts.PromptRenderer` starts) runs it when the renderer starts and every hour
after, so that a long-running dialer keeps no render longer than about ``max_age_s`` plus an hour.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from audio.tts import TTSError

_SUFFIX = ".audio"

#: How often a :class:`CachePruner` looks for stale renders: an hour beyond the maximum age is a small
#: share of any sensible retention period, and walking the directory more often buys nothing.
PRUNE_INTERVAL_S = 3600.0

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderKey:
    engine_key: str          # Engine.key(): engine, voice, options, version
    text: str                # the normalised text that was spoken
    sample_rate: int
    fmt: str                 # pcm16, ulaw, alaw
    level_dbfs: float | None

    def digest(self) -> str:
        fields = [self.engine_key, self.text, self.sample_rate, self.fmt, self.level_dbfs]
        return hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CacheStats:
    entries: int
    bytes: int
    hits: int
    misses: int
    evictions: int

    @property
    def hit_rate(self) -> float:
        asked = self.hits + self.misses
        return self.hits / asked if asked else 0.0


class RenderCache:
    """Rendered audio by :class:`RenderKey`, one file per entry under ``directory``."""

    def __init__(self, directory: str | Path, *, max_bytes: int | None = None,
                 max_age_s: float | None = None) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s
        self._bytes_estimate: int | None = None    # running total, so a write need not walk the directory
        self.hits = 0
        self.misses = 0
        self.evictions = 0
        self._lock = threading.Lock()
        try:
            # Rendered prompts hold debtors' names and amounts: only our user may list or read them
            # (each file is written 0600 by mkstemp; a directory we create is 0700).
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise TTSError(f"cannot create the TTS cache directory {self.directory}: {exc.strerror}") \
                from None

    def _path(self, key: RenderKey) -> Path:
        digest = key.digest()
        return self.directory / digest[:2] / f"{digest}{_SUFFIX}"

    def get(self, key: RenderKey) -> bytes | None:
        path = self._path(key)
        try:
            data = path.read_bytes()
        except OSError:                               # absent, or unreadable: render it again
            data = None
        if data is not None and key.fmt == "pcm16" and len(data) % 2:
            path.unlink(missing_ok=True)              # damaged on disk (not by us: writes are atomic)
            data = None
        if data is None:
            with self._lock:
                self.misses += 1
            return None
        with contextlib.suppress(OSError):
            os.utime(path)                          # recently used: evicted last
        with self._lock:
            self.hits += 1
        return data

    def put(self, key: RenderKey, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=_SUFFIX)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        if self.max_bytes is not None:
            with self._lock:
                if self._bytes_estimate is None:
                    self._bytes_estimate = sum(size for _, size, _ in self._entries())
                else:
                    self._bytes_estimate += len(data)
                over = self._bytes_estimate > self.max_bytes
            if over:
                self._evict(keep=path)

    def __contains__(self, key: RenderKey) -> bool:
        return self._path(key).is_file()

    def _entries(self) -> list[tuple[float, int, Path]]:
        found = []
        for path in self.directory.glob(f"??/*{_SUFFIX}"):
            if path.name.startswith(".tmp-"):
                continue
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue                            # evicted by someone else meanwhile
            found.append((stat.st_mtime, stat.st_size, path))
        return found

    def _evict(self, keep: Path) -> None:
        """Down to 90% of ``max_bytes``, so that the directory is not walked on every write."""
        entries = sorted(self._entries())           # oldest first
        total = sum(size for _, size, _ in entries)
        target = int((self.max_bytes or 0) * 0.9)
        for _, size, path in entries:
            if total <= target:
                break
            if path == keep:
                continue
            path.unlink(missing_ok=True)
            total -= size
            with self._lock:
                self.evictions += 1
        with self._lock:
            self._bytes_estimate = total

    def prune(self, now: float | None = None) -> int:
        """Remove entries not used for ``max_age_s`` (renders of debtors' names and amounts are
        personal data and must not be kept indefinitely); returns how many were removed."""
        if self.max_age_s is None:
            return 0
        cutoff = (time.time() if now is None else now) - self.max_age_s
        removed = 0
        for mtime, _, path in self._entries():
            if mtime < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
        for stale in self.directory.glob(f"??/.tmp-*{_SUFFIX}"):  # left by a crash mid-write
            try:
                if stale.stat().st_mtime < cutoff:
                    stale.unlink(missing_ok=True)
            except FileNotFoundError:
                pass
        with self._lock:
            self.evictions += removed
        return removed

    def stats(self) -> CacheStats:
        entries = self._entries()
        with self._lock:
            return CacheStats(entries=len(entries), bytes=sum(size for _, size, _ in entries),
                              hits=self.hits, misses=self.misses, evictions=self.evictions)


class CachePruner:
    """Prunes ``cache`` at once and then every ``interval_s``, in a daemon thread, until :meth:`stop`.

    A thread of its own, not a synthesis worker nor an asyncio task: pruning walks the whole
    directory, which on a large cache must not hold up a prompt a caller is waiting for, and a
    renderer is also built where no event loop runs yet (``callpact call``'s SIP backend).
    A failed pass is logged and the next one tried: a pruner that died quietly would keep
    personal data indefinitely.
    """

    def __init__(self, cache: RenderCache, interval_s: float = PRUNE_INTERVAL_S) -> None:
        self.cache = cache
        self.interval_s = interval_s
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tts-cache-prune", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                removed = self.cache.prune()
            except Exception:
                log.exception("TTS cache %s: pruning failed; trying again in %.0f s",
                              self.cache.directory, self.interval_s)
            else:
                if removed:
                    log.info("TTS cache %s: removed %d renders unused for %.0f s",
                             self.cache.directory, removed, self.cache.max_age_s or 0)
            if self._stopped.wait(self.interval_s):
                return

    def stop(self) -> None:
        """No more passes; waits for one in progress to finish."""
        self._stopped.set()
        if self._thread is not threading.current_thread():
            self._thread.join()
