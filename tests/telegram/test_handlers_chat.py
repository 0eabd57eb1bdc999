"""Chat answers through the real Dispatcher: streaming, queueing, /stop, groups, dedupe."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiogram.methods import SendChatAction, SendMessage, SendMessageDraft
from aiogram.types import Chat, MessageEntity
from sqlalchemy import select

from bot.storage.database import Database
from bot.storage.models import Message as StoredMessage
from bot.storage.models import MessageRole, MessageStatus
from bot.telegram.deps import speaker, target
from bot.telegram.texts import Translator
from tests.telegram.harness import ANNA, BORIS, GROUP, Harness, Person, running_app


@pytest.fixture
async def h(sqlite_database: Database) -> AsyncIterator[Harness]:
    async with running_app(sqlite_database) as harness:
        yield harness


async def stored(h: Harness, chat_id: int | None = None) -> list[StoredMessage]:
    async with h.db.sessionmaker() as session:
        rows = await session.scalars(select(StoredMessage).order_by(StoredMessage.id))
        return list(rows)


async def test_private_message_gets_a_streamed_answer(h: Harness) -> None:
    h.fm.queue_reply("Hello **there**, friend!", chunks=5, interval=0.02)
    await h.send("hi")
    await h.settle()
    assert h.texts(ANNA.id) == ["Hello there, friend!"]
    final = h.calls(SendMessage)[-1]
    assert [e.type for e in final.entities] == ["bold"]  # Markdown rendered as entities
    assert final.parse_mode is None
    drafts = h.calls(SendMessageDraft)
    assert drafts
    assert drafts[0].text in (None, "")  # "Thinking…" first
    assert all(d.can_stop for d in drafts)
    rows = await stored(h)
    assert [(r.role, r.status) for r in rows] == [
        (MessageRole.USER, MessageStatus.COMPLETE),
        (MessageRole.ASSISTANT, MessageStatus.COMPLETE),
    ]
    assert rows[1].telegram_message_ids == [h.texts(ANNA.id) and final_id(h)]
    assert not h.telegram.flood.refused


def final_id(h: Harness) -> int:
    return max(m.message_id for m in h.telegram.chat(ANNA.id).bot_messages)


async def test_duplicate_update_is_answered_once(h: Harness) -> None:
    update = h.update(message=h.message("hello once"))
    await h.feed(update)
    await h.feed(update)  # a webhook retry or a restart redelivers it
    await h.settle()
    assert h.texts(ANNA.id) == ["Echo: hello once"]
    assert len(h.model_requests()) == 1


@pytest.mark.slow
async def test_messages_sent_while_streaming_are_answered_in_order(h: Harness) -> None:
    h.fm.queue_reply("first answer", chunks=6, interval=0.03)
    # Polling hands every update to its own task at once; order must still hold.
    await asyncio.gather(*(h.send(text) for text in ("one", "two", "three")))
    await h.settle()
    assert h.texts(ANNA.id) == ["first answer", "Echo: two", "Echo: three"]
    users = [r.text for r in await stored(h) if r.role is MessageRole.USER]
    assert users == ["one", "two", "three"]
    finals = [m for m in h.calls(SendMessage) if m.text.startswith(("first", "Echo"))]
    # Answers that waited quote their question; the first one did not need to.
    assert [m.reply_parameters is not None for m in finals] == [False, True, True]


async def test_a_question_behind_an_unfinished_answer_knows_it_waits(h: Harness) -> None:
    # At every loop step from the first answer's submission to its delivery, a question
    # behind it must see that it will be answered later (and so be quoted). That includes the
    # steps after the worker took the first job but before its task began to run: the suite
    # once saw a question arrive then and go unquoted.
    h.fm.queue_reply("first answer", chunks=3, interval=0.01)
    first, second = h.app.queues.take(ANNA.id), h.app.queues.take(ANNA.id)
    question = h.message("one")
    h.app.answers.submit_turn(
        first, target(question), speaker(question, is_admin=False), "one",
        Translator.for_code("en"), question.message_id,
    )
    steps: list[bool] = []
    async with asyncio.timeout(10):
        while not any(m.text == "first answer" for m in h.calls(SendMessage)):
            steps.append(h.app.answers.answered_later(second))
            await asyncio.sleep(0)
    assert steps
    assert all(steps), f"not waiting at loop step {steps.index(False)}"
    second.release()
    await h.settle()
    assert not h.app.answers.writing(ANNA.id)


async def test_chats_are_answered_concurrently(h: Harness) -> None:
    h.fm.queue_reply("slow answer for Anna", chunks=10, interval=0.05)
    await h.send("anna asks")
    await h.send("boris asks", who=BORIS)
    await h.wait_until(lambda: h.texts(BORIS.id))
    assert h.texts(ANNA.id) == []  # Boris did not wait for Anna's long answer
    await h.settle()
    assert h.texts(ANNA.id) == ["slow answer for Anna"]


async def test_stop_command_cancels_and_keeps_the_partial_answer(h: Harness) -> None:
    h.fm.queue_reply("word " * 40, chunks=40, interval=0.05)
    await h.send("tell me a long story")
    await h.wait_until(lambda: any(d.text for d in h.calls(SendMessageDraft)))
    await h.send("/stop")
    await h.settle()
    shown = h.texts(ANNA.id)
    assert len(shown) == 1
    assert shown[0].startswith("word")
    assert shown[0].endswith("[stopped]")
    answer = (await stored(h))[-1]
    assert answer.status is MessageStatus.CANCELLED
    assert answer.text.startswith("word")


async def test_stop_button_cancels_its_own_answer(h: Harness) -> None:
    h.fm.queue_reply("word " * 40, chunks=40, interval=0.05)
    await h.send("story please")
    await h.wait_until(lambda: any(d.text for d in h.calls(SendMessageDraft)))
    draft_id = h.calls(SendMessageDraft)[-1].draft_id
    await h.stop_button(ANNA.id, draft_id + 1)  # some other draft: ignored
    await h.stop_button(ANNA.id, draft_id)
    await h.settle()
    assert h.texts(ANNA.id)[-1].endswith("[stopped]")
    assert (await stored(h))[-1].status is MessageStatus.CANCELLED


async def test_stop_with_nothing_running_says_so(h: Harness) -> None:
    await h.send("/stop")
    await h.settle()
    assert h.texts(ANNA.id) == ["Nothing is being written right now."]


def mention(text: str, username: str = "test_bot") -> list[MessageEntity]:
    offset = text.index("@" + username)
    return [MessageEntity(type="mention", offset=offset, length=len(username) + 1)]


async def test_groups_answer_only_when_addressed(h: Harness) -> None:
    await h.send("just chatting among humans", chat=GROUP)
    other = "hey @someone_else look"
    await h.send(other, chat=GROUP, entities=mention(other, "someone_else"))
    await h.settle()
    assert h.texts(GROUP.id) == []
    assert h.model_requests() == []

    text = "@test_bot what is 2+2?"
    await h.send(text, chat=GROUP, entities=mention(text))
    await h.settle()
    # The model sees who speaks, without the bot's @mention.
    assert h.texts(GROUP.id) == ["Echo: Anna: what is 2+2?"]
    answer = h.calls(SendMessage)[-1]
    assert answer.reply_parameters is not None  # groups: the answer replies to the question
    assert h.calls(SendMessageDraft) == []  # no drafts in groups
    assert h.calls(SendChatAction)  # typing while waiting instead

    # A reply to the bot's own message is addressed to it too.
    reply_target = h.message("Echo: ...", Person(42, "Test", is_bot=True), GROUP)
    await h.send("and 3+3?", who=BORIS, chat=GROUP, reply_to=reply_target)
    await h.settle()
    assert h.texts(GROUP.id)[-1] == "Echo: Борис: and 3+3?"
    speakers = [r.author_name for r in await stored(h) if r.role is MessageRole.USER]
    assert speakers == ["Anna", "Борис"]


async def test_other_bots_are_ignored(h: Harness) -> None:
    robot = Person(77, "Robot", is_bot=True)
    text = "@test_bot ping"
    await h.send(text, who=robot, chat=GROUP, entities=mention(text))
    await h.send("ping", who=robot, chat=Chat(id=77, type="private"))
    await h.settle()
    assert h.telegram.sent == []


async def test_model_errors_become_clear_messages(h: Harness) -> None:
    h.fm.fail_next(429)
    await h.send("hello?")
    await h.settle()
    assert h.texts(ANNA.id) == [
        "The model is overloaded right now (quota reached). Please try again in a minute."
    ]
    assert (await stored(h))[-1].status is MessageStatus.FAILED


async def test_a_cut_stream_keeps_the_partial_answer(h: Harness) -> None:
    h.fm.queue_reply("Partial answer that never ends", chunks=5, fault="cut", fault_after=3)
    await h.send("hello?")
    await h.settle()
    shown = h.texts(ANNA.id)
    assert shown[0].startswith("Partial")
    assert shown[-1] == "Something went wrong while answering. Please try again."


async def test_answers_in_russian_for_russian_users(h: Harness) -> None:
    h.fm.fail_next(500)
    await h.send("привет", who=BORIS)
    await h.settle()
    assert h.texts(BORIS.id) == ["При ответе что-то пошло не так. Попробуйте ещё раз."]


@pytest.mark.slow
async def test_a_long_paste_split_by_telegram_is_one_question(h: Harness) -> None:
    parts = ["a" * 4000, "b" * 4000, "c" * 500]
    # The client sends the parts at once; polling hands each to its own task.
    await asyncio.gather(*(h.send(part) for part in parts))
    await h.send("a separate question afterwards")
    await h.settle()
    questions = [r.text for r in await stored(h) if r.role is MessageRole.USER]
    assert questions == ["\n".join(parts), "a separate question afterwards"]
    assert len(h.completions()) == 2


@pytest.mark.slow
async def test_an_answer_stops_when_the_user_blocks_the_bot(h: Harness) -> None:
    h.fm.queue_reply("word " * 60, chunks=60, interval=0.05)
    await h.send("a long story please")
    await h.wait_until(lambda: any(d.text for d in h.calls(SendMessageDraft)))
    h.telegram.block_user(ANNA.id)  # every call to the chat now answers 403
    await h.settle(within=5)
    answer = (await stored(h))[-1]
    assert answer.status is MessageStatus.CANCELLED  # stopped early, not streamed to the end
    assert answer.text.count("word") < 60
