"""Tools in the chat, through the real Dispatcher: the status while a call runs, the
confirmation card with exactly two buttons, a press after a restart (a new app and service
on the same SQLite file) that runs the call once, a cancel, an expiry."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageReplyMarkup,
    EditMessageText,
    SendMessage,
    SendMessageDraft,
)
from aiogram.types import Chat, InlineKeyboardMarkup, Message, User
from sqlalchemy import select

from bot.conversation.listeners import Listeners
from bot.coordination import Coordinator, LocalCoordinator
from bot.features.tools import ToolDefinition
from bot.features.tools.loop import ToolLoop
from bot.features.tools.storage.models import ToolCall, ToolCallState
from bot.foundation_models.auth import ApiKeyAuth
from bot.foundation_models.openai_compat import OpenAICompatibleChatModel
from bot.foundation_models.responses import ResponsesChatModel
from bot.storage.database import Database
from bot.storage.models import Message as StoredMessage
from bot.storage.models import MessageStatus
from bot.telegram.deps import BotOptions
from tests.conversation.conftest import API_KEY, FOLDER, fake_client
from tests.fakes.yandex.server import FakeFoundationModels
from tests.features.tools.tool_doubles import ORDER_STATUS, ShopSource, tool_loop
from tests.telegram.harness import ANNA, BORIS, GROUP, Harness, running_app

OPTIONS = BotOptions(
    text_models=("yandexgpt/latest",), default_system_prompt="You are a helpful assistant."
)
TICKET = [{"name": "open_ticket", "arguments": {"subject": "Broken kettle"}}]


@asynccontextmanager
async def tools_app(
    db: Database,
    source: ShopSource,
    wire: str = "native",
    coordinator: Coordinator | None = None,
    owner: str = "",
    **settings: Any,
) -> AsyncIterator[Harness]:
    models: list[Any] = []
    # Who is an admin is the front's decision (ADMIN_USER_IDS), carried to the loop by the turn.
    admins = settings.pop("admins", ())

    def tools(fm: FakeFoundationModels, superseded: Listeners[[int, list[int]]]) -> ToolLoop:
        model: Any = fake_client(fm.url)
        if wire == "openai":  # TEXT_API=openai: the loop speaks /v1/chat/completions
            model = OpenAICompatibleChatModel(base_url=f"{fm.url}/v1",
                                              auth=ApiKeyAuth(API_KEY), folder_id=FOLDER)
        elif wire == "responses":  # TEXT_API=responses: /v1/responses
            model = ResponsesChatModel(base_url=f"{fm.url}/v1", auth=ApiKeyAuth(API_KEY),
                                       folder_id=FOLDER)
        models.append(model)
        return tool_loop(db, model, source, on_superseded=superseded, **settings)

    async with running_app(
        db, options=OPTIONS, tools=tools, coordinator=coordinator, owner=owner, admins=admins
    ) as h:
        try:
            yield h
        finally:
            await h.app.queues.wait_idle()
            for model in models:
                await model.aclose()


def card_message(h: Harness, card: SendMessage, chat: Chat | None = None) -> Message:
    """The card as Telegram shows it (its real message id), for a press on it."""
    shown = h.telegram.chat(int(card.chat_id)).bot_messages
    message_id = next((m.message_id for m in shown if m.text == card.text), 9999)
    chat = chat or Chat(id=int(card.chat_id), type="private", first_name="Anna")
    return Message(message_id=message_id, date=int(time.time()), chat=chat,
                   from_user=User(id=42, is_bot=True, first_name="Test"), text=card.text)


def cards(h: Harness) -> list[SendMessage]:
    return [m for m in h.calls(SendMessage) if isinstance(m.reply_markup, InlineKeyboardMarkup)]


async def calls(db: Database) -> list[ToolCall]:
    async with db.sessionmaker() as session:
        return list(await session.scalars(select(ToolCall).order_by(ToolCall.id)))


@pytest.mark.slow
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


@pytest.mark.slow
async def test_russian_status(sqlite_database: Database) -> None:
    source = ShopSource(delay=1.5)
    async with tools_app(sqlite_database, source) as h:
        h.fm.queue_reply("", tool_calls=[{"name": "order_status",
                                          "arguments": {"order_id": "A-1"}}])
        h.fm.queue_reply("Отправлен.")
        await h.send("где заказ A-1?", who=BORIS)
        await h.settle()
        assert "Обращаюсь к order_status…" in [d.text for d in h.calls(SendMessageDraft)]


@pytest.mark.parametrize("wire", ["native", "openai", "responses"])
@pytest.mark.slow
async def test_a_confirmation_pressed_after_a_restart_runs_once(
    sqlite_database: Database, wire: str
) -> None:
    before = ShopSource()
    async with tools_app(sqlite_database, before, wire) as h:
        h.fm.queue_reply("I can open a ticket for you.", tool_calls=TICKET)
        await h.send("please open a ticket, my kettle is broken")
        await h.settle()
        (card,) = cards(h)
        assert h.texts(ANNA.id)[0] == "I can open a ticket for you."
        assert card.text.startswith("Please confirm: Open a support ticket\n")
        assert "subject: Broken kettle" in card.text
        assert isinstance(card.reply_markup, InlineKeyboardMarkup)
        (row,) = card.reply_markup.inline_keyboard
        assert [b.text for b in row] == ["✅ Confirm", "✖ Cancel"]
        confirm, cancel = (b.callback_data for b in row)
        assert confirm is not None
        assert cancel is not None
        assert before.calls == []  # nothing before the press
        card_message_in_first = card_message(h, card)
        assert any("/v1/chat/completions" in p for p in h.fm.paths()) == (wire == "openai")
        assert any("/v1/responses" in p for p in h.fm.paths()) == (wire == "responses")
    assert (await calls(sqlite_database))[0].state is ToolCallState.PENDING_CONFIRMATION

    after = ShopSource()
    async with tools_app(sqlite_database, after, wire) as h:  # a new process, the same file
        on = card_message_in_first  # not shown by this new fake Telegram
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
        # Later presses only answer the callback: the card keeps the one note of the first.
        (edit,) = h.calls(EditMessageText)
        assert edit.text.endswith("\n\n✅ Confirmed.")
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
        # Told to Boris alone, by an ephemeral message tied to his press (which answers it);
        # the card keeps its buttons for Anna.
        notice = h.calls(SendMessage)[-1]
        assert notice.text == "Подтвердить может только тот, кто попросил."
        assert notice.ephemeral_message_parameters is not None
        assert notice.ephemeral_message_parameters.receiver_user_id == BORIS.id
        assert notice.ephemeral_message_parameters.callback_query_id is not None
        assert h.calls(AnswerCallbackQuery) == []
        assert h.calls(EditMessageText) == []
        assert h.calls(EditMessageReplyMarkup) == []


@pytest.mark.slow
async def test_an_unpressed_confirmation_expires_and_the_model_answers(
    sqlite_database: Database,
) -> None:
    source = ShopSource()
    async with tools_app(sqlite_database, source, confirm_ttl=0.2) as h:
        await h.app.startup()  # starts the expiry sweep
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


@pytest.mark.slow
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
        h.telegram.chat(ANNA.id)  # the bot restarted, not Telegram: Anna's chat is there
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


@pytest.mark.slow
async def test_a_group_message_shows_the_status_while_the_tool_runs(
    sqlite_database: Database,
) -> None:
    source = ShopSource(delay=1.0)
    async with tools_app(sqlite_database, source) as h:
        h.fm.queue_reply("Checking.", tool_calls=[{"name": "order_status",
                                                   "arguments": {"order_id": "A-7"}}])
        h.fm.queue_reply("A-7 has shipped.")
        await h.send("@test_bot where is A-7?", who=ANNA, chat=GROUP,
                     entities=[{"type": "mention", "offset": 0, "length": 9}])
        await h.settle()
        shown = [m.text for m in h.calls(SendMessage)] + [e.text for e in h.calls(EditMessageText)]
        assert "Checking.\n\nLooking up order_status…" in shown
        assert h.texts(GROUP.id) == ["Checking.\n\nA-7 has shipped."]


@pytest.mark.slow
async def test_with_replicas_a_press_elsewhere_is_carried_on_by_the_chats_holder(
    sqlite_database: Database,
) -> None:
    """Two replicas on one database and one coordinator: the press reaches b, which takes
    the chat's lease (a is idle) and carries the turn on as a resumed one; a runs nothing."""
    shared = LocalCoordinator()
    on_a, on_b = ShopSource(), ShopSource()
    async with (
        tools_app(sqlite_database, on_a, coordinator=shared, owner="a") as a,
        tools_app(sqlite_database, on_b, coordinator=shared, owner="b") as b,
    ):
        a.fm.queue_reply("I can open one.", tool_calls=TICKET)
        update = a.update(message=a.message("open a ticket"))
        assert await a.app.intake.accept([update], dispatch_here=False)
        assert a.app.leases is not None
        assert a.app.leases.route(update)
        await a.wait_until(lambda: cards(a), within=10)
        await a.settle()
        (card,) = cards(a)
        assert isinstance(card.reply_markup, InlineKeyboardMarkup)
        confirm = card.reply_markup.inline_keyboard[0][0].callback_data
        assert confirm is not None
        async with asyncio.timeout(5):
            while await shared.lease_token(f"chat:{ANNA.id}") is not None:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        b.fm.queue_reply("Opened.")
        await b.press(confirm, ANNA, on=card_message(a, card))
        await b.wait_until(lambda: any("Opened." in x for x in b.texts(ANNA.id)), within=10)
        await b.settle()
        assert [c.name for c in on_b.calls] == ["open_ticket"]
        assert on_a.calls == []
        assert b.texts(ANNA.id)[-1] == "I can open one.\n\nOpened."
    (row,) = await calls(sqlite_database)
    assert row.state is ToolCallState.DONE


async def test_stop_during_a_call_stops_the_turn(sqlite_database: Database) -> None:
    source = ShopSource(delay=30)
    async with tools_app(sqlite_database, source) as h:
        h.fm.queue_reply("Let me look.", tool_calls=[{"name": "order_status",
                                                      "arguments": {"order_id": "A-1"}}])
        await h.send("where is A-1?")
        await h.wait_until(lambda: bool(source.calls), within=10)
        await h.send("/stop")
        await h.settle()
        assert h.texts(ANNA.id) == ["Let me look.\n\n[stopped]"]
        assert len(h.completions()) == 1
    (row,) = await calls(sqlite_database)
    assert (row.state, row.outcome) == (ToolCallState.FAILED, "cancelled")


async def test_a_new_message_takes_the_buttons_off_the_waiting_card(
    sqlite_database: Database,
) -> None:
    source = ShopSource()
    async with tools_app(sqlite_database, source) as h:
        h.fm.queue_reply("", tool_calls=TICKET)
        await h.send("open a ticket")
        await h.settle()
        (card,) = cards(h)
        for _ in range(100):  # the card's message id is noted in the background
            if (await calls(sqlite_database))[0].confirm_message_id is not None:
                break
            await asyncio.sleep(0.02)
        await h.send("actually, what are your opening hours?")
        await h.settle()
        await h.wait_until(lambda: h.calls(EditMessageReplyMarkup), within=5)
        (edit,) = h.calls(EditMessageReplyMarkup)
        assert edit.reply_markup is None
        assert edit.message_id == card_message(h, card).message_id
        assert source.calls == []


async def test_the_card_names_the_action_in_the_users_language(
    sqlite_database: Database,
) -> None:
    source = ShopSource()
    async with tools_app(sqlite_database, source) as h:
        h.fm.queue_reply("", tool_calls=TICKET)
        await h.send("откройте обращение, чайник сломался", who=BORIS)
        await h.settle()
        (card,) = cards(h)
        assert card.text.startswith("Подтвердите действие: Открыть обращение в поддержку\n")
        assert "• subject: Broken kettle" in card.text
        assert "Open a support ticket." not in card.text, "the model's description stays out"
        assert isinstance(card.reply_markup, InlineKeyboardMarkup)
        assert [b.text for b in card.reply_markup.inline_keyboard[0]] == [
            "✅ Подтвердить", "✖ Отменить"]


async def test_a_press_counts_only_on_the_calls_own_card(sqlite_database: Database) -> None:
    """The button's data names only the call: a copy of it on another message (a forged
    card in Anna's private chat, another message in the group) confirms nothing (issue 45)."""
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
        real = card_message(h, card, Chat(id=GROUP.id, type="supergroup", title="Team"))
        forged_private = real.model_copy(update={
            "chat": Chat(id=ANNA.id, type="private", first_name="Anna")})
        other_message = real.model_copy(update={"message_id": real.message_id + 1000})
        for forged in (forged_private, other_message):
            await h.press(confirm, ANNA, on=forged)
            await h.settle()
        assert source.calls == []
        refusal = "This button does not belong to this confirmation: nothing was done."
        # In the private chat as an alert; in the group to Anna alone (an ephemeral message).
        assert [a.text for a in h.calls(AnswerCallbackQuery)] == [refusal]
        notice = h.calls(SendMessage)[-1]
        assert notice.text == refusal
        assert notice.ephemeral_message_parameters is not None
        assert notice.ephemeral_message_parameters.receiver_user_id == ANNA.id
        (row,) = await calls(sqlite_database)
        assert row.state is ToolCallState.PENDING_CONFIRMATION
        h.fm.queue_reply("Ticket opened.")
        await h.press(confirm, ANNA, on=real)
        await h.settle()
        assert [c.name for c in source.calls] == ["open_ticket"]
        assert source.calls[0].ctx.chat_id == GROUP.id


@pytest.mark.slow
async def test_reset_declines_what_waits_for_a_press(sqlite_database: Database) -> None:
    source = ShopSource()
    async with tools_app(sqlite_database, source) as h:
        h.fm.queue_reply("", tool_calls=TICKET)
        await h.send("open a ticket")
        await h.settle()
        (card,) = cards(h)
        assert isinstance(card.reply_markup, InlineKeyboardMarkup)
        confirm = card.reply_markup.inline_keyboard[0][0].callback_data
        assert confirm is not None
        on = card_message(h, card)
        await h.send("/reset", entities=[{"type": "bot_command", "offset": 0, "length": 6}])
        await h.settle()
        await h.press(confirm, ANNA, on=on)
        await h.settle()
        assert source.calls == []
        (row,) = await calls(sqlite_database)
        assert row.state is ToolCallState.DECLINED
        assert h.calls(AnswerCallbackQuery)[-1].text == "This was already answered."
        # The card lost its buttons.
        assert any(e.message_id == on.message_id and e.reply_markup is None
                   for e in h.calls(EditMessageReplyMarkup))


async def test_the_card_shows_every_argument_whole_and_visible(
    sqlite_database: Database,
) -> None:
    """A long value is folded, never cut; invisible and direction-changing characters are
    shown as marks, so the person sees what they confirm (issue 45)."""
    long_subject = "Refund order A-1 " + "x" * 600 + " to account 4242"
    tricky = "pay to \u202eevil\u202c\u200b"
    huge = "".join(f"line {n:05d} of the body\n" for n in range(600))  # about 14,000 chars
    arguments = {"subject": long_subject, "note": tricky, "body": huge}
    source = ShopSource()
    async with tools_app(sqlite_database, source) as h:
        h.fm.queue_reply("", tool_calls=[{"name": "open_ticket", "arguments": arguments}])
        await h.send("open a ticket")
        await h.settle()
        shown = h.calls(SendMessage)  # the model wrote nothing before its call: cards only
        *details, card = shown
        assert isinstance(card.reply_markup, InlineKeyboardMarkup)
        assert card.text.startswith("Please confirm: Open a support ticket\n")
        assert "(the details are in the messages above)" in card.text
        assert details
        assert all(m.reply_markup is None for m in details)
        assert all(len(m.text.encode("utf-16-le")) // 2 <= 4096 for m in shown)
        everything = "\n".join(m.text for m in details)
        assert long_subject in everything  # whole, not cut at 300
        assert "pay to ⟨U+202E⟩evil⟨U+202C⟩⟨U+200B⟩" in everything
        assert not any(c in everything for c in "\u202e\u202c\u200b")
        folded = "".join(
            m.text.encode("utf-16-le")[2 * e.offset: 2 * (e.offset + e.length)]
            .decode("utf-16-le")
            for m in details for e in (m.entities or []) if e.type == "expandable_blockquote"
        )
        assert huge.rstrip("\n") in folded  # every line of the body, folded
        assert long_subject in folded
    assert source.calls == []


async def test_a_long_value_is_folded_on_the_card_itself(sqlite_database: Database) -> None:
    subject = "Refund order A-1 " + "y" * 600 + " to account 4242"
    source = ShopSource()
    async with tools_app(sqlite_database, source) as h:
        h.fm.queue_reply("", tool_calls=[{"name": "open_ticket",
                                          "arguments": {"subject": subject}}])
        await h.send("open a ticket")
        await h.settle()
        (card,) = h.calls(SendMessage)
        assert isinstance(card.reply_markup, InlineKeyboardMarkup)
        (fold,) = card.entities
        assert fold.type == "expandable_blockquote"
        assert card.text[fold.offset:fold.offset + fold.length] == subject  # ASCII: offsets
        assert card.text.endswith("This waits 10 min.")
