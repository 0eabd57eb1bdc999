"""Voice replies under leases (several replicas): each reply is spoken only by the replica
holding its lease `voice:<id>`, and every replica sweeps for pending replies older than
`grace` whose lease is free (their replica died) and finishes them; the background tasks."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.coordination import Coordinator, run_while_held
from bot.coordination.periodic import sweep_in_turns
from bot.storage.models import utcnow
from bot.storage.outage import outage_of
from bot.storage.repositories.voice import VoiceRepository
from bot.telegram.lifecycle import BotService

log = logging.getLogger("bot.telegram.voicereplies")  # one logger for all voice replies


class LeasedReplies(BotService):
    """The sweep and the leases of `VoiceReplies` (which sets these and `_resume_one`)."""

    sessionmaker: async_sessionmaker[AsyncSession]
    reads: async_sessionmaker[AsyncSession]  # pooling.one_statement_sessions(sessionmaker)
    coordinator: Coordinator | None
    owner: str
    ttl: float
    grace: dt.timedelta
    _owned: set[int]
    _tasks: set[asyncio.Task[None]]
    _sleep: Callable[[float], Awaitable[None]]

    async def _resume_one(self, reply_id: int) -> None:
        raise NotImplementedError

    async def sweep(self, *, grace: dt.timedelta | None = None) -> int:
        """Several replicas: try to own every pending reply older than `grace` that this
        replica does not own; the owner of one a dead replica left finishes it."""
        before = utcnow() - (self.grace if grace is None else grace)
        async with self.reads() as session:  # a backstop read, one statement
            pending = await VoiceRepository(session).pending_ids(before=before)
        ids = [reply_id for reply_id in pending if reply_id not in self._owned]
        for reply_id in ids:
            self._owned.add(reply_id)  # before the task runs: the next sweep skips it
            self._spawn(self._owning(reply_id, functools.partial(self._resume_one, reply_id)))
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

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _owning(self, reply_id: int, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run `work` for the reply while holding its lease (one process: at once)."""
        if self.coordinator is None:
            await work()
            return
        self._owned.add(reply_id)
        try:
            await run_while_held(self.coordinator, f"voice:{reply_id}", self.owner, self.ttl, work)
        finally:
            self._owned.discard(reply_id)
