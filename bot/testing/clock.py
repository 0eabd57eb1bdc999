"""A virtual clock for the running event loop: a test's waits cost no wall time.

`VirtualClock.of(loop)` installs it on a loop (once; `BotTester` does it for its life) and
`running()` switches it on while the block runs. Switched on, when every task waits and only a
timer can wake the loop, the loop's clock (`loop.time()`) jumps straight to that timer instead
of sleeping: `asyncio.sleep(30)`, `call_later`, `asyncio.timeout` and everything fmbot times
with them (Telegram's pacing and 429s, retries with backoff, the desk's timers, polling a
long operation) happen at once, in order, at the times they would have happened.

The clock jumps only when nothing outside the loop's thread is working for it, since a jump
while a thread works would make its work seem to take as long as the jump (and fire the
timeouts around it). Waited for in real time, with the clock moving at the real pace:
- calls in an executor (`run_in_executor`, `asyncio.to_thread`);
- aiosqlite's calls (each connection runs them on a thread of its own: the futures made on
  this loop by the modules in `THREADED` are followed);
- child processes (`subprocess_exec`, `subprocess_shell`) until they exit;
- open sockets (a connection to a server in another thread or process may be answered any
  moment; a listening socket alone does not count).
Anything else that wakes the loop from another thread (`call_soon_threadsafe` from a thread
of one's own) is not seen: wait for such work on a future the thread resolves, made with
`loop.run_in_executor`, or run that test on the real clock.

`loop.time()` is the real monotonic clock plus how far the virtual clock has jumped: it never
goes back, and after `running()` ends it flows at the real pace again from where it got to.
What reads the wall clock (`time.time()`, `datetime.now()`: the timestamps stored in the
database, Telegram's message dates, a token's expiry) is not moved.

Not for uvloop or another loop without a selector: `of` returns None for those (real time).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

# The environment variable that puts every BotTester of a run on the real clock.
REAL_TIME_ENV = "FMBOT_TESTER_REAL_TIME"

# While something outside the loop works for it, the loop waits for it in real steps this long
# at most (then looks again whether it is still at work).
REAL_STEP = 0.01

# Modules whose futures are resolved from another thread: aiosqlite's (a connection's calls
# run on its thread) and SQLAlchemy's aiosqlite dialect (it queues calls of its own there).
THREADED = ("aiosqlite", "sqlalchemy.dialects.sqlite.aiosqlite")

_clocks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, VirtualClock] = (
    weakref.WeakKeyDictionary()
)


def real_time_requested() -> bool:
    """Whether the environment asks for real time (`FMBOT_TESTER_REAL_TIME=1`)."""
    return os.environ.get(REAL_TIME_ENV, "").strip().lower() in ("1", "true", "yes", "on")


class VirtualClock:
    """The virtual clock of one event loop (see the module docstring)."""

    def __init__(self, loop: asyncio.BaseEventLoop, select: Callable[..., Any]) -> None:
        self._loop = loop
        self._select = select
        self._on = 0  # how many `running()` blocks are open
        self.skipped = 0.0
        """Seconds the clock has jumped so far (`loop.time()` is this far ahead of real)."""
        self._outside: weakref.WeakSet[asyncio.Future[Any]] = weakref.WeakSet()
        self._processes: weakref.WeakSet[asyncio.SubprocessTransport] = weakref.WeakSet()
        self._self_pipe = _fileno(getattr(loop, "_ssock", None))

    # -- installing ------------------------------------------------------------------------------

    @classmethod
    def of(cls, loop: asyncio.AbstractEventLoop | None = None) -> VirtualClock | None:
        """The loop's clock (the running loop's by default), installed on first use; None for
        a loop it cannot drive (no selector: uvloop, Windows' proactor)."""
        loop = loop if loop is not None else asyncio.get_running_loop()
        clock = _clocks.get(loop)
        if clock is not None:
            return clock
        selector = getattr(loop, "_selector", None)
        if not isinstance(loop, asyncio.BaseEventLoop) or selector is None:
            return None
        clock = cls(loop, selector.select)
        # Instance attributes in front of the loop's methods: asyncio's own calls
        # (`self.time()` in `call_later` and `_run_once`, `self._selector.select`) meet them.
        loop.time = clock.time  # type: ignore[method-assign]
        selector.select = clock.select
        original_executor = loop.run_in_executor
        original_future = loop.create_future
        original_exec, original_shell = loop.subprocess_exec, loop.subprocess_shell

        def run_in_executor(executor: Any, func: Callable[..., Any], *args: Any) -> Any:
            future = original_executor(executor, func, *args)
            clock._outside.add(future)
            return future

        def create_future() -> asyncio.Future[Any]:
            future = original_future()
            if sys._getframe(1).f_globals.get("__name__", "").startswith(THREADED):
                clock._outside.add(future)
            return future

        async def subprocess_exec(*args: Any, **kwargs: Any) -> Any:
            transport, protocol = await original_exec(*args, **kwargs)
            clock._processes.add(transport)
            return transport, protocol

        async def subprocess_shell(*args: Any, **kwargs: Any) -> Any:
            transport, protocol = await original_shell(*args, **kwargs)
            clock._processes.add(transport)
            return transport, protocol

        loop.run_in_executor = run_in_executor  # type: ignore[method-assign,assignment]
        loop.create_future = create_future  # type: ignore[method-assign]
        loop.subprocess_exec = subprocess_exec  # type: ignore[method-assign]
        loop.subprocess_shell = subprocess_shell  # type: ignore[method-assign]
        _clocks[loop] = clock
        return clock

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """The clock jumps while the block runs (blocks may nest)."""
        self._on += 1
        try:
            yield
        finally:
            self._on -= 1

    @property
    def on(self) -> bool:
        """Whether the clock jumps now."""
        return self._on > 0

    # -- the loop's side -------------------------------------------------------------------------

    def time(self) -> float:
        """The loop's time: the real monotonic clock plus the seconds jumped."""
        return time.monotonic() + self.skipped

    def select(self, timeout: float | None = None) -> Any:
        """The loop's selector's `select`, but for a wait on a timer alone: a jump."""
        if not self._on or (timeout is not None and timeout <= 0):
            return self._select(timeout)
        ready = self._select(0)
        if ready:
            return ready
        if timeout is None:  # no timer at all: only the outside can wake the loop
            return self._select(None)
        if self._outside_at_work():
            return self._select(min(timeout, REAL_STEP))
        self.skipped += timeout
        return ready

    def _outside_at_work(self) -> bool:
        if any(not future.done() for future in self._outside):
            return True
        if any(not process.is_closing() and process.get_returncode() is None
               for process in self._processes):
            return True
        for key in self._loop._selector.get_map().values():  # type: ignore[attr-defined]
            fd = key.fd
            if fd == self._self_pipe:
                continue
            if isinstance(key.fileobj, socket.socket) and _listening(key.fileobj):
                continue
            if isinstance(key.fileobj, int) and _listening_fd(key.fileobj):
                continue  # a server registered by its descriptor (aiohttp's)
            return True
        return False


def _fileno(sock: socket.socket | None) -> int:
    try:
        return sock.fileno() if sock is not None else -1
    except OSError:
        return -1


def _listening_fd(fd: int) -> bool:
    """Whether the descriptor `fd` is a listening socket (read through a duplicate)."""
    try:
        sock = socket.fromfd(fd, socket.AF_INET, socket.SOCK_STREAM)
    except OSError:
        return False
    try:
        return _listening(sock)
    finally:
        sock.close()


def _listening(sock: socket.socket) -> bool:
    try:
        return bool(sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))
    except OSError:
        return False
