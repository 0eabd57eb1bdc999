"""A voice note in a conversation a person owns: the operators get the voice (relayed as any
message) and, beside it in the topic, its transcript."""

from __future__ import annotations

import logging

from aiogram.exceptions import TelegramAPIError
from aiogram.methods import SendMessage
from aiogram.types import Message

from bot.plugin.models import FoundationModelsError
from bot.plugin.telegram import DownloadError, Hearing, Outbox, OutboxError, audio_of

log = logging.getLogger(__name__)


async def transcript_for_operators(
    voice: Hearing, outbox: Outbox, message: Message, chat_id: int, thread_id: int
) -> None:
    """Post "🎤 <transcript>" in the user's topic; failures are logged (the voice is there)."""
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
    send = SendMessage(chat_id=chat_id, message_thread_id=thread_id, text=f"🎤 {text}")
    try:
        await outbox.call(chat_id, send)
    except (OutboxError, TelegramAPIError) as exc:
        log.info("transcript not posted in topic %s: %s", thread_id, exc)
