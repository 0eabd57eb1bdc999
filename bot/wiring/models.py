"""At `run` start: the wire lines in the log, and the models check as a background task (the
bot answers meanwhile; a model the API refuses is logged, never fatal), cancelled at
shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from bot.config.wire import wire_lines
from bot.features.settings import Settings

if TYPE_CHECKING:
    from bot.wiring.core import Core

log = logging.getLogger("bot")


@contextlib.asynccontextmanager
async def watch_models(settings: Settings, c: Core) -> AsyncIterator[None]:
    from bot.wiring.model_catalog import log_models

    for name, detail in wire_lines(settings):
        log.info("%s: %s", name, detail)
    task = asyncio.get_running_loop().create_task(
        log_models(settings, c.features, c.client, c.chat_model, c.auth), name="models-check")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
