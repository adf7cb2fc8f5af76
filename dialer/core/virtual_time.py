"""An asyncio event loop whose clock is virtual, for simulations and the demo.

The pacing engine, the simulated network and their timers run unchanged; only
``loop.time()`` is virtual. When no callback is ready and no real I/O is being
awaited, the clock jumps straight to the next timer, so a simulated working day
takes as long as the work in it, not as long as the day.

Real I/O (Redis) must not be skipped over: while a coroutine waits inside
:func:`real_io` (a store opened with ``io_guard=real_io`` wraps every socket wait in it), or
work runs in an executor thread, the loop blocks on the real selector. A reply
(or a thread's result) that comes promptly costs no virtual time, which keeps a
seeded simulation repeatable; a wait that finds nothing for 50 ms lets the
virtual clock advance at real speed, so a dead Redis still runs into its
timeouts instead of hanging the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import selectors
import time
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


class _VirtualSelector(selectors.BaseSelector):
    def __init__(self, loop: VirtualTimeLoop) -> None:
        self._real = selectors.DefaultSelector()
        self._loop = loop

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def get_key(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.get_key(fileobj)

    def get_map(self) -> Any:
        return self._real.get_map()

    def close(self) -> None:
        self._real.close()

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        loop = self._loop
        if timeout is not None and timeout <= 0:
            return self._real.select(0)
        if loop._real_io_waiters or timeout is None:
            # Wait for the real world. A prompt answer costs no virtual time (so a simulation
            # is repeatable); a slow or missing one lets virtual time flow at real speed, so
            # timeouts on a dead link still fire.
            started = time.monotonic()
            wait = 0.05 if timeout is None else min(timeout, 0.05)
            ready = self._real.select(wait)
            if not ready:
                loop._now += min(time.monotonic() - started, timeout if timeout is not None else 1e9)
            return ready
        ready = self._real.select(0)
        if not ready:
            loop._now += timeout
        return ready


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """A selector event loop with a jumping virtual clock starting at ``start``."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)
        self._real_io_waiters = 0
        super().__init__(selector=_VirtualSelector(self))

    def time(self) -> float:
        return self._now

    def run_in_executor(self, executor: Any, func: Any, *args: Any) -> asyncio.Future[Any]:
        """Work in a thread (speech recognition, synthesis) is real time too: the clock must not
        jump past it while it runs, or a timer would fire before the answer it waits for."""
        future = super().run_in_executor(executor, func, *args)
        self._real_io_waiters += 1

        def done(_: asyncio.Future[Any]) -> None:
            self._real_io_waiters -= 1

        future.add_done_callback(done)
        return future


@contextlib.contextmanager
def real_io() -> Iterator[None]:
    """Mark a wait on real I/O, so a virtual clock does not jump over it."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if not isinstance(loop, VirtualTimeLoop):
        yield
        return
    loop._real_io_waiters += 1
    try:
        yield
    finally:
        loop._real_io_waiters -= 1


def run_virtual(main: Coroutine[Any, Any, T], start: float = 0.0) -> T:
    """``asyncio.run`` on a :class:`VirtualTimeLoop`."""
    with asyncio.Runner(loop_factory=lambda: VirtualTimeLoop(start)) as runner:
        return runner.run(main)
