"""Per-folder limit on concurrent generations.

Yandex counts concurrent sync generations per cloud/folder as a gauge quota
(`ai.textGenerationCompletionSessionsCount`, default 10; reference §8.2-8.3). Waiting for a
slot here costs nothing; exceeding the quota costs a 429 and a retry.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol


class GenerationLimit(Protocol):
    """What the clients need of a concurrency cap: `slot(folder)` held for a generation,
    yielding the seconds spent waiting. `GenerationLimiter` caps one process; with several
    replicas the caller installs a shared one (bot/coordination, through Redis)."""

    def slot(self, folder: str) -> AbstractAsyncContextManager[float]: ...

    @property
    def waiting(self) -> int:
        """Generations of this process waiting for a slot right now."""
        ...


class GenerationLimiter:
    """One semaphore per folder; `slot()` yields the seconds spent waiting for it."""

    def __init__(self, limit: int = 10) -> None:
        if limit < 1:
            raise ValueError("the concurrency limit must be at least 1")
        self.limit = limit
        self._semaphores: dict[str, asyncio.Semaphore] = {}
        self._waiting = 0

    def _semaphore(self, folder: str) -> asyncio.Semaphore:
        semaphore = self._semaphores.get(folder)
        if semaphore is None:
            semaphore = self._semaphores[folder] = asyncio.Semaphore(self.limit)
        return semaphore

    @property
    def waiting(self) -> int:
        """How many generations are queued right now."""
        return self._waiting

    @asynccontextmanager
    async def slot(self, folder: str) -> AsyncIterator[float]:
        semaphore = self._semaphore(folder)
        started = time.monotonic()
        self._waiting += 1
        try:
            await semaphore.acquire()
        finally:
            self._waiting -= 1
        try:
            yield time.monotonic() - started
        finally:
            semaphore.release()
