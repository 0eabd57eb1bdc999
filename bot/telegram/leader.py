"""Long polling with several replicas: only the holder of the poller's lease polls.

Telegram answers 409 Conflict to a second getUpdates, so replicas sharing a token elect one
poller through Redis (bot/coordination/leadership.py). The others wait as hot standbys (their
metrics and health endpoints up, nothing else started); when the poller dies its lease expires
and one standby starts polling. The new poller's first getUpdates carries no offset, so
Telegram hands it every update the dead one had not confirmed, and the database's update claims
drop those it had already handled. A poller that loses its lease (Redis unreachable past the
lease's time, or taken over) stops polling at once and the process exits with LeaseLostError,
for its supervisor to restart it as a standby.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiogram import Dispatcher

from bot.coordination import Leadership, LeaseLostError
from bot.metrics import registry as metrics
from bot.telegram.app import TelegramApp
from bot.telegram.startup import restore_signals, stop_on_signals

log = logging.getLogger(__name__)


async def poll_when_leading(
    app: TelegramApp, leadership: Leadership, *, polling_timeout: int = 25
) -> None:
    """Wait for the lease (SIGTERM/SIGINT end the wait), then `app.run_polling` while held."""
    stop = stop_on_signals()
    leading = asyncio.Event()

    async def lead_and_poll() -> None:
        async with leadership.lead() as keeper:
            restore_signals()  # from here aiogram's polling handles SIGTERM and SIGINT
            leading.set()
            metrics.leader(True)
            watcher = asyncio.create_task(_stop_when_lost(app.dp, keeper.lost))
            try:
                await app.run_polling(polling_timeout)
            finally:
                watcher.cancel()
                metrics.leader(False)
            if keeper.lost.is_set():
                raise LeaseLostError("the poller's lease was lost; polling stopped")

    task = asyncio.create_task(lead_and_poll(), name="poll-when-leading")
    stopped = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done() and not leading.is_set():
            log.warning("signal received while standing by: stopping")
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return
        await task
    finally:
        stopped.cancel()
        restore_signals()


async def _stop_when_lost(dp: Dispatcher, lost: asyncio.Event) -> None:
    await lost.wait()
    log.error("the poller's lease is lost: stopping polling now")
    while True:
        try:
            await dp.stop_polling()
            return
        except RuntimeError:  # polling has not started yet (still in start-up)
            await asyncio.sleep(0.1)
