"""How many replicas are alive: each one keeps a slot in one shared semaphore.

When Redis cannot be reached, shared budgets fall back to a local share of the bot's limits
(rate / replicas); that needs the number of replicas, and it must be the one known *before*
the outage. A replica's slot expires `ttl` after its last renewal, so a dead one stops counting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.coordination.periodic import Period
from bot.coordination.protocol import CoordinationUnavailableError, Coordinator
from bot.coordination.stopping import stop_tasks

log = logging.getLogger(__name__)

SEMAPHORE = "replicas"


class Census:
    """`known`: the live replicas at the last successful count (this one included), at least
    `minimum` (a deployment may say how many it runs, so a replica that starts during an
    outage does not take the whole budget)."""

    def __init__(
        self, coordinator: Coordinator, replica: str, *, ttl: float = 30.0, minimum: int = 1
    ) -> None:
        self.coordinator = coordinator
        self.replica = replica
        self.ttl = ttl
        self.minimum = max(1, minimum)
        self._seen = self.minimum
        self._task: asyncio.Task[None] | None = None

    @property
    def known(self) -> int:
        return max(self._seen, self.minimum)

    async def count(self, *, within: float = 0.0) -> int:
        """Announce this replica and count the live ones (raises when Redis is unreachable);
        `within`: see Coordinator."""
        seen = await self.coordinator.announce(SEMAPHORE, self.replica, self.ttl, within=within)
        self._seen = max(1, seen)
        return self._seen

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="replica-census")

    async def _run(self) -> None:
        period = Period(self.ttl / 3)  # counted at start: the loop renews
        while True:
            within = await period.tick()
            try:
                await self.count(within=within)
            except CoordinationUnavailableError as exc:
                log.debug("replica census skipped: %s", exc)

    async def stop(self) -> None:
        await stop_tasks(self._task)
        self._task = None
        with contextlib.suppress(CoordinationUnavailableError):
            await self.coordinator.release_slot(SEMAPHORE, self.replica)
