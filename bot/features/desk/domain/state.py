"""Who a person owns: the desk's per-user state (kept in memory, the database's with several
replicas) and the per-user serialisation every change of it goes through. The base every part
of DeskService works on (each part holds it as `state`)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.features.desk.storage.cases import DeskRepository
from bot.plugin.storage import utcnow


class DeskState:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        support_chat_id: int,
        clock: Callable[[], dt.datetime] = utcnow,
        shared: bool = False,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.support_chat_id = support_chat_id
        self.clock = clock
        # Users a person owns (waiting or with_operator): checked on every private message,
        # so kept in memory; every change of ownership goes through this service. With
        # several replicas (`shared`) another replica may change it: then the database says.
        self.shared = shared
        self._owned: set[int] = set()
        self._locks: dict[int, asyncio.Lock] = {}
        self._commenting: set[int] = set()
        # Users who just rated the help, and when: their next message may be the comment
        # (kept by the replica that took the rating, the chat's; lost on a restart).
        self._rated: dict[int, dt.datetime] = {}

    async def load(self) -> None:
        async with self.sessionmaker() as session:
            repo = DeskRepository(session)
            self._owned = set(await repo.owned_user_ids())
            self._commenting = set(await repo.commenting_user_ids())

    def owned(self, user_id: int) -> bool:
        """As this process knows it (exact in one process; see `is_owned`)."""
        return user_id in self._owned

    async def is_owned(self, user_id: int) -> bool:
        """Whether a person owns the user's conversation, whichever replica handed it over."""
        if not self.shared:
            return user_id in self._owned
        return (await self._state(user_id))[0]

    async def is_commenting(self, user_id: int) -> bool:
        """`commenting`, whichever replica the user pressed "add a comment" on."""
        if not self.shared:
            return user_id in self._commenting
        return (await self._state(user_id))[1]

    def commenting(self, user_id: int) -> bool:
        """The user pressed "add a comment" and has not written it yet."""
        return user_id in self._commenting

    def set_owned(self, user_id: int, owned: bool) -> None:
        """As this process knows it: a person owns the user's conversation (or not now)."""
        if owned:
            self._owned.add(user_id)
        else:
            self._owned.discard(user_id)

    def set_rated(self, user_id: int) -> None:
        if len(self._rated) > 10_000:  # a stale entry is only ever read once
            self._rated.clear()
        self._rated[user_id] = self.clock()

    def take_rated(self, user_id: int, within: dt.timedelta) -> bool:
        """Whether the user rated the help within `within` and has not written since (asked
        once per message: the first message after the rating)."""
        rated = self._rated.pop(user_id, None)
        return rated is not None and self.clock() - rated <= within

    def set_commenting(self, user_id: int, commenting: bool) -> None:
        if commenting:
            self._commenting.add(user_id)
        else:
            self._commenting.discard(user_id)

    async def _state(self, user_id: int) -> tuple[bool, bool]:
        async with self.sessionmaker() as session:
            return await DeskRepository(session).user_state(user_id)

    def _lock(self, user_id: int) -> asyncio.Lock:
        if len(self._locks) > 10_000:
            self._locks = {k: v for k, v in self._locks.items() if v.locked()}
        return self._locks.setdefault(user_id, asyncio.Lock())

    @contextlib.asynccontextmanager
    async def serialized(self, user_id: int) -> AsyncIterator[AsyncSession]:
        """A transaction in which no other change of the user's desk state runs: in this
        process (a lock), and with several replicas in any (the database's lock on the user,
        held to the commit), so two replicas handing one user over at once start one
        handoff."""
        async with self._lock(user_id), self.sessionmaker() as session:
            if self.shared:
                await DeskRepository(session).lock_user(user_id)
            yield session
