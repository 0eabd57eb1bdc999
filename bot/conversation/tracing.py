"""What a feature learns of an answer after it was stored, added to its stored trace.

The support desk decides a handoff once the answer is stored (two "not found" in a row) or on
the customer's next message (they asked for a person): the rule that fired belongs in the
trace of the answer it followed. `add_to_trace` reads the stored trace, adds the entry under
the same bounds as the turn's own (`Trace.add`, `Trace.dumps`) and writes it back; the caller
commits, as with every repository.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.conversation.trace import Trace
from bot.storage.models import AnswerTrace, Conversation, Message, MessageRole
from bot.storage.repositories import TraceRepository


async def newest_answer(session: AsyncSession, chat_id: int) -> int | None:
    """The database id of the newest answer in the chat's newest conversation, or None (an
    answer of an earlier conversation is not what a new one's first message followed)."""
    newest = select(func.max(Conversation.id)).where(Conversation.chat_id == chat_id)
    return await session.scalar(
        select(Message.id)
        .where(Message.conversation_id == newest.scalar_subquery(),
               Message.role == MessageRole.ASSISTANT)
        .order_by(Message.id.desc()).limit(1))


async def add_to_trace(
    session: AsyncSession, answer_id: int, key: str, value: object,
    tags: Iterable[str] = (),
) -> bool:
    """Set the entry `key` of the answer's stored trace to `value` and add `tags` (a trace
    is made when the answer had none); False when the answer is gone (erased)."""
    if await session.get(Message, answer_id) is None:
        return False
    stored = (await session.execute(
        select(AnswerTrace.data, AnswerTrace.tags).where(AnswerTrace.answer_id == answer_id)
    )).first()
    trace = Trace()
    if stored is not None:
        loaded = json.loads(stored.data)
        for name, entry in (loaded.items() if isinstance(loaded, dict) else ()):
            trace.add(str(name), entry)
        trace.tag(*(t for t in stored.tags.split("\n") if t))
    trace.add(key, value)
    trace.tag(*tags)
    await TraceRepository(session).save(answer_id, trace.dumps(), trace.tags)
    return True
