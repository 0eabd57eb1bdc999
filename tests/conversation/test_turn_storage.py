"""What a turn writes, and where: the Telegram messages showing an answer are stored with it,
the chat row is read rather than rewritten, and a short question's count goes in with it."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import event

from bot.conversation import ChatRef, ConversationService, Speaker
from bot.foundation_models.types import Snapshot
from bot.prompting import estimate_tokens
from bot.storage.database import Database
from bot.storage.models import Chat, MessageStatus
from bot.storage.repositories import ChatRepository
from tests.conversation.conftest import ANNA, PRIVATE
from tests.conversation.helpers import prompts, stored, wait_for
from tests.fakes.yandex.server import FakeFoundationModels

GROUP = ChatRef(-4001, "supergroup", "Bakers")


async def test_ids_shown_while_streaming_are_stored_with_the_answer(
    service: ConversationService, fm: FakeFoundationModels, database: Database
) -> None:
    fm.queue_reply("an answer edited into one group message", chunks=4, interval=0.05)
    noted: list[asyncio.Task[None]] = []

    def on_snapshot(snapshot: Snapshot) -> None:
        if not noted:  # the group message appears with the first text, as the outbox reports
            noted.append(asyncio.create_task(service.note_streaming_ids(GROUP.chat_id, [41])))

    task = asyncio.create_task(service.run_turn(GROUP, ANNA, "hi", on_snapshot=on_snapshot))
    await wait_for(lambda: noted and noted[0].done())
    # Stored at once while streaming, so a restart after a crash can find the message.
    answer = (await stored(database, GROUP.chat_id))[-1]
    assert (answer.status, answer.telegram_message_ids) == (MessageStatus.STREAMING, [41])
    result = await task
    assert result.telegram_message_ids == (41,)
    answer = (await stored(database, GROUP.chat_id))[-1]
    assert (answer.status, answer.telegram_message_ids) == (MessageStatus.COMPLETE, [41])

    # Once stored, a late report changes nothing; without ids there is nothing to note.
    await service.note_streaming_ids(GROUP.chat_id, [99])
    await service.note_streaming_ids(GROUP.chat_id, [])
    assert (await stored(database, GROUP.chat_id))[-1].telegram_message_ids == [41]


async def test_an_answer_shown_nowhere_while_streaming_gets_its_ids_after_delivery(
    service: ConversationService, database: Database
) -> None:
    result = await service.run_turn(PRIVATE, ANNA, "hi")
    assert result.telegram_message_ids == ()  # a draft has no message id
    assert (await stored(database))[-1].telegram_message_ids == []
    await service.set_answer_telegram_ids(result.message_id, [700])
    assert (await stored(database))[-1].telegram_message_ids == [700]


async def test_a_turn_reads_the_chat_and_writes_it_only_when_it_changed(
    service: ConversationService, fm: FakeFoundationModels, database: Database
) -> None:
    writes: list[str] = []

    def capture(conn: Any, cursor: Any, sql: str, *_: Any) -> None:
        if sql.startswith(("INSERT INTO chats", "UPDATE chats")):
            writes.append(sql)

    sync_engine = database.engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", capture)
    try:
        await service.run_turn(GROUP, ANNA, "one")  # a new chat: stored
        assert len(writes) == 1
        await service.run_turn(GROUP, ANNA, "two")  # unchanged: only read
        assert len(writes) == 1
        renamed = ChatRef(GROUP.chat_id, GROUP.type, "Bakers & Co")
        await service.run_turn(renamed, ANNA, "three")
        assert len(writes) == 2
        # A reference without a title (private chats, retries) does not erase the stored one.
        await service.run_turn(ChatRef(GROUP.chat_id, GROUP.type), ANNA, "four")
        assert len(writes) == 2
    finally:
        event.remove(sync_engine, "before_cursor_execute", capture)
    async with database.sessionmaker() as session:
        chat = await session.get(Chat, GROUP.chat_id)
    assert chat is not None
    assert chat.title == "Bakers & Co"
    assert len(prompts(fm)) == 4


async def test_settings_changed_between_turns_apply_to_the_next_turn(
    service: ConversationService, fm: FakeFoundationModels, database: Database
) -> None:
    await service.run_turn(GROUP, ANNA, "one")
    async with database.sessionmaker() as session:
        await ChatRepository(session).set_system_prompt(GROUP.chat_id, "Speak like a baker.")
        await session.commit()
    await service.run_turn(GROUP, Speaker(12, "Boris"), "two")
    assert prompts(fm)[-1][0] == {"role": "system", "text": "Speak like a baker."}


async def test_a_short_question_is_stored_with_its_count(
    service: ConversationService, fm: FakeFoundationModels, database: Database
) -> None:
    fm.queue_reply("a slow answer in four parts", chunks=4, interval=0.1)
    task = asyncio.create_task(service.run_turn(PRIVATE, ANNA, "a short question"))
    await wait_for(lambda: prompts(fm))
    # Written with the question in the first unit of work, not after the answer.
    question, answer = await stored(database)
    assert answer.status is MessageStatus.STREAMING
    assert question.token_count == estimate_tokens("a short question")
    await task
    assert (await stored(database))[0].token_count == estimate_tokens("a short question")
