"""The errors router: every handler error is logged with its update id and the user gets a
short apology, sent through the outbox like every other message (so it counts in the chat's
and the bot's budgets). Returning normally marks the error handled, so polling never stops."""

from __future__ import annotations

import contextlib
import logging

from aiogram import Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ErrorEvent, Update, User

from bot.telegram.deps import Deps
from bot.telegram.outbox import OutboxError
from bot.telegram.texts import Translator

log = logging.getLogger(__name__)


def _origin(update: Update) -> tuple[int | None, int | None, User | None]:
    """The chat (and forum topic) to apologise in and the user to apologise to, if the update
    has them."""
    if update.message is not None:
        message = update.message
        thread = message.message_thread_id if message.is_topic_message else None
        return message.chat.id, thread, message.from_user
    query = update.callback_query
    if query is not None and query.message is not None:
        return query.message.chat.id, None, query.from_user
    return None, None, None


async def handle_error(event: ErrorEvent, deps: Deps) -> bool:
    update_id = event.update.update_id
    log.error(
        "error handling update %s: %r",
        update_id,
        event.exception,
        exc_info=event.exception,
        extra={"update_id": update_id},
    )
    chat_id, thread_id, user = _origin(event.update)
    if chat_id is None:
        return True
    t = Translator.for_code(user.language_code if user else None)
    # The apology must not fail in turn (the chat may be gone, or Telegram may be down).
    with contextlib.suppress(TelegramAPIError, OutboxError):
        await deps.outbox.send_text(chat_id, t("error_apology"), thread_id=thread_id)
    return True


def build_router() -> Router:
    router = Router(name=__name__)
    router.errors.register(handle_error)
    return router
