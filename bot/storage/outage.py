"""Riding out a database outage (a failover, a restarted primary, a network blip): work that
must reach the database waits for it, instead of failing.

One `Outage` per engine (`outage_of(sessionmaker)`), so every part of a process that reaches
the same database shares it: the log has one line when the database goes away and one when it
is back, however many turns wait meanwhile. `ride` runs a unit of work and, while the error is
the database being unreachable (`database.unavailable`: refused, reset, the pool timing out),
runs it again from the start with backoff (a failed unit of work was rolled back: nothing of
it stayed), until it succeeds or is cancelled. An error of the statement itself is raised at
once, as before.

Past `grace` seconds of an outage, the chats waiting on it (`ride(..., chat=...)`, and the
refused updates' chats `wait(...)` is told of) are handed once each to the listeners given
to `on_past_grace`: the Telegram front tells their users the bot is unavailable and that they
will be answered. The composition root gives the process's `Outage` (`watch_outages`), with
DATABASE_OUTAGE_GRACE.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.database import unavailable

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_GRACE = 60.0
FIRST_DELAY = 0.25
MAX_DELAY = 2.0  # how late after the database's return a waiting unit of work may notice

PastGrace = Callable[[int, "str | None", "int | None"], None]


class Outage:
    """The database's reachability as this process last saw it (module docstring)."""

    def __init__(self, grace: float = DEFAULT_GRACE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.grace = grace
        self.clock = clock
        self.since: float | None = None  # when the current outage was first seen
        self.refused = 0  # updates refused in this outage (Telegram delivers them again)
        self._past_grace: list[PastGrace] = []
        # chat -> (language, thread), waiting on the database in this outage
        self._waiting: dict[int, tuple[str | None, int | None]] = {}
        self._told: set[int] = set()
        self._timer: asyncio.TimerHandle | None = None
        # Set when the database is back: every unit of work waiting tries again at once.
        self._back: asyncio.Event | None = None

    @property
    def down(self) -> bool:
        return self.since is not None

    def on_past_grace(self, listener: PastGrace) -> None:
        """Call `listener(chat, language, thread)` for each chat waiting past the grace."""
        self._past_grace.append(listener)

    def refuse(self, count: int = 1) -> bool:
        """`count` updates were refused (Telegram delivers them again); True for the first
        refusal of this outage (logged; the rest need not be)."""
        self.refused += count
        return self.refused == count

    def failed(self, exc: BaseException, what: str) -> bool:
        """Note a failure of `what`; True when it is the database being unreachable (the
        caller may wait and try again, and need not log it: this did, once an outage)."""
        if not unavailable(exc):
            return False
        if self.since is None:
            self.since = self.clock()
            log.warning("database unreachable (%s: %s); waiting for it, for up to %g s "
                        "unnoticed by users", what, _short(exc), self.grace)
            self._arm()
        return True

    def succeeded(self) -> None:
        """A unit of work reached the database."""
        if self.since is None:
            return
        refused = f" ({self.refused} updates refused meanwhile)" if self.refused else ""
        log.info("database is back after %.1f s%s", self.clock() - self.since, refused)
        self.since = None
        self.refused = 0
        if self._back is not None:
            self._back.set()
            self._back = None
        self._waiting.clear()
        self._told.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def wait(self, chat_id: int | None, language: str | None = None,
             thread_id: int | None = None) -> None:
        """A chat waits on the database in this outage (told past the grace, once)."""
        if chat_id is None or self.since is None:
            return
        self._waiting.setdefault(chat_id, (language, thread_id))
        if self.clock() - self.since >= self.grace:
            self._tell()

    def unwait(self, chat_id: int | None) -> None:
        if chat_id is not None:
            self._waiting.pop(chat_id, None)

    async def ride(
        self,
        what: str,
        work: Callable[[], Awaitable[T]],
        *,
        chat: int | None = None,
        language: str | None = None,
        thread_id: int | None = None,
    ) -> T:
        """`work()`, run again while the database is unreachable (module docstring)."""
        delay = FIRST_DELAY
        waiting = False
        try:
            while True:
                try:
                    result = await work()
                except Exception as exc:
                    if not self.failed(exc, what):
                        raise
                    if not waiting and chat is not None:
                        waiting = True
                        self.wait(chat, language, thread_id)
                    await self._pause(delay * random.uniform(0.8, 1.2))
                    delay = min(delay * 2, MAX_DELAY)
                    continue
                self.succeeded()
                return result
        finally:
            if waiting:
                self.unwait(chat)

    async def _pause(self, delay: float) -> None:
        """Sleep `delay`, or less if another unit of work finds the database back first."""
        if self.since is None:  # back already (another unit of work got through)
            return
        if self._back is None:
            self._back = asyncio.Event()
        back = self._back
        try:
            async with asyncio.timeout(delay):
                await back.wait()
        except TimeoutError:
            pass

    def _arm(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._timer = loop.call_later(self.grace, self._tell)

    def _tell(self) -> None:
        if self.since is None or not self._past_grace:
            return
        for chat_id, (language, thread_id) in list(self._waiting.items()):
            if chat_id in self._told:
                continue
            self._told.add(chat_id)
            for listener in self._past_grace:
                listener(chat_id, language, thread_id)


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:200]


_OUTAGES: weakref.WeakKeyDictionary[Any, Outage] = weakref.WeakKeyDictionary()


def _key(sessionmaker: async_sessionmaker[AsyncSession]) -> Any:
    bind = sessionmaker.kw.get("bind")
    return bind.sync_engine.pool if bind is not None else sessionmaker


def outage_of(sessionmaker: async_sessionmaker[AsyncSession]) -> Outage:
    """The process's `Outage` for the database `sessionmaker` reaches (one per connection
    pool: sessionmakers on the same engine, or on its execution options, share it): the one
    `watch_outages` gave, or one with the default grace."""
    key = _key(sessionmaker)
    outage = _OUTAGES.get(key)
    if outage is None:
        outage = _OUTAGES[key] = Outage()
    return outage


def watch_outages(sessionmaker: async_sessionmaker[AsyncSession], outage: Outage) -> Outage:
    """Make `outage` the one every part reaching `sessionmaker`'s database shares (the
    composition root, before anything uses the database)."""
    _OUTAGES[_key(sessionmaker)] = outage
    return outage
