"""`fmbot run` keeps the index current: a sync at start, then every KB_SYNC_INTERVAL seconds
(and on demand, `/kb sync`). The bot answers from what is indexed meanwhile. A failed sync is
logged and tried again at the next interval; it never stops the bot. The same loop keeps a
Yandex Vector Store current (KB_BACKEND=yandex: store_sync.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from bot.features.knowledge.indexer import SyncReport

log = logging.getLogger(__name__)


class Syncable(Protocol):
    """The local knowledge base, or the sync of a Yandex Vector Store."""

    async def sync(self) -> SyncReport: ...


class BackgroundSync:
    def __init__(self, knowledge: Syncable, *, interval: float) -> None:
        self.knowledge = knowledge
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="kb-sync")

    def request(self) -> None:
        """Sync now (or right after the running one)."""
        self._wake.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            await sync_logged(self.knowledge)
            timeout = self.interval if self.interval > 0 else None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()


async def sync_logged(knowledge: Syncable) -> SyncReport | None:
    """One sync, its summary logged; None (logged with the traceback) when it failed."""
    try:
        report = await knowledge.sync()
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("knowledge base sync failed; the index stays as it was")
        return None
    if report.removal_refused:
        log.warning("knowledge base sync kept the index: %s", report.refusal())
    for skipped in report.skipped:
        log.warning("knowledge base: skipped %s: %s", skipped.path, skipped.reason)
    log.info(
        "knowledge base synced: %d files (%d indexed, %d unchanged, %d removed), %d passages, "
        "%d embedded, %d reused, %d skipped, %.1fs",
        report.files, report.indexed, report.unchanged, report.removed, report.passages,
        report.embedded, report.reused, len(report.skipped), report.seconds,
    )
    return report
