"""Which waiting read gets a worker next (reading.py's `DocumentReader`).

A read is not bounded in advance: a 5 KB file and a 38 KB DOCX built to cost a minute look
alike until a worker reads them. So reads are served in two lanes:

- **the main lane** (`workers` processes): a read runs to its full CPU and wall-clock limits.
  A free worker goes to the waiting read of the user with the fewest reads running, then the
  oldest: one user's files wait behind another user's, not in front of them.
- **the look lane** (one process): a read that waits is first given a short look (a second or
  so): an ordinary file is read in that time, and is done without waiting for the main lane;
  a file that needs more goes back to the main lane's queue in its place, for its full read.
  The newest waiting read gets the look first: however many heavy files wait, a file that
  just arrived waits at most for the look in progress. Looks are cheap and bounded, and every
  read still gets its full turn in the main lane, so none is starved by the order of looks.

Six users' heavy files therefore keep two main workers busy up to their limit, while a seventh
user's small file is read in the look lane within a look or two (issue 61).
"""

from __future__ import annotations

import asyncio
import enum
import itertools
from collections import Counter
from dataclasses import dataclass, field


class Lane(enum.Enum):
    MAIN = "main"
    LOOK = "look"


@dataclass(eq=False)
class Waiting:
    """A read waiting for a lane: `looked` once it had its look."""

    user: int | None
    order: int
    looked: bool = False
    grant: asyncio.Future[Lane] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class ReadQueue:
    """The lanes' free places and the reads waiting for them (see the module docstring)."""

    def __init__(self, workers: int, *, look: bool) -> None:
        self._free = {Lane.MAIN: workers, Lane.LOOK: 1 if look else 0}
        self._waiting: list[Waiting] = []
        self._running: Counter[int | None] = Counter()  # main-lane reads per user
        self._order = itertools.count()

    def enqueue(self, user: int | None, *, after: Waiting | None = None) -> Waiting:
        """A new place in the queue; `after`: a read back from its look, in its old place."""
        if after is None:
            entry = Waiting(user, next(self._order))
        else:
            entry = Waiting(user, after.order, looked=True)
        self._waiting.append(entry)
        self._dispatch()
        return entry

    async def wait(self, entry: Waiting) -> Lane:
        """The lane granted to `entry`; cancelled, its place (or its lane) is given back."""
        try:
            return await entry.grant
        except asyncio.CancelledError:
            if entry.grant.done() and not entry.grant.cancelled():
                self.release(entry, entry.grant.result())
            elif entry in self._waiting:
                self._waiting.remove(entry)
            raise

    def release(self, entry: Waiting, lane: Lane) -> None:
        self._free[lane] += 1
        if lane is Lane.MAIN:
            self._running[entry.user] -= 1
            if self._running[entry.user] <= 0:
                del self._running[entry.user]
        self._dispatch()

    def _dispatch(self) -> None:
        while self._free[Lane.MAIN] and self._waiting:
            entry = min(self._waiting, key=lambda e: (self._running[e.user], e.order))
            self._waiting.remove(entry)
            self._free[Lane.MAIN] -= 1
            self._running[entry.user] += 1
            entry.grant.set_result(Lane.MAIN)
        while self._free[Lane.LOOK]:
            fresh = [e for e in self._waiting if not e.looked]
            if not fresh:
                return
            entry = max(fresh, key=lambda e: e.order)  # the newest first
            self._waiting.remove(entry)
            entry.looked = True
            self._free[Lane.LOOK] -= 1
            entry.grant.set_result(Lane.LOOK)
