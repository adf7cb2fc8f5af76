"""A long-lived piper process: the voice model loads once, not on every prompt.

``python -m piper -m MODEL -d DIR`` reads one utterance per stdin line and writes
each to its own WAV file in DIR, logging ``Wrote DIR/....wav`` on stderr. Loading a
medium voice takes about 1.4 s and synthesising a 10 s prompt about 0.3 s, so keeping
the process is what makes piper usable for per-debtor prompts. The text still goes
to the child on stdin, never through a shell or its argument list.

One utterance at a time per worker (a lock); a worker that dies or hangs is killed
and started afresh on the next prompt, and the failure is a :class:`TTSError`.
"""

from __future__ import annotations

import collections
import contextlib
import queue
import re
import shutil
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Sequence
from pathlib import Path

from dialer.core.errors import CallpactError

_WROTE = re.compile(r"Wrote (.+\.wav)\s*$")


class PiperWorkerError(CallpactError):
    """The piper process failed, stopped or took too long."""


def _stop(process: subprocess.Popen[bytes] | None, directory: str) -> None:
    if process is not None and process.poll() is None:
        process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)
    shutil.rmtree(directory, ignore_errors=True)


class PiperWorker:
    """``say(text)`` -> WAV bytes, from one piper process kept running between prompts."""

    def __init__(self, args: Sequence[str]) -> None:
        self._directory = tempfile.mkdtemp(prefix="callpact-piper-")
        self._args = [*args, "-d", self._directory]
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._tail: collections.deque[str] = collections.deque(maxlen=3)
        self._finalizer = weakref.finalize(self, _stop, None, self._directory)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None and self._process.poll() is None else None

    def _start(self) -> subprocess.Popen[bytes]:
        try:
            process = subprocess.Popen(self._args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE, shell=False)
        except FileNotFoundError:
            raise PiperWorkerError(f"{self._args[0]} is not installed or not on PATH "
                                   "(pip install piper-tts)") from None
        self._lines = queue.Queue()
        self._tail.clear()
        threading.Thread(target=self._pump, args=(process, self._lines), daemon=True,
                         name="piper-stderr").start()
        self._finalizer.detach()
        self._finalizer = weakref.finalize(self, _stop, process, self._directory)
        self._process = process
        return process

    @staticmethod
    def _pump(process: subprocess.Popen[bytes], lines: queue.Queue[str | None]) -> None:
        assert process.stderr is not None
        for raw in process.stderr:
            lines.put(raw.decode("utf-8", "replace").rstrip())
        lines.put(None)

    def say(self, text: str, timeout_s: float) -> bytes:
        """Blocking: the WAV piper writes for ``text`` (one line; newlines become spaces)."""
        line = " ".join(text.split())
        if not line:
            raise PiperWorkerError("nothing to say: the text is empty")
        with self._lock:
            process = self._process
            if process is None or process.poll() is not None:
                process = self._start()
            deadline = time.monotonic() + timeout_s
            try:
                assert process.stdin is not None
                process.stdin.write(line.encode("utf-8") + b"\n")
                process.stdin.flush()
            except (BrokenPipeError, OSError):
                raise self._failed(process, "stopped before it was given the text") from None
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    _stop(process, "")
                    self._process = None
                    raise PiperWorkerError(f"piper took longer than {timeout_s:g}s and was stopped")
                try:
                    message = self._lines.get(timeout=remaining)
                except queue.Empty:
                    continue
                if message is None:
                    raise self._failed(process, "stopped")
                wrote = _WROTE.search(message)
                if wrote is None:
                    if message.strip():
                        self._tail.append(message.strip())
                    continue
                path = Path(wrote.group(1))
                try:
                    return path.read_bytes()
                except OSError as exc:
                    raise PiperWorkerError(f"piper's output {path.name} cannot be read: {exc.strerror}") \
                        from None
                finally:
                    path.unlink(missing_ok=True)

    def _failed(self, process: subprocess.Popen[bytes], what: str) -> PiperWorkerError:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)
        self._process = None
        detail = self._tail[-1] if self._tail else "no message"
        return PiperWorkerError(f"piper {what} (exit status {process.returncode}): {detail}")

    def close(self) -> None:
        with self._lock:
            self._finalizer()
            self._process = None
