"""One topic per user in the support chat, however many replicas want to make it; each relay
copied once, however many replicas hold it.

In one process a lock per user is enough. With several replicas (REDIS_URL) the user's next
message may reach another replica while the first one still creates the topic; that replica
would create a second one. So topic making also holds a lease per user in Redis, and the caller
reads the case again once it holds it (the other replica may have stored the topic meanwhile).
A Redis outage does not stop the desk: after ``wait`` seconds without the lease the topic is
made anyway (a duplicate topic at worst, which operators can close).

Relays are stored before they are sent, and every replica that starts re-sends the pending
ones: a replica copies a user's relays only under that user's relay lease, after reading again
which are still pending (`try_hold`: never waits; a relay whose lease is held elsewhere is
tried again later, and then found sent). While Redis is unreachable relays wait (they stay
pending and are tried again every few seconds) rather than risk being copied twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.plugin.coordination import (
    CoordinationUnavailableError,
    Coordinator,
    Lease,
    LeaseKeeper,
    acquire_waiting,
)

log = logging.getLogger(__name__)

TTL = 30.0  # renewed every 10 s while held


class Hold(enum.Enum):
    """What `TopicLocks.try_hold` found."""

    ALONE = "alone"  # one process: no lease to take, go on
    HELD = "held"  # the lease is this replica's: read again which relays are still pending
    ELSEWHERE = "elsewhere"  # another replica copies this user's relays now: try later
    UNREACHABLE = "unreachable"  # Redis unreachable: the relays wait, tried again soon


class TopicLocks:
    def __init__(self, coordinator: Coordinator | None = None, *, wait: float = 60.0) -> None:
        self.coordinator = coordinator
        self.wait = wait
        self._local: dict[str, asyncio.Lock] = {}

    @asynccontextmanager
    async def hold(self, user_id: int) -> AsyncIterator[bool]:
        """Hold the user's topic lock; yields True when other replicas were locked out too
        (then read the case again before making a topic)."""
        name = f"desk-topic:{user_id}"
        async with self._local.setdefault(name, asyncio.Lock()):
            if self.coordinator is None:
                yield False
                return
            try:
                async with asyncio.timeout(self.wait):
                    lease = await acquire_waiting(self.coordinator, name, uuid.uuid4().hex, TTL)
            except TimeoutError:
                log.warning("support desk: topic of user %s made without the replicas' lease "
                            "(not granted within %.0f s)", user_id, self.wait)
                yield False
                return
            async with self._kept(lease):
                yield True

    @asynccontextmanager
    async def try_hold(self, user_id: int) -> AsyncIterator[Hold]:
        """The user's relay lease, if free now (see `Hold`)."""
        if self.coordinator is None:
            yield Hold.ALONE
            return
        try:
            lease = await self.coordinator.acquire_lease(
                f"desk-relays:{user_id}", uuid.uuid4().hex, TTL
            )
        except CoordinationUnavailableError as exc:
            log.warning("support desk: relays of user %s wait: %s", user_id, exc)
            yield Hold.UNREACHABLE
            return
        if lease is None:
            yield Hold.ELSEWHERE
            return
        async with self._kept(lease):
            yield Hold.HELD

    @asynccontextmanager
    async def _kept(self, lease: Lease) -> AsyncIterator[None]:
        assert self.coordinator is not None
        keeper = LeaseKeeper(self.coordinator, lease, TTL)
        keeper.start()
        try:
            yield
        finally:
            await keeper.stop()
            with contextlib.suppress(CoordinationUnavailableError):
                await self.coordinator.release_lease(lease)
