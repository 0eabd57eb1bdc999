"""The pace of periodic work: a call that may ride with other calls (`within`, riding.py),
and a sweep the live replicas take turns at.

Once every `every` seconds, as a plain loop would, but the call is made `ride` seconds before
it is due with `within` set to what is left: it goes with any other call of the process made
meanwhile, and alone when it is due. The local coordinator answers at once, so there the call
goes `ride` early and the pace is the same.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Period:
    def __init__(self, every: float, *, ride: float = 0.5) -> None:
        """`ride`: the part of `every` the call may wait to ride (0: a plain loop)."""
        self.every = every
        self.ride = every * ride
        self._due: float | None = None

    async def tick(self) -> float:
        """Sleep until the next call may be made; its `within`: seconds until it is due."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        # A call that took longer than a period (Redis slow): the next one is due now.
        self._due = now + self.every if self._due is None else max(self._due + self.every, now)
        await asyncio.sleep(max(0.0, self._due - self.ride - now))
        return max(0.0, self._due - loop.time())


async def sweep_in_turns(
    sweep: Callable[[], Awaitable[object]],
    what: str,
    *,
    every: float,
    replicas: Callable[[], int] = lambda: 1,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    expected: Callable[[Exception], bool] = lambda _exc: False,
) -> None:
    """Run `sweep` about every `every` seconds across the cluster, until cancelled: the live
    replicas (`replicas`, the census) take turns, each sweeping every `every` times their
    number, jittered by a quarter so the turns spread out. A sweep that fails (the database
    away) is logged, and the next one tries again; one that fails as `expected` says (a
    dependency known to be away, logged once by whoever knows) only at debug level."""
    while True:
        await sleep(every * max(1, replicas()) * random.uniform(0.75, 1.25))
        try:
            await sweep()
        except Exception as exc:
            if expected(exc):
                log.debug("sweeping for %s failed: %r", what, exc)
                continue
            log.exception("sweeping for %s failed", what)
