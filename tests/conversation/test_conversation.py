"""The conversation core on a migrated database, with the real client talking HTTP to the fake
Foundation Models server: turns, history, retry, reset, groups, settings, token counts."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.conversation import ChatRef, ConversationService, Speaker
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.errors import (
    InvalidRequestError,
)
from bot.foundation_models.types import Snapshot
from bot.prompting import estimate_tokens
from bot.storage.database import Database
from bot.storage.models import Conversation, DailyUsage, MessageRole, MessageStatus
from bot.storage.repositories import ChatRepository
from tests.conversation.conftest import ANNA, FOLDER, PRIVATE, make_service
from tests.conversation.helpers import COMPLETION, SYSTEM, assistant, prompts, stored, user
from tests.fakes.yandex.server import FakeFoundationModels


async def test_turn_streams_and_stores_question_and_answer(
    service: ConversationService, fm: FakeFoundationModels, database: Database
) -> None:
    fm.queue_reply("Hello there, how are you today?", chunks=3)
    seen: list[Snapshot] = []
    result = await service.run_turn(
        PRIVATE, ANNA, "Hi!", on_snapshot=seen.append, telegram_message_id=555
    )

    assert result.error is None
    assert result.status is MessageStatus.COMPLETE
    assert result.text == "Hello there, how are you today?"
    assert [s.text for s in seen][-1] == result.text
    assert len(seen) == 3
    assert result.usage is not None
    assert result.usage.completion_tokens == 6
    assert not result.trimmed_history
    assert prompts(fm) == [[SYSTEM, user("Hi!")]]

    question, answer = await stored(database, PRIVATE.chat_id)
    assert (question.role, question.status, question.text) == (
        MessageRole.USER,
        MessageStatus.COMPLETE,
        "Hi!",
    )
    assert question.author_user_id == ANNA.user_id
    assert question.author_name == "Anna"
    assert question.telegram_message_ids == [555]
    assert question.token_count is not None
    assert question.token_count > 0
    assert (answer.id, answer.status, answer.text) == (
        result.message_id,
        result.status,
        result.text,
    )
    assert answer.reply_to_id == question.id == result.user_message_id
    assert answer.token_count == 6
    assert answer.model == "yandexgpt-lite"
    async with database.sessionmaker() as session:
        usage = await session.get(DailyUsage, (ANNA.user_id, dt.datetime.now(dt.UTC).date()))
    assert usage is not None
    assert usage.tokens == result.usage.total_tokens > 0

    await service.set_answer_telegram_ids(result.message_id, [700, 701])
    assert (await stored(database))[-1].telegram_message_ids == [700, 701]


async def test_history_goes_into_the_next_prompt_and_never_across_chats(
    service: ConversationService, fm: FakeFoundationModels
) -> None:
    other = ChatRef(2002, "private")
    boris = Speaker(22, "Boris")
    await service.run_turn(PRIVATE, ANNA, "one")
    await service.run_turn(other, boris, "secret")
    await service.run_turn(PRIVATE, ANNA, "two")
    await service.run_turn(other, boris, "again")
    assert prompts(fm)[2] == [SYSTEM, user("one"), assistant("Echo: one"), user("two")]
    assert prompts(fm)[3] == [SYSTEM, user("secret"), assistant("Echo: secret"), user("again")]


async def test_retry_replaces_the_last_answer(
    service: ConversationService, fm: FakeFoundationModels, database: Database
) -> None:
    assert await service.retry_last(PRIVATE, ANNA) is None
    await service.run_turn(PRIVATE, ANNA, "one")
    fm.queue_reply("a weak answer")
    await service.run_turn(PRIVATE, ANNA, "two")
    fm.queue_reply("a better answer")
    result = await service.retry_last(PRIVATE, ANNA)
    assert result is not None
    assert result.text == "a better answer"
    assert prompts(fm)[2] == [SYSTEM, user("one"), assistant("Echo: one"), user("two")]
    assert [(m.role, m.text) for m in await stored(database)] == [
        (MessageRole.USER, "one"),
        (MessageRole.ASSISTANT, "Echo: one"),
        (MessageRole.USER, "two"),
        (MessageRole.ASSISTANT, "a better answer"),
    ]


async def test_retry_after_a_failed_answer(
    service: ConversationService, fm: FakeFoundationModels, database: Database
) -> None:
    fm.fail_next(503, path="completion")
    assert (await service.run_turn(PRIVATE, ANNA, "hello")).error is not None
    result = await service.retry_last(PRIVATE, ANNA)
    assert result is not None
    assert result.text == "Echo: hello"
    assert result.error is None
    assert [m.status for m in await stored(database)] == [MessageStatus.COMPLETE] * 2


async def test_reset_starts_a_new_conversation_and_keeps_the_old(
    service: ConversationService, fm: FakeFoundationModels, database: Database
) -> None:
    await service.run_turn(PRIVATE, ANNA, "old topic")
    await service.reset(PRIVATE.chat_id)
    await service.run_turn(PRIVATE, ANNA, "new topic")
    assert prompts(fm)[1] == [SYSTEM, user("new topic")]
    async with database.sessionmaker() as session:
        conversations = list(await session.scalars(select(Conversation).order_by(Conversation.id)))
    assert len(conversations) == 2
    assert conversations[0].closed_at is not None
    assert len(await stored(database)) == 4


async def test_group_prompts_carry_speaker_names(
    service: ConversationService, fm: FakeFoundationModels
) -> None:
    group = ChatRef(-100123, "supergroup", "Support")
    await service.run_turn(group, ANNA, "hi all")
    await service.run_turn(group, Speaker(22, "Борис"), "привет")
    assert prompts(fm)[1] == [
        SYSTEM,
        user("Anna: hi all"),
        assistant("Echo: Anna: hi all"),
        user("Борис: привет"),
    ]


async def test_tokenizer_failure_falls_back_to_the_estimate(
    database: Database, client: FoundationModelsClient, fm: FakeFoundationModels
) -> None:
    service = make_service(database, client, count_threshold=0)
    fm.fail_next(500, path="tokenizeCompletion", times=5)
    result = await service.run_turn(PRIVATE, ANNA, "count me, please")
    assert result.error is None
    question = (await stored(database))[0]
    assert question.token_count == estimate_tokens("count me, please")


async def test_old_turns_are_left_out_and_reported(
    database: Database, client: FoundationModelsClient, fm: FakeFoundationModels
) -> None:
    service = make_service(
        database, client, context_overrides={"yandexgpt-lite": 2_600}, reply_reserve=2_000
    )
    long_text = "word " * 150
    for n in range(6):
        fm.queue_reply(f"answer {n} " + long_text)
        result = await service.run_turn(PRIVATE, ANNA, f"question {n}")
    assert result.trimmed_history
    last_prompt = prompts(fm)[-1]
    assert last_prompt[0] == SYSTEM
    assert last_prompt[-1] == user("question 5")
    assert user("question 0") not in last_prompt
    assert last_prompt[1]["role"] == "user"  # whole turns only
    assert 4 <= len(last_prompt) < 2 + 5 * 2


async def test_blank_message_is_refused_before_anything_is_stored(
    service: ConversationService, fm: FakeFoundationModels, database: Database
) -> None:
    with pytest.raises(InvalidRequestError):
        await service.run_turn(PRIVATE, ANNA, "  \n ")
    assert await stored(database) == []
    assert not fm.paths()


async def test_tokenizer_counts_each_question_once_and_the_system_prompt_once(
    database: Database, client: FoundationModelsClient, fm: FakeFoundationModels
) -> None:
    service = make_service(database, client, count_threshold=0)
    for n in range(3):
        await service.run_turn(PRIVATE, ANNA, f"question {n}")
    counted = [
        r.json["messages"][0]["text"]
        for r in fm.requests
        if r.path == "/foundationModels/v1/tokenizeCompletion"
    ]
    assert sorted(counted) == sorted([SYSTEM["text"], "question 0", "question 1", "question 2"])
    questions = [m for m in await stored(database) if m.role is MessageRole.USER]
    # The fake's tokenizer: <s>, one token per word, [NL].
    assert [m.token_count for m in questions] == [4, 4, 4]


async def test_chat_settings_choose_model_and_system_prompt(
    database: Database, client: FoundationModelsClient, fm: FakeFoundationModels
) -> None:
    # A reserve too large for the chat's smaller model shrinks instead of failing the turn.
    service = make_service(database, client, reply_reserve=8_000)
    await service.run_turn(PRIVATE, ANNA, "first")
    async with database.sessionmaker() as session:
        chats = ChatRepository(session)
        await chats.set_model(PRIVATE.chat_id, "llama-lite/latest")
        await chats.set_system_prompt(PRIVATE.chat_id, "Answer in French.")
        await session.commit()
    result = await service.run_turn(PRIVATE, ANNA, "second")
    assert result.error is None
    assert result.model == "llama-lite/latest"
    last = [r.json for r in fm.requests if r.path == COMPLETION][-1]
    assert last["modelUri"] == f"gpt://{FOLDER}/llama-lite/latest"
    assert last["messages"][0] == {"role": "system", "text": "Answer in French."}
    async with database.sessionmaker() as session:
        await ChatRepository(session).set_system_prompt(PRIVATE.chat_id, "")
        await session.commit()
    await service.run_turn(PRIVATE, ANNA, "third")
    # An empty chat prompt means no system message at all (None would mean the default).
    assert prompts(fm)[-1][0] == user("first")


async def test_only_long_questions_go_to_the_tokenizer(
    service: ConversationService, fm: FakeFoundationModels, database: Database
) -> None:
    long_question = "please explain " * 40
    await service.run_turn(PRIVATE, ANNA, "short one")
    await service.run_turn(PRIVATE, ANNA, long_question)
    counted = [
        r.json["messages"][0]["text"]
        for r in fm.requests
        if r.path == "/foundationModels/v1/tokenizeCompletion"
    ]
    assert sorted(counted) == sorted([SYSTEM["text"], long_question])
    short, long = (m for m in await stored(database) if m.role is MessageRole.USER)
    assert short.token_count == estimate_tokens("short one")
    assert long.token_count == 2 + 80  # the fake's tokenizer: <s>, one per word, [NL]
