"""Voice replies under leases (several replicas): each reply is spoken only by the replica
holding its lease `voice:<id>`, and every replica sweeps for pending replies older than
`grace` whose lease is free (their replica died) and finishes them; the background tasks.
`VoiceReplies` holds one `ReplyLeases`."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.features.voice.repository import VoiceRepository
from bot.plugin.coordination import Coordinator, run_while_held, sweep_in_turns
from bot.plugin.storage import one_statement_sessions, outage_of, utcnow

log = logging.getLogger("bot.features.voice.replies")  # one logger for all voice replies


class ReplyLeases:
    """The sweep, the leases and the background tasks of the voice replies: `resume_one`
    finishes a pending reply (it runs while its lease is held)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        resume_one: Callable[[int], Coroutine[Any, Any, None]],
        *,
        coordinator: Coordinator | None = None,
        owner: str = "",
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        ttl: float = 6.0,
        grace: dt.timedelta = dt.timedelta(seconds=2),
    ) -> None:
        """With a `coordinator` (several replicas), `owner` names this replica in the
        leases; `ttl`: a lease's seconds; `grace`: how old a pending reply must be before a
        sweep takes it (its own replica speaks it first)."""
        self.sessionmaker = sessionmaker
        self.reads = one_statement_sessions(sessionmaker)  # backstop reads, one statement
        self._resume_one = resume_one
        self.coordinator = coordinator  # None: one process
        self.owner = owner
        self.ttl = ttl
        self.grace = grace
        self._sleep = sleep
        self._owned: set[int] = set()  # replies whose lease this replica holds or asks for
        self._tasks: set[asyncio.Task[None]] = set()

    async def sweep(self, *, grace: dt.timedelta | None = None) -> int:
        """Several replicas: try to own every pending reply older than `grace` that this
        replica does not own; the owner of one a dead replica left finishes it."""
        before = utcnow() - (self.grace if grace is None else grace)
        async with self.reads() as session:  # a backstop read, one statement
            pending = await VoiceRepository(session).pending_ids(before=before)
        ids = [reply_id for reply_id in pending if reply_id not in self._owned]
        for reply_id in ids:
            self._owned.add(reply_id)  # before the task runs: the next sweep skips it
            self.spawn(self.owning(reply_id, functools.partial(self._resume_one, reply_id)))
        return len(ids)

    async def sweep_forever(
        self, every: float = 3.0, *, replicas: Callable[[], int] = lambda: 1
    ) -> None:
        # The cluster sweeps every 3 s, not every second: synthesizing a reply takes about that
        # long, and a sweep is a database transaction.
        outage = outage_of(self.sessionmaker)
        await sweep_in_turns(self.sweep, "pending voice replies", every=every,
                             replicas=replicas, sleep=self._sleep,
                             expected=lambda exc: outage.failed(exc, "sweeping voice replies"))

    async def wait_idle(self) -> None:
        """For tests and shutdown: until every reply started in the background has ended."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run `coro` in the background (awaited by `wait_idle`, cancelled by `aclose`)."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def owning(self, reply_id: int, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run `work` for the reply while holding its lease (one process: at once)."""
        if self.coordinator is None:
            await work()
            return
        self._owned.add(reply_id)
        try:
            await run_while_held(self.coordinator, f"voice:{reply_id}", self.owner, self.ttl, work)
        finally:
            self._owned.discard(reply_id)
