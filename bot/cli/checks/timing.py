"""How long `fmbot check` waits for each answer, and what it says when none came in time.

A check's timer measures the network, not this process: the modules every check imports
lazily (aiogram, the clients, SQLAlchemy's drivers, alembic: several CPU-seconds on a small
machine) are imported before any timer starts, so a busy machine cannot spend a check's 20 s
on imports and have the line blame the network. While the checks wait, a ticker measures how
late the event loop wakes; when a check times out on a loop that was held up for long, the
line says the machine was slow, not "check the network".
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import AsyncIterator, Awaitable, Sequence
from typing import TYPE_CHECKING

from bot.plugin.outcome import Outcome, failed, unexpected

if TYPE_CHECKING:
    from bot.features.settings import Settings

log = logging.getLogger(__name__)

# What the checks import lazily (so that `fmbot --help` stays fast), in the order they need
# them; the optional extras only where the settings use them. A missing one is skipped here:
# the check that needs it names the `pip install`.
CHECK_MODULES = (
    "aiogram.exceptions",
    "bot.telegram.startup",
    "bot.foundation_models.errors",
    "bot.foundation_models.speech",
    "bot.foundation_models.speech_synthesis",
    "bot.foundation_models.vector_stores",
    "bot.plugin.clients",
    "bot.wiring.model_catalog",
    "bot.wiring.preflight",
    "bot.storage.database",
    "sqlalchemy.ext.asyncio",
    "sqlalchemy.dialects.sqlite.aiosqlite",
    "alembic.script",
    "alembic.util",
)
# A wake-up this late means the process did not get the CPU: its own timers are then no
# measure of the network.
SLOW_LOOP_S = 1.0
_TICK_S = 0.1


def import_what_checks_use(settings: Settings, features: Sequence[str] = ()) -> None:
    """Import every module a check of `settings` imports (`features`: the features' checks'
    modules), before any check's timer starts."""
    extras = [
        *(["asyncpg"] if settings.database_url.startswith("postgres") else []),
        *(["bot.coordination.redisstore"] if settings.redis_url else []),
        *features,
    ]
    for name in (*CHECK_MODULES, *extras):
        try:
            importlib.import_module(name)
        except ImportError:  # an optional extra: the check that needs it says so
            log.debug("check: %s is not installed", name)


class LoopLag:
    """The latest the event loop woke a sleeping task while the checks ran (seconds)."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._asleep_since: float | None = None

    def now(self) -> float:
        """The worst lag so far, counting the tick that is late at this moment (a timeout
        fired on a loop that was held up is handled before the ticker wakes)."""
        if self._asleep_since is None:
            return self.worst
        late = asyncio.get_running_loop().time() - self._asleep_since - _TICK_S
        return max(self.worst, late)

    @contextlib.asynccontextmanager
    async def watching(self) -> AsyncIterator[LoopLag]:
        task = asyncio.ensure_future(self._tick())
        try:
            yield self
        finally:
            task.cancel()
            await asyncio.wait([task])

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._asleep_since = loop.time()
            await asyncio.sleep(_TICK_S)
            self.worst = max(self.worst, loop.time() - self._asleep_since - _TICK_S)


async def within(name: str, seconds: float, check: Awaitable[list[Outcome]],
                 lag: LoopLag | None = None) -> list[Outcome]:
    """The check's lines; any failure of its own (a reply it could not parse, a bad URL) is
    its FAIL line, never the end of the others."""
    try:
        async with asyncio.timeout(seconds):
            return await check
    except TimeoutError:
        if lag is not None and (held := lag.now()) >= SLOW_LOOP_S:
            return [failed(name, f"no answer within {seconds:g} s, while this machine was too "
                           f"busy to run fmbot for up to {held:.1f} s at a time",
                           "run the check again when the machine is less busy (a server "
                           "that answers slowly too would still fail it)")]
        return [failed(name, f"no answer within {seconds:g} s", "check the network")]
    except Exception as exc:  # whatever went wrong is this check's FAIL
        return [unexpected(name, exc)]
