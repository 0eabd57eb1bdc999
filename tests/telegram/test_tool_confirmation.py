"""Tools in the chat, through the real Dispatcher: the status while a call runs, the
confirmation card with exactly two buttons, a press after a restart (a new app and service
on the same SQLite file) that runs the call once, a cancel, an expiry."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiogram.methods import AnswerCallbackQuery, SendMessage, SendMessageDraft
from aiogram.types import Chat, InlineKeyboardMarkup, Message, User
from sqlalchemy import select

from bot.storage.database import Database
from bot.storage.models import Message as StoredMessage
from bot.storage.models import MessageStatus, ToolCall, ToolCallState
from bot.telegram.deps import BotOptions
from bot.tools import ToolDefinition
from tests.core.conftest import fake_client
from tests.core.tool_doubles import ORDER_STATUS, ShopSource, tool_loop
from tests.telegram.harness import ANNA, BORIS, GROUP, Harness, running_app

OPTIONS = BotOptions(
    text_models=("yandexgpt/latest",), default_system_prompt="You are a helpful assistant."
)
TICKET = [{"name": "open_ticket", "arguments": {"subject": "Broken kettle"}}]


@asynccontextmanager
async def tools_app(db: Database, source: ShopSource, **settings: Any) -> AsyncIterator[Harness]:
    async with running_app(db, options=OPTIONS) as h:
        model = fake_client(h.fm.url)
        h.app.conversation.tools = tool_loop(db, model, source, **settings)
        try:
            yield h
        finally:
            await h.app.queues.wait_idle()
            await model.aclose()


def card_message(h: Harness, card: SendMessage, chat: Chat | None = None) -> Message:
    """The card as Telegram shows it (its real message id), for a press on it."""
    shown = h.telegram.messages.get(int(card.chat_id), {})
    message_id = next((i for i, m in shown.items() if m.text == card.text), 9999)
    chat = chat or Chat(id=int(card.chat_id), type="private", first_name="Anna")
    return Message(message_id=message_id, date=int(time.time()), chat=chat,
                   from_user=User(id=42, is_bot=True, first_name="Test"), text=card.text)


def cards(h: Harness) -> list[SendMessage]:
    return [m for m in h.calls(SendMessage) if isinstance(m.reply_markup, InlineKeyboardMarkup)]


async def calls(db: Database) -> list[ToolCall]:
    async with db.sessionmaker() as session:
        return list(await session.scalars(select(ToolCall).order_by(ToolCall.id)))


async def test_the_draft_names_the_running_tool_and_keeps_the_text_before(
    sqlite_database: Database,
) -> None:
    # Longer than the outbox's draft interval (1 s): the status frame's slot comes.
    source = ShopSource(delay=1.5)
    async with tools_app(sqlite_database, source) as h:
        h.fm.queue_reply("Let me look that up.", tool_calls=[
            {"name": "order_status", "arguments": {"order_id": "A-1042"}}
        ])
        h.fm.queue_reply("Your order A-1042 has shipped.")
        await h.send("where is my order A-1042?")
        await h.settle()
        drafts = [d.text for d in h.calls(SendMessageDraft)]
        assert "Let me look that up.\n\nLooking up order_status…" in drafts
        assert h.texts(ANNA.id) == ["Let me look that up.\n\nYour order A-1042 has shipped."]
        assert [c.name for c in source.calls] == ["order_status"]


async def test_russian_status(sqlite_database: Database) -> None:
    source = ShopSource(delay=1.5)
    async with tools_app(sqlite_database, source) as h:
        h.fm.queue_reply("", tool_calls=[{"name": "order_status",
                                          "arguments": {"order_id": "A-1"}}])
        h.fm.queue_reply("Отправлен.")
        await h.send("где заказ A-1?", who=BORIS)
        await h.settle()
        assert "Обращаюсь к order_status…" in [d.text for d in h.calls(SendMessageDraft)]


async def test_a_confirmation_pressed_after_a_restart_runs_once(
    sqlite_database: Database,
) -> None:
    before = ShopSource()
    async with tools_app(sqlite_database, before) as h:
        h.fm.queue_reply("I can open a ticket for you.", tool_calls=TICKET)
        await h.send("please open a ticket, my kettle is broken")
        await h.settle()
        (card,) = cards(h)
        assert h.texts(ANNA.id)[0] == "I can open a ticket for you."
        assert card.text.startswith("Please confirm: Open a support ticket.")
        assert "subject: Broken kettle" in card.text
        assert isinstance(card.reply_markup, InlineKeyboardMarkup)
        (row,) = card.reply_markup.inline_keyboard
        assert [b.text for b in row] == ["✅ Confirm", "✖ Cancel"]
        confirm, cancel = (b.callback_data for b in row)
        assert confirm is not None
        assert cancel is not None
        assert before.calls == []  # nothing before the press
        card_message_in_first = card_message(h, card)
    assert (await calls(sqlite_database))[0].state is ToolCallState.PENDING_CONFIRMATION

    after = ShopSource()
    async with tools_app(sqlite_database, after) as h:  # a new process on the same file
        on = card_message_in_first  # not shown by this new simulator
        h.fm.queue_reply("Done: ticket opened.")
        await h.press(confirm, ANNA, on=on)
        await h.settle()
        await h.press(confirm, ANNA, on=on)  # pressed again
        await h.press(cancel, ANNA, on=on)
        await h.settle()
        assert [c.name for c in after.calls] == ["open_ticket"]
        assert after.calls[0].arguments == {"subject": "Broken kettle"}
        assert h.texts(ANNA.id) == ["Done: ticket opened."]
        toasts = [a.text for a in h.calls(AnswerCallbackQuery)]
        assert toasts == ["Confirmed.", "This was already answered.",
                          "This was already answered."]
    (row_after,) = await calls(sqlite_database)
    assert (row_after.state, row_after.decided_by) == (ToolCallState.DONE, ANNA.id)


async def test_cancel_tells_the_model_and_it_answers(sqlite_database: Database) -> None:
    source = ShopSource()
    async with tools_app(sqlite_database, source) as h:
        h.fm.queue_reply("", tool_calls=TICKET)
        await h.send("open a ticket")
        await h.settle()
        (card,) = cards(h)
        assert isinstance(card.reply_markup, InlineKeyboardMarkup)
        cancel = card.reply_markup.inline_keyboard[0][1].callback_data
        assert cancel is not None
        h.fm.queue_reply("All right, I did not open a ticket.")
        await h.press(cancel, ANNA, on=card_message(h, card))
        await h.settle()
        assert source.calls == []
        assert h.texts(ANNA.id)[-1] == "All right, I did not open a ticket."
        # The card says so and has no buttons left.
        assert any("Cancelled." in text for text in h.texts(ANNA.id))
        sent = h.completions()[-1]["messages"]
        assert "declined" in str(sent[-1])


async def test_in_a_group_only_the_asker_may_press(sqlite_database: Database) -> None:
    source = ShopSource()
    async with tools_app(sqlite_database, source) as h:
        h.fm.queue_reply("", tool_calls=TICKET)
        await h.send("@test_bot open a ticket", who=ANNA, chat=GROUP,
                     entities=[{"type": "mention", "offset": 0, "length": 9}])
        await h.settle()
        (card,) = cards(h)
        assert isinstance(card.reply_markup, InlineKeyboardMarkup)
        confirm = card.reply_markup.inline_keyboard[0][0].callback_data
        assert confirm is not None
        on = card_message(h, card, Chat(id=GROUP.id, type="supergroup", title="Team"))
        await h.press(confirm, BORIS, on=on)
        await h.settle()
        assert source.calls == []
        assert h.calls(AnswerCallbackQuery)[-1].text == (
            "Подтвердить может только тот, кто попросил."
        )


async def test_an_unpressed_confirmation_expires_and_the_model_answers(
    sqlite_database: Database,
) -> None:
    source = ShopSource()
    async with running_app(sqlite_database, options=OPTIONS) as h:
        model = fake_client(h.fm.url)
        h.app.conversation.tools = tool_loop(sqlite_database, model, source, confirm_ttl=0.2)
        await h.app.startup()  # starts the expiry sweep (tools are set now)
        h.fm.queue_reply("", tool_calls=TICKET)
        await h.send("open a ticket")
        await h.settle()
        h.fm.queue_reply("The confirmation expired; tell me if you still want it.")
        await h.wait_until(lambda: "expired" in " ".join(h.texts(ANNA.id)), within=5)
        await h.settle()
        assert source.calls == []
        assert "expired" in str(h.completions()[-1]["messages"][-1])
        async with sqlite_database.sessionmaker() as session:
            answer = await session.scalar(
                select(StoredMessage).order_by(StoredMessage.id.desc()).limit(1)
            )
        assert answer is not None
        assert answer.status is MessageStatus.COMPLETE
        await h.app.queues.wait_idle()
        await model.aclose()


async def test_a_restart_resumes_a_turn_cut_short_in_its_tool_calls(
    sqlite_database: Database,
) -> None:
    """As a SIGKILL leaves it: the answer `streaming`, a read done, a write `running` (outcome
    unknown). Start-up answers again: the read is not run again, the write runs again with
    the same Idempotency-Key, and the user gets one answer."""
    write = ToolDefinition("open_ticket", "Open a ticket.", {"type": "object"}, writes=True)
    first = ShopSource(tools=(ORDER_STATUS, write))
    async with tools_app(sqlite_database, first) as h:
        h.fm.queue_reply("", tool_calls=[{"name": "order_status",
                                          "arguments": {"order_id": "A-1"}}])
        h.fm.queue_reply("", tool_calls=[{"name": "open_ticket", "arguments": {"s": "x"}}])
        h.fm.queue_reply("Opened.")
        await h.send("check A-1 and open a ticket")
        await h.settle()
    read, written = await calls(sqlite_database)
    async with sqlite_database.sessionmaker() as session:
        answer = await session.get(StoredMessage, written.answer_id)
        row = await session.get(ToolCall, written.id)
        assert answer is not None
        assert row is not None
        answer.status = MessageStatus.STREAMING
        row.state, row.result = ToolCallState.RUNNING, None
        await session.commit()

    again = ShopSource(tools=(ORDER_STATUS, write))
    async with tools_app(sqlite_database, again) as h:
        h.fm.queue_reply("Checked, and the ticket is open.")
        await h.app.startup()
        await h.settle()
        assert h.texts(ANNA.id) == ["Checked, and the ticket is open."]
        assert [c.name for c in again.calls] == ["open_ticket"]
        assert again.calls[0].ctx.idempotency_key == written.idempotency_key
        # The model was asked once, with both rounds' results already there.
        (resumed,) = h.completions()
        assert len([m for m in resumed["messages"] if "toolResultList" in m]) == 2
    rows = await calls(sqlite_database)
    assert [r.id for r in rows] == [read.id, written.id]
    assert {r.state for r in rows} == {ToolCallState.DONE}
