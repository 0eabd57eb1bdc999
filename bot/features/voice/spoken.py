"""Questions asked by voice, remembered: the note leaves no trace in the stored question's
text, so an answer given again (/retry, or after a restart cut it short) is still spoken in
VOICE_REPLIES=mirror, as a reply to the original voice note."""

from __future__ import annotations

import dataclasses
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.features.voice.repository import VoiceRepository
from bot.plugin.telegram import Asked

log = logging.getLogger(__name__)


async def note_spoken(
    sessionmaker: async_sessionmaker[AsyncSession], chat_id: int, message_id: int, user_id: int
) -> None:
    """Before the question is answered: the voice note `message_id` asked it."""
    try:
        async with sessionmaker() as session:
            await VoiceRepository(session).note_spoken_question(chat_id, message_id, user_id)
            await session.commit()
    except Exception:  # an optional extra: the answer goes on, a re-given one unspoken
        log.exception("voice question %s in chat %s not noted", message_id, chat_id)


def as_asked(ask: Asked, spoken_id: int | None) -> Asked:
    """`ask` for its stored question, whose voice note is `spoken_id`
    (`VoiceRepository.voice_facts`; None: typed): spoken, replying to that note (an answer
    given again carries the new message's or no trace)."""
    if ask.spoken or spoken_id is None:
        return ask
    return dataclasses.replace(ask, question_id=spoken_id, spoken=True)
