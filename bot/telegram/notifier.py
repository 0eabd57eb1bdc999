"""Plain replies (notices, refusals, command answers) through the Outbox."""

from __future__ import annotations

import logging
from typing import Protocol

from aiogram.exceptions import TelegramAPIError

from bot.telegram.outbox import Outbox, OutboxError

log = logging.getLogger(__name__)


class Notifier(Protocol):
    """Sends one plain text message (through the Outbox pacing in production)."""

    async def __call__(
        self, chat_id: int, text: str, *, reply_to: int | None = None, thread_id: int | None = None
    ) -> None: ...


class OutboxNotifier:
    """Plain replies through the Outbox, so they share the chat's pacing with answers."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    async def __call__(
        self, chat_id: int, text: str, *, reply_to: int | None = None, thread_id: int | None = None
    ) -> None:
        try:
            await self.outbox.send_text(chat_id, text, reply_to=reply_to, thread_id=thread_id)
        except (TelegramAPIError, OutboxError) as exc:
            # Blocked by the user, chat gone...: nothing to tell, nothing to retry.
            log.warning("could not send a reply to chat %s: %s", chat_id, exc)
