"""An answer's trace is stored with it once, replaced when the answer is stored again (carried
on after a press), and goes with it."""

from __future__ import annotations

from sqlalchemy import delete, select

from bot.storage.database import Database
from bot.storage.models import AnswerTrace, Message, MessageRole, MessageStatus
from bot.storage.repositories import (
    ChatRepository,
    ConversationRepository,
    MessageRepository,
    TraceRepository,
)


async def test_a_trace_is_replaced_and_goes_with_its_answer(database: Database) -> None:
    async with database.sessionmaker() as session:
        await ChatRepository(session).upsert(5, "private")
        conversation = await ConversationRepository(session).current(5)
        messages = MessageRepository(session)
        question = await messages.add(conversation.id, MessageRole.USER, "hi",
                                      author_user_id=5)
        answer = await messages.add(conversation.id, MessageRole.ASSISTANT, "",
                                    status=MessageStatus.STREAMING, reply_to_id=question.id)
        traces = TraceRepository(session)
        await traces.save(answer.id, '{"model": {"status": "waiting"}}', ["tool:a"])
        await traces.save(answer.id, '{"model": {"status": "complete"}}', ["tool:a", "notfound"])
        await session.commit()
        assert await traces.of_answers([answer.id]) == {
            answer.id: {"model": {"status": "complete"}}}
        assert list(await session.scalars(select(AnswerTrace.tags))) == [
            "\nnotfound\ntool:a\n"]
        await session.execute(delete(Message).where(Message.id == question.id))
        await session.commit()
        assert await traces.of_answers([answer.id]) == {}
