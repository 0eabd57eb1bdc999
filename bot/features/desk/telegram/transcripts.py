"""A voice note in a conversation a person owns: the operators get the voice (relayed as any
message) and, beside it in the topic, its transcript."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable

from aiogram.exceptions import TelegramAPIError
from aiogram.methods import SendMessage
from aiogram.types import Message

from bot.plugin.models import FoundationModelsError
from bot.plugin.telegram import DownloadError, Hearing, Outbox, OutboxError, audio_of

log = logging.getLogger(__name__)

# Seconds a transcript waits for its voice's first try to reach the topic (a copy deferred,
# a retry later, does not hold it longer: the chat's next messages wait behind it).
AFTER_WAIT = 10.0


async def transcript_for_operators(
    voice: Hearing, outbox: Outbox, message: Message, chat_id: int, thread_id: int,
    *, after: Awaitable[None] | None = None,
) -> None:
    """Post "🎤 <transcript>" in the user's topic; failures are logged (the voice is there).
    `after`: the voice's own copy into the topic; heard meanwhile, posted once it is done (a
    quick transcript does not come before its voice), at most `AFTER_WAIT` seconds later."""
    ref = audio_of(message)
    if ref is None or ref.too_long:
        return
    language = message.from_user.language_code if message.from_user else None
    try:
        text = await voice.transcribe(ref, language)
    except (FoundationModelsError, DownloadError) as exc:
        log.info("no transcript for the operators of message %s: %s", message.message_id, exc)
        return
    if not text:
        return
    if after is not None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(AFTER_WAIT):
                await asyncio.shield(after)
    send = SendMessage(chat_id=chat_id, message_thread_id=thread_id, text=f"🎤 {text}")
    try:
        await outbox.call(chat_id, send)
    except (OutboxError, TelegramAPIError) as exc:
        log.info("transcript not posted in topic %s: %s", thread_id, exc)
