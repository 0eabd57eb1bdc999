"""Stopping background tasks that talk to Redis, even when a cancellation gets lost.

redis-py wraps each read in `asyncio.timeout(socket_timeout)`. On Python 3.11, a task
cancelled while a command is being read may see the command return normally instead of
raising `CancelledError`: the cancellation is gone, and a loop around the command (a lease
renewer, a budget's pump) goes on. Measured here with the client `connect()` makes: about 1
cancellation in 10 that arrives during a command is lost, none without `socket_timeout`
(https://github.com/redis/redis-py/issues/2551 describes the same loss). A single
`task.cancel(); await task` then waits forever: a chat's lease was renewed for good while
nothing ran under it, and shutdowns hung.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger(__name__)


async def stop_tasks(*tasks: asyncio.Task[Any] | None, every: float = 0.1) -> None:
    """Cancel `tasks` and wait until they have ended, cancelling again every `every` seconds
    those still running. For loops whose cancellation needs no cleanup that a second
    cancellation could cut short. An exception a task ended with is logged, not raised."""
    running = {task for task in tasks if task is not None}
    pending = {task for task in running if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=every)
        if pending:
            log.debug("%d tasks still running after a cancellation: again", len(pending))
    for task in running:
        if not task.cancelled() and task.exception() is not None:
            log.warning("task %s ended with %r", task.get_name(), task.exception())
