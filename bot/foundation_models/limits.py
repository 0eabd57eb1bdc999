"""Per-folder limit on concurrent generations.

Yandex counts concurrent sync generations per cloud/folder as a gauge quota
(`ai.textGenerationCompletionSessionsCount`, default 10; reference §8.2-8.3). Waiting for a
slot here costs nothing; exceeding the quota costs a 429 and a retry.

A cap shared by several processes may, for a moment, not know what the others run (its store
restarted empty, or could not be reached): it may then let one generation too many through,
and Yandex refuses it with a 429. `admitted` asks the cap about such a refusal (`overran`): a
cap that cannot vouch for its count has the generation give its slot back, wait, and try again
(within the cap's bound), instead of the caller showing the refusal as an error.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Protocol, TypeVar

from bot.foundation_models.errors import RateLimitError
from bot.foundation_models.observer import Observer

logger = logging.getLogger("bot.foundation_models")
_T = TypeVar("_T")


class GenerationLimit(Protocol):
    """What the clients need of a concurrency cap: `slot(folder)` held for a generation,
    yielding the seconds spent waiting. `GenerationLimiter` caps one process; with several
    replicas the caller installs a shared one (bot/coordination, through Redis)."""

    def slot(self, folder: str) -> AbstractAsyncContextManager[float]: ...

    @property
    def waiting(self) -> int:
        """Generations of this process waiting for a slot right now."""
        ...

    async def overran(self, folder: str, waited: float) -> float | None:
        """Yandex refused a generation this cap admitted with a 429 (after the client's own
        retries), `waited` seconds after the generation's first such refusal: the seconds to
        wait, its slot given back, before it asks for a slot again and is sent again; None
        when the cap vouches for its count (the quota is used elsewhere: the caller's error)
        or the generation has waited long enough."""
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

    async def overran(self, folder: str, waited: float) -> float | None:
        return None  # the only process counting: what refused it is not this cap's doing


@asynccontextmanager
async def admitted(
    limit: GenerationLimit,
    folder: str,
    send: Callable[[], AbstractAsyncContextManager[_T]],
    *,
    endpoint: str,
    observer: Observer,
    noted: Callable[[float], None],
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> AsyncIterator[_T]:
    """A generation's slot and its request: `send()` entered holding `limit`'s slot for
    `folder` (`noted` is told each wait for one). A 429 that `limit.overran` takes for its
    own over-admission gives the slot back, waits, and sends again with a new slot; anything
    once sent through (a stream that began) is never sent again."""
    clock = asyncio.get_running_loop().time
    first: float | None = None  # when the first such refusal came
    # The pauses and slot waits since: the clock does not see a `sleep` that is not real.
    counted = 0.0
    while True:
        async with AsyncExitStack() as stack:
            waited = await stack.enter_async_context(limit.slot(folder))
            noted(waited)
            if first is not None:
                counted += waited
            try:
                sent = await stack.enter_async_context(send())
            except RateLimitError:
                first = clock() if first is None else first
                # The client's own backoff between attempts counts too (the clock's share).
                spent = max(clock() - first, counted)
                pause = await limit.overran(folder, spent)
                if pause is None:
                    raise
                # Logged per refusal: an operator sees how long the recount held a user.
                logger.warning(
                    "%s refused for the quota while the generation cap was not sure of its "
                    "count (%.1f s waited so far): slot given back, sending again in %.1f s",
                    endpoint, spent, pause,
                )
                observer.retry(endpoint, "429-recount")
            else:
                yield sent
                return
        counted += pause
        await sleep(pause)
