"""The kit's fake Telegram answers as the Bot API does for the outbox: its faults, its checks
and wording, its flood limits on the loop's clock, the outbox's own JSON calls."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiogram.client.default import DefaultBotProperties
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from aiogram.methods import (
    DeleteMessage,
    EditMessageText,
    SendMessage,
    SendMessageDraft,
)
from aiogram.types import Message, MessageEntity

from bot.testing.telegram.flood import FloodLimits, Refusal
from bot.testing.telegram.session import FakeTelegram
from tests.telegram.test_outbox import GROUP, PRIVATE, expected, setup, shown

# Pacing on looptime's virtual clock: exact, and the same on a busy machine.
pytestmark = pytest.mark.looptime


def telegram_with(*chats: int) -> FakeTelegram:
    telegram = FakeTelegram()
    for chat in chats:
        telegram.chat(chat)
    return telegram


async def test_faults_are_fifo_per_method_and_raise_real_errors() -> None:
    telegram = telegram_with(PRIVATE)
    bot = telegram.make_bot()
    telegram.fail_next("sendMessage", 429, retry_after=7)
    telegram.fail_next("sendMessage", 400, "Bad Request: first")
    telegram.fail_next("sendChatAction", 403, "Forbidden: bot was blocked by the user")
    # Each method's faults keep their order; the chat action's is its own.
    with pytest.raises(TelegramRetryAfter) as flood:
        await bot.send_message(PRIVATE, "a")
    assert flood.value.retry_after == 7
    with pytest.raises(TelegramBadRequest, match="first"):
        await bot.send_message(PRIVATE, "b")
    with pytest.raises(TelegramForbiddenError):
        await bot.send_chat_action(PRIVATE, "typing")
    message = await bot.send_message(PRIVATE, "c")
    assert isinstance(message, Message)
    assert message.text == "c"
    assert await bot.send_chat_action(PRIVATE, "typing") is True
    assert [(c.method, c.status) for c in telegram.sent] == [
        ("sendMessage", 429),
        ("sendMessage", 400),
        ("sendChatAction", 403),
        ("sendMessage", 200),
        ("sendChatAction", 200),
    ]


async def test_a_json_call_is_read_as_the_bot_api_reads_it() -> None:
    """The outbox posts its own calls as JSON bodies: a field left out is unset, so the bot's
    default parse mode does not apply (through aiogram, it does)."""
    telegram = telegram_with(PRIVATE)
    bot = telegram.make_bot()
    bot.default = DefaultBotProperties(parse_mode="HTML")
    status, body = await telegram.post_json(bot, "sendMessage", b'{"chat_id":7,"text":"<b>"}')
    assert status == 200
    assert json.loads(body)["result"]["text"] == "<b>"
    await bot.send_message(PRIVATE, "<b>bold</b>")
    plain, html = telegram.calls(SendMessage)
    assert plain.parse_mode is None
    assert html.parse_mode == "HTML"
    assert [m.text for m in telegram.chat(PRIVATE).bot_messages] == ["<b>", "bold"]
    status, body = await telegram.post_json(bot, "editMessageText",
                                            b'{"chat_id":7,"message_id":999,"text":"x"}')
    assert (status, json.loads(body)) == (400, {
        "ok": False, "error_code": 400, "description": "Bad Request: message to edit not found"})


async def test_the_fake_answers_like_telegram() -> None:
    telegram = telegram_with(PRIVATE, GROUP)
    bot = telegram.make_bot()
    sent = await bot.send_message(
        GROUP, "hello", entities=[MessageEntity(type="bold", offset=0, length=5)]
    )
    with pytest.raises(TelegramBadRequest, match="not modified"):
        await bot.edit_message_text(
            "hello",
            chat_id=GROUP,
            message_id=sent.message_id,
            entities=[MessageEntity(type="bold", offset=0, length=5)],
        )
    await bot.edit_message_text("hello!", chat_id=GROUP, message_id=sent.message_id)
    assert [m.text for m in telegram.chat(GROUP).bot_messages] == ["hello!"]
    with pytest.raises(TelegramBadRequest, match="to edit not found"):
        await bot.edit_message_text("x", chat_id=GROUP, message_id=999)
    with pytest.raises(TelegramBadRequest, match="too long"):
        await bot.send_message(GROUP, "😀" * 2049)  # 4098 UTF-16 units
    with pytest.raises(TelegramBadRequest, match="UTF-16 offset 3"):
        await bot.send_message(
            GROUP, "abcd", entities=[MessageEntity(type="bold", offset=3, length=2)]
        )
    with pytest.raises(TelegramBadRequest, match="TEXTDRAFT_PEER_INVALID"):  # private only
        await bot(SendMessageDraft(chat_id=GROUP, draft_id=1, text="x"))
    assert await bot(SendMessageDraft(chat_id=PRIVATE, draft_id=1, text="")) is True
    assert await bot(DeleteMessage(chat_id=GROUP, message_id=sent.message_id)) is True
    assert telegram.chat(GROUP).bot_messages == []
    telegram.block_user(PRIVATE)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(PRIVATE, "hello")


async def test_the_fake_enforces_flood_limits_on_the_loops_clock() -> None:
    telegram = telegram_with(PRIVATE, GROUP, *range(1, 41))
    telegram.flood.limits = FloodLimits.scaled(0.05)
    bot = telegram.make_bot()
    for i in range(20):  # a group: 20 per "minute" (3 s here)
        await bot.send_message(GROUP, f"message {i}")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(GROUP, "one too many")
    await bot.send_chat_action(GROUP, "typing")  # chat actions are not messages
    for text in ("burst 1", "burst 2", "burst 3"):  # a private chat: a burst of three ...
        await bot.send_message(PRIVATE, text)
    with pytest.raises(TelegramRetryAfter) as flood:
        await bot.send_message(PRIVATE, "one too many")
    assert flood.value.retry_after == 1  # in Telegram's seconds: 50 ms here
    await asyncio.sleep(flood.value.retry_after * 0.05)  # the 429's penalty, waited out
    for i in range(5):  # drafts have a budget of their own: a burst of five ...
        await bot.send_message_draft(PRIVATE, draft_id=1, text=f"draft {i}")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message_draft(PRIVATE, draft_id=1, text="one too many")
    await asyncio.sleep(1.05 * 0.05)  # ... then one message per second
    await bot.send_message(PRIVATE, "after a second")
    assert [(r.kind, r.chat_id, r.method) for r in telegram.flood.refused] == [
        ("chat", GROUP, "sendMessage"),
        ("chat", PRIVATE, "sendMessage"),
        ("draft", PRIVATE, "sendMessageDraft"),
    ]
    # When, on the loop's (virtual) clock: the draft's, after the 429's penalty of 50 ms.
    assert telegram.flood.refused[-1].at == pytest.approx(0.05)
    for i in range(40):  # 30 per 50 ms for the whole bot
        try:
            await bot.send_message(i + 1, "hello")
        except TelegramRetryAfter:
            break
    assert telegram.flood.refused[-1].kind == "global"
    assert isinstance(telegram.flood.refused[-1], Refusal)


async def test_final_shorter_than_the_stream_deletes_extra_messages() -> None:
    outbox, telegram = setup()
    handle = outbox.stream(GROUP, "supergroup", draft=False)
    handle.update("long draft " * 800)  # ~8,800 characters: three messages
    await asyncio.sleep(0.6)
    assert len(shown(telegram, GROUP)) == 3
    ids = await handle.finish("Short revised answer.")  # the model revised its text
    assert shown(telegram, GROUP) == expected("Short revised answer.")
    assert len(ids) == 1
    assert len(telegram.calls(DeleteMessage)) == 2


async def test_lost_middle_message_keeps_parts_in_order() -> None:
    outbox, telegram = setup()
    handle = outbox.stream(GROUP, "supergroup", draft=False)
    first = "\n\n".join(f"para {i} " + "word " * 300 for i in range(5))
    handle.update(first)
    await asyncio.sleep(0.5)
    parts = [m.message_id for m in telegram.chat(GROUP).bot_messages]
    assert len(parts) == 3
    telegram.state.delete_message(GROUP, parts[0])  # the user deleted the first part
    final = first.replace("para 0", "PARA 0") + "\n\nthe end"
    await handle.finish(final)
    assert shown(telegram, GROUP) == expected(final)  # in order, nothing duplicated
    assert len(telegram.calls(DeleteMessage)) == 2  # the later parts, re-sent after the first
    assert telegram.calls(EditMessageText)
