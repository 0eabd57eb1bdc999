"""Conversation turns that fail, stall, get cancelled, filtered or forgotten, and the order of
turns in one chat: the history stays consistent (real client, fake server, real database)."""

from __future__ import annotations

import asyncio

import pytest

from bot.conversation import ChatRef, ContentFilteredError, ConversationService
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.errors import (
    APITimeoutError,
    RateLimitError,
    StreamError,
)
from bot.foundation_models.transport import Timeouts
from bot.foundation_models.types import Snapshot
from bot.storage.database import Database
from bot.storage.models import MessageStatus
from bot.storage.repositories import PrivacyRepository
from tests.conversation.conftest import ANNA, PRIVATE, fake_client, make_service
from tests.conversation.helpers import SYSTEM, assistant, prompts, stored, user, wait_for
from tests.fakes.yandex.server import FakeFoundationModels


@pytest.mark.slow
async def test_question_is_committed_before_the_model_is_called(
    service: ConversationService, fm: FakeFoundationModels, database: Database
) -> None:
    fm.queue_reply("a slow answer in four parts", chunks=4, interval=0.2)
    task = asyncio.create_task(service.run_turn(PRIVATE, ANNA, "question"))
    await wait_for(lambda: prompts(fm))
    # Read from another session while the answer streams: no transaction blocks us.
    question, answer = await stored(database)
    assert (question.text, question.status) == ("question", MessageStatus.COMPLETE)
    assert (answer.text, answer.status) == ("", MessageStatus.STREAMING)
    assert service.is_busy(PRIVATE.chat_id)
    result = await task
    assert result.status is MessageStatus.COMPLETE
    assert not service.is_busy(PRIVATE.chat_id)


async def test_broken_stream_stores_failed_partial_answer_kept_out_of_prompts(
    service: ConversationService, fm: FakeFoundationModels, database: Database
) -> None:
    fm.queue_reply("the beginning of an answer that breaks", chunks=4, fault="cut", fault_after=2)
    result = await service.run_turn(PRIVATE, ANNA, "first")
    assert isinstance(result.error, StreamError)
    assert result.status is MessageStatus.FAILED
    assert result.text.startswith("the beginning")
    _question, answer = await stored(database)
    assert answer.status is MessageStatus.FAILED
    assert answer.text == result.text

    await service.run_turn(PRIVATE, ANNA, "second")
    # The question stays; the failed answer does not go back to the model.
    assert prompts(fm)[1] == [SYSTEM, user("first"), user("second")]


async def test_error_before_any_text_is_returned_not_raised(
    service: ConversationService, fm: FakeFoundationModels, database: Database
) -> None:
    fm.fail_next(429, path="completion")
    result = await service.run_turn(PRIVATE, ANNA, "hello")
    assert isinstance(result.error, RateLimitError)
    assert (result.status, result.text, result.usage) == (MessageStatus.FAILED, "", None)
    assert [m.status for m in await stored(database)] == [
        MessageStatus.COMPLETE,
        MessageStatus.FAILED,
    ]


async def test_failed_answers_go_into_prompts_when_the_deployment_says_so(
    database: Database, client: FoundationModelsClient, fm: FakeFoundationModels
) -> None:
    service = make_service(database, client, include_failed_in_prompt=True)
    fm.queue_reply("partial words then nothing", chunks=4, fault="cut", fault_after=2)
    first = await service.run_turn(PRIVATE, ANNA, "first")
    await service.run_turn(PRIVATE, ANNA, "second")
    assert prompts(fm)[1] == [SYSTEM, user("first"), assistant(first.text), user("second")]


async def test_cancel_keeps_the_partial_answer_as_cancelled(
    service: ConversationService, fm: FakeFoundationModels, database: Database
) -> None:
    fm.queue_reply("one two three four five six seven eight", chunks=8, interval=0.1)
    seen: list[Snapshot] = []
    task = asyncio.create_task(service.run_turn(PRIVATE, ANNA, "tell me", on_snapshot=seen.append))
    await wait_for(lambda: len(seen) >= 2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    _question, answer = await stored(database)
    assert answer.status is MessageStatus.CANCELLED
    assert answer.text.startswith("one two")
    assert answer.text in {s.text for s in seen}
    assert not service.is_busy(PRIVATE.chat_id)
    await wait_for(lambda: fm.stream_disconnects >= 1)  # the HTTP stream was closed at once

    await service.run_turn(PRIVATE, ANNA, "again")
    assert prompts(fm)[1] == [SYSTEM, user("tell me"), user("again")]


@pytest.mark.slow
async def test_second_message_waits_for_the_first_answer(
    service: ConversationService, fm: FakeFoundationModels
) -> None:
    slow = "the first answer arrives in eight slow parts"
    fm.queue_reply(slow, chunks=8, interval=0.1)
    first = asyncio.create_task(service.run_turn(PRIVATE, ANNA, "first"))
    await wait_for(lambda: prompts(fm))
    second = asyncio.create_task(service.run_turn(PRIVATE, ANNA, "second"))
    await asyncio.sleep(0.15)
    assert len(prompts(fm)) == 1
    assert service.is_busy(PRIVATE.chat_id)
    assert (await first).text == slow
    assert (await second).text == "Echo: second"
    assert prompts(fm)[1] == [SYSTEM, user("first"), assistant(slow), user("second")]


async def test_truncated_answers_stay_in_history(
    service: ConversationService, fm: FakeFoundationModels
) -> None:
    fm.queue_reply("cut short", status="ALTERNATIVE_STATUS_TRUNCATED_FINAL")
    result = await service.run_turn(PRIVATE, ANNA, "long please")
    assert result.status is MessageStatus.TRUNCATED
    assert result.error is None
    await service.run_turn(PRIVATE, ANNA, "more")
    assert prompts(fm)[1][-2:] == [assistant("cut short"), user("more")]


async def test_content_filter_is_failed_with_its_own_error(
    service: ConversationService, fm: FakeFoundationModels
) -> None:
    fm.queue_reply("I cannot talk about that.", status="ALTERNATIVE_STATUS_CONTENT_FILTER")
    result = await service.run_turn(PRIVATE, ANNA, "something bad")
    assert result.status is MessageStatus.FAILED
    assert isinstance(result.error, ContentFilteredError)
    assert result.error.text == result.text == "I cannot talk about that."
    await service.run_turn(PRIVATE, ANNA, "next")
    assert prompts(fm)[1] == [SYSTEM, user("something bad"), user("next")]


@pytest.mark.slow
async def test_recover_interrupted_marks_leftover_placeholders_failed(
    service: ConversationService,
    fm: FakeFoundationModels,
    database: Database,
    client: FoundationModelsClient,
) -> None:
    fm.queue_reply("a slow answer in four parts", chunks=4, interval=0.5)
    task = asyncio.create_task(service.run_turn(PRIVATE, ANNA, "question"))
    await wait_for(lambda: prompts(fm))
    task.cancel()  # the cancelled turn stores its answer as cancelled...
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await stored(database))[-1].status is MessageStatus.CANCELLED
    # ...but a killed process leaves it `streaming`: simulate that row, then recover.
    async with database.sessionmaker() as session:
        row = (await stored(database))[-1]
        merged = await session.merge(row)
        merged.status = MessageStatus.STREAMING
        await session.commit()
    restarted = make_service(database, client)
    assert await restarted.recover_interrupted() == 1
    assert (await stored(database))[-1].status is MessageStatus.FAILED


async def test_data_forgotten_mid_answer_is_not_written_back(
    service: ConversationService, fm: FakeFoundationModels, database: Database
) -> None:
    private = ChatRef(ANNA.user_id, "private")  # a private chat's id is the user's id
    fm.queue_reply("a slow answer in four parts", chunks=4, interval=0.1)
    task = asyncio.create_task(service.run_turn(private, ANNA, "question"))
    await wait_for(lambda: prompts(fm))
    async with database.sessionmaker() as session:
        await PrivacyRepository(session).forget_user(ANNA.user_id)
        await session.commit()
    result = await task
    assert result.text == "a slow answer in four parts"
    assert await stored(database) == []


@pytest.mark.slow
async def test_stalled_stream_times_out_and_keeps_the_partial_answer(
    database: Database, fm: FakeFoundationModels
) -> None:
    client = fake_client(fm.url, timeouts=Timeouts(connect=2, first_byte=2, idle=0.3))
    try:
        service = make_service(database, client)
        fm.queue_reply(
            "words before the stall and after", chunks=4, fault="stall", fault_after=2, stall=1.0
        )
        result = await service.run_turn(PRIVATE, ANNA, "hello")
    finally:
        await client.aclose()
    assert isinstance(result.error, APITimeoutError)
    assert result.status is MessageStatus.FAILED
    assert result.text.startswith("words")
    assert [m.status for m in await stored(database)] == [
        MessageStatus.COMPLETE,
        MessageStatus.FAILED,
    ]


@pytest.mark.slow
async def test_a_queued_turn_cancelled_before_its_turn_leaves_nothing(
    service: ConversationService, fm: FakeFoundationModels, database: Database
) -> None:
    fm.queue_reply("the first answer arrives in eight slow parts", chunks=8, interval=0.05)
    first = asyncio.create_task(service.run_turn(PRIVATE, ANNA, "first"))
    await wait_for(lambda: prompts(fm))
    second = asyncio.create_task(service.run_turn(PRIVATE, ANNA, "second"))
    await asyncio.sleep(0.05)
    second.cancel()
    with pytest.raises(asyncio.CancelledError):
        await second
    assert service.is_busy(PRIVATE.chat_id)
    assert (await first).status is MessageStatus.COMPLETE
    assert not service.is_busy(PRIVATE.chat_id)
    assert [m.text for m in await stored(database)] == ["first", (await first).text]
