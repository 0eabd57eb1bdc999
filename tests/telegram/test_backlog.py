"""The durable queue across a restart: accepted messages that were never handled (the process
died) are replayed at start-up, in order, behind the answers cut short; old ones get an
apology first, or are dropped with one message that says so."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
from aiogram.methods import SendMessage
from aiogram.types import Update
from sqlalchemy import func, select

from bot.storage.database import Database
from bot.storage.models import Conversation, MessageStatus, ProcessedUpdate
from bot.storage.models import Message as StoredMessage
from bot.telegram.deps import BotOptions
from bot.telegram.texts import TEXTS, Translator
from tests.telegram.harness import ANNA, BORIS, Harness, running_app

APOLOGY = TEXTS["backlog_apology"]["en"]


@pytest.fixture
async def h(sqlite_database: Database) -> AsyncIterator[Harness]:
    async with running_app(sqlite_database) as harness:
        yield harness


def options(**kwargs: object) -> BotOptions:
    return BotOptions(text_models=("yandexgpt-lite",), **kwargs)  # type: ignore[arg-type]


def queued(h: Harness, text: str, who: object = ANNA, *, age: float = 0.0) -> Update:
    message = h.message(text, who)  # type: ignore[arg-type]
    if age:
        sent = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=age)
        message = message.model_copy(update={"date": sent})
    return h.update(message=message)


async def crash_after_accepting(h: Harness, *updates: Update) -> None:
    """Telegram was told of `updates` (they are stored), then the process died before
    handling them: nothing of them is in memory any more."""
    assert await h.app.intake.accept(list(updates)) == len(updates)
    for update in updates:
        h.app.intake.take(update.update_id)


async def pending(h: Harness) -> int:
    async with h.db.sessionmaker() as session:
        stmt = select(func.count()).where(ProcessedUpdate.payload.is_not(None))
        return int(await session.scalar(stmt) or 0)


@pytest.mark.slow
async def test_queued_messages_are_answered_after_a_restart_in_order(h: Harness) -> None:
    first, second = queued(h, "first question"), queued(h, "second question")
    await crash_after_accepting(h, first, second)
    assert await pending(h) == 2
    h.fm.queue_reply("answer one")
    h.fm.queue_reply("answer two")
    await h.app.startup()
    await h.settle()
    assert h.texts(ANNA.id) == ["answer one", "answer two"]
    # Late answers quote the question they answer.
    sends = [c for c in h.calls(SendMessage) if c.chat_id == ANNA.id]
    assert [s.reply_parameters.message_id for s in sends if s.reply_parameters] == [
        first.message.message_id,  # type: ignore[union-attr]
        second.message.message_id,  # type: ignore[union-attr]
    ]
    assert await pending(h) == 0
    # A second start finds nothing left to do.
    await h.app.startup()
    await h.settle()
    assert h.texts(ANNA.id) == ["answer one", "answer two"]


async def test_replay_comes_after_the_answer_cut_short(h: Harness) -> None:
    h.fm.queue_reply("the first, lost answer")
    await h.send("question one")
    await h.settle()
    async with h.db.sessionmaker() as session:
        answer = await session.scalar(
            select(StoredMessage).where(StoredMessage.role == "assistant")
        )
        assert answer is not None
        answer.status = MessageStatus.STREAMING  # as a killed process leaves it
        await session.commit()
    await crash_after_accepting(h, queued(h, "question two"))
    h.fm.queue_reply("answer one again")
    h.fm.queue_reply("answer two")
    await h.app.startup()
    await h.settle()
    assert h.texts(ANNA.id)[-2:] == ["answer one again", "answer two"]


async def test_an_answer_cut_short_in_a_connected_accounts_chat_is_not_answered_again(
    h: Harness,
) -> None:
    """A chat kept under another type (a connected account's customer, answered as the
    owner) is no chat of the bot's: at start the answer cut short there is marked failed,
    never answered again unasked (the customer's private chat with the bot has the same id)."""
    from bot.conversation import ChatRef, Speaker
    from bot.storage.repositories import ChatRepository

    shop_chat = -(2**53) - 7
    async with h.db.sessionmaker() as session:
        await ChatRepository(session).upsert(shop_chat, "business", "Bob")
        await session.commit()
    h.fm.queue_reply("lost in the shop")
    await h.app.deps.conversation.run_turn(ChatRef(shop_chat, "business", "Bob"),
                                           Speaker(ANNA.id, "Anna"), "do you deliver?")
    async with h.db.sessionmaker() as session:
        answer = await session.scalar(
            select(StoredMessage).where(StoredMessage.role == "assistant")
        )
        assert answer is not None
        answer.status = MessageStatus.STREAMING  # as a killed process leaves it
        await session.commit()
    requests = len(h.fm.requests)
    await h.app.startup()
    await h.settle()
    assert len(h.fm.requests) == requests
    assert h.calls(SendMessage) == []
    async with h.db.sessionmaker() as session:
        stored = await session.get(StoredMessage, answer.id)
        assert stored is not None
        assert stored.status is MessageStatus.FAILED


@pytest.mark.slow
async def test_a_reset_queued_behind_an_answer_survives_a_restart(h: Harness) -> None:
    h.fm.queue_reply("before")
    await h.send("hello")
    await h.settle()
    await crash_after_accepting(h, queued(h, "/reset"), queued(h, "a fresh start"))
    h.fm.queue_reply("after")
    await h.app.startup()
    await h.settle()
    assert h.texts(ANNA.id) == ["before", TEXTS["reset_done"]["en"], "after"]
    async with h.db.sessionmaker() as session:
        conversations = list(await session.scalars(select(Conversation)))
    assert len(conversations) == 2
    # The prompt of the question after /reset holds no earlier turn.
    assert [m["text"] for m in h.completions()[-1]["messages"] if m["role"] == "user"] == [
        "a fresh start"
    ]
    assert await pending(h) == 0


async def test_an_old_queued_message_gets_an_apology_first(h: Harness) -> None:
    await crash_after_accepting(h, queued(h, "are you there?", age=2 * 3600))
    h.fm.queue_reply("yes, now")
    await h.app.startup()
    await h.settle()
    assert h.texts(ANNA.id) == [APOLOGY, "yes, now"]


async def test_an_old_answer_cut_short_gets_an_apology_first(h: Harness) -> None:
    h.fm.queue_reply("lost")
    await h.send("question")
    await h.settle()
    async with h.db.sessionmaker() as session:
        for row in await session.scalars(select(StoredMessage)):
            row.created_at = row.created_at - dt.timedelta(hours=3)
            if row.role == "assistant":
                row.status = MessageStatus.STREAMING
        await session.commit()
    h.fm.queue_reply("found")
    await h.app.startup()
    await h.settle()
    assert h.texts(ANNA.id)[-2:] == [APOLOGY, "found"]


async def test_old_queued_messages_are_dropped_with_one_message(sqlite_database: Database) -> None:
    async with running_app(sqlite_database, options=options(queue_stale_action="drop")) as h:
        old = [queued(h, f"old {n}", age=7200) for n in range(2)]
        fresh = queued(h, "a new one")
        other = queued(h, "Борис тоже ждал", BORIS, age=7200)
        await crash_after_accepting(h, *old, fresh, other)
        h.fm.queue_reply("answer to the new one")
        await h.app.startup()
        await h.settle()
        assert h.texts(ANNA.id) == [
            Translator("en")("backlog_dropped", count=2, age="1 h"),
            "answer to the new one",
        ]
        assert h.texts(BORIS.id) == [Translator("ru")("backlog_dropped", count=1, age="1 ч")]
        assert len(h.completions()) == 1
        assert await pending(h) == 0


@pytest.mark.slow
async def test_max_age_zero_never_calls_anything_old(sqlite_database: Database) -> None:
    async with running_app(sqlite_database, options=options(queue_max_age=0)) as h:
        await crash_after_accepting(h, queued(h, "from last week", age=7 * 86400))
        h.fm.queue_reply("answered")
        await h.app.startup()
        await h.settle()
        assert h.texts(ANNA.id) == ["answered"]


async def test_an_update_accepted_twice_is_handled_once(h: Harness) -> None:
    update = queued(h, "only once")
    h.fm.queue_reply("once")
    await h.app.process(update)
    await h.app.process(update)  # a webhook retry or a repeated getUpdates
    await h.settle()
    assert h.texts(ANNA.id) == ["once"]
    assert len(h.completions()) == 1


async def test_a_replayed_image_command_makes_one_job(h: Harness) -> None:
    await crash_after_accepting(h, queued(h, "/image a lighthouse at night"))
    await h.app.startup()
    await h.settle()
    await h.app.wait_idle()
    assert await pending(h) == 0
    await h.app.startup()  # nothing left to replay: no second job
    await h.settle()
    await h.app.wait_idle()
    assert len([p for p in h.model_requests() if "imageGeneration" in p]) == 1
