"""Noting that an answer is out: the delivery's message ids settled, and the note stored even
while the database is away (noted too late, the answer would count as not delivered)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from aiogram.exceptions import TelegramAPIError

from bot.conversation import relinquished
from bot.storage.database import unavailable
from bot.storage.outage import Outage
from bot.telegram.outbox import OutboxError

# How long a delivered answer waits for the database to note it (several replicas) before
# giving up (then it is answered again once the database is back): longer than the outages a
# supervisor or a failover usually takes.
log = logging.getLogger(__name__)

STORE_PATIENCE = 300.0


async def until_stored(
    chat_id: int,
    store: Callable[[], Awaitable[None]],
    outage: Outage | None = None,
    patience: float = STORE_PATIENCE,
) -> None:
    """Note that a delivered answer is out, waiting for the database if it is away: noted
    too late, the answer counts as not delivered and is sent again (several replicas). The
    chat's next turns wait meanwhile, as they would for the database anyway."""
    delay, deadline = 0.25, asyncio.get_running_loop().time() + patience
    waiting = False
    while True:
        try:
            await store()
        except Exception as exc:
            if not unavailable(exc) or asyncio.get_running_loop().time() > deadline:
                raise
            if outage is not None:
                outage.failed(exc, "noting an answer delivered")
            if not waiting:
                log.warning(
                    "chat %s: answer delivered, waiting for the database to note it (%s)",
                    chat_id, type(exc).__name__,
                )
                waiting = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
            continue
        if outage is not None:
            outage.succeeded()
        if waiting:
            log.info("chat %s: answer noted as delivered once the database was back", chat_id)
        return


async def settled_ids(delivery: Awaitable[list[int]]) -> list[int]:
    """Wait for a final delivery; a chat that cannot receive it is logged, not raised."""
    try:
        return await delivery
    except (TelegramAPIError, OutboxError) as exc:
        log.warning("could not deliver an answer: %s", exc)
        return []


async def outlast_relinquish(work: Coroutine[Any, Any, None]) -> None:
    """Run `work` (what follows an answer already delivered) to its end even when the running
    job is relinquished meanwhile (its chat's lease lost), then raise that relinquish: the
    answer is out, so it must be noted as such, or the chat's next holder answers it again.
    Any other cancellation (/stop, shutdown) cancels `work` as before."""
    task = asyncio.ensure_future(work)
    relinquish: asyncio.CancelledError | None = None
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError as exc:
            if task.done():
                raise
            if not relinquished(exc):
                task.cancel(*exc.args)
                await asyncio.wait({task})
                raise
            relinquish = exc
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()  # waited out, not obeyed: later awaits must not see it
    task.result()  # the work's own error, if any
    if relinquish is not None:
        raise relinquish
