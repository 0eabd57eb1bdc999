"""The poller's lease: with several replicas exactly one calls getUpdates (Telegram answers
409 Conflict to a second poller); the others wait as hot standbys and take over when the
leader's lease expires (within `ttl` plus `poll` seconds of its death)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.coordination.leases import LeaseKeeper, held_lease
from bot.coordination.protocol import Coordinator

log = logging.getLogger(__name__)

POLLER_LEASE = "poller"


class Leadership:
    """`async with leadership.lead() as keeper:` returns once this replica leads; stop
    leading when `keeper.lost` is set."""

    def __init__(
        self,
        coordinator: Coordinator,
        replica_id: str,
        *,
        name: str = POLLER_LEASE,
        # Takeover within ttl + poll (+ the new poller's start-up) of the poller's death; the
        # poller gives up after ttl * 2/3 without a renewal (Redis unreachable that long).
        ttl: float = 5.0,
        poll: float = 0.5,
    ) -> None:
        self.coordinator = coordinator
        self.replica_id = replica_id
        self.name = name
        self.ttl = ttl
        self.poll = poll

    @asynccontextmanager
    async def lead(self) -> AsyncIterator[LeaseKeeper]:
        owner = f"{self.replica_id}/{uuid.uuid4().hex[:8]}"
        log.info("replica %s: waiting for the %s lease (standby)", self.replica_id, self.name)
        async with held_lease(
            self.coordinator, self.name, owner, self.ttl, poll=self.poll
        ) as keeper:
            log.info(
                "replica %s leads (%s lease, fencing token %d)",
                self.replica_id, self.name, keeper.lease.token,
            )
            yield keeper
