"""A shutdown that takes too long says what it is waiting for.

Once a stop signal has come, a timer thread waits `after` seconds; if the process is still
there, it writes every thread's stack to stderr (`faulthandler`: works even if the event loop
is blocked) and asks the loop to log each pending task with the chain of coroutines it waits
in (`cr_await`: `Task.get_stack` shows only a suspended coroutine's outermost frame,
https://docs.python.org/3/library/asyncio-task.html#asyncio.Task.get_stack).
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import logging
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)

# Past the shutdown's own bounds (6 s for answers to finish, 3 s to finalise them).
REPORT_AFTER = 15.0


def watch_shutdown(
    loop: asyncio.AbstractEventLoop, after: float = REPORT_AFTER
) -> threading.Timer:
    """Report what the process still waits for if it has not exited `after` s from now;
    cancel the timer returned once the shutdown is over (a process that goes on, as when the
    bot runs inside another program or a test, is not stuck)."""

    def fire() -> None:
        # A stderr without a file descriptor (embedded) cannot take the dump; the log can.
        with contextlib.suppress(OSError, ValueError, AttributeError):
            faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        if not loop.is_closed():
            loop.call_soon_threadsafe(report_pending, after)

    timer = threading.Timer(after, fire)
    timer.daemon = True  # never keeps the process alive
    timer.start()
    return timer


def report_pending(after: float) -> None:
    tasks = [t for t in asyncio.all_tasks() if not t.done()]
    lines = [f"  {task.get_name()}: {where(task.get_coro())}" for task in tasks]
    log.warning(
        "shutdown still running %g s after the signal; %d tasks pending:\n%s",
        after, len(tasks), "\n".join(lines),
    )


def where(coro: Any) -> str:
    """The coroutines `coro` awaits through, outermost first: name (file:line) each."""
    return " > ".join(
        f"{frame.f_code.co_name} ({Path(frame.f_code.co_filename).name}:{frame.f_lineno})"
        for frame in _frames(coro)
    ) or repr(coro)


def _frames(coro: Any) -> Iterator[FrameType]:
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is None:
            frame = getattr(coro, "ag_frame", None)
        if frame is not None:
            yield frame
        coro = (
            getattr(coro, "cr_await", None)
            or getattr(coro, "gi_yieldfrom", None)
            or getattr(coro, "ag_await", None)
        )
