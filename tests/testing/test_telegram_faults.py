"""Telegram's refusals through bot.testing, as a developer's test meets them: the tester's
Telegram is the kit's fake Bot API, so a 429 with retry_after (`fail_next`), a user who
blocked the bot (`block_user`), a 5xx, or flood limits turned on (`flood.limits`) reach the
bot as aiogram raises them from the real server, and the chat's state (`chat(id)`) shows
what the user saw."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter

from bot import App
from bot.testing import BotTester, ScriptedModel
from bot.testing.telegram import FakeTelegram
from bot.testing.telegram.flood import FloodLimits

pytestmark = [pytest.mark.timeout(60)]


def answering(text: str) -> ScriptedModel:
    model = ScriptedModel()
    model.when("hello").answer(text)
    return model


async def test_a_429_is_waited_out_and_the_answer_still_arrives() -> None:
    async with BotTester(App(env_file=None), model=answering("Hi there.")) as tester:
        anna = tester.user("Anna")
        tester.telegram.fail_next("sendMessage", 429, retry_after=1, chat_id=anna.id)
        reply = await anna.says("hello")
    assert reply.text == "Hi there."
    refused = [c for c in reply.calls if c.method == "sendMessage"]
    assert len(refused) >= 2, "the refused send was made again"
    assert tester.telegram.state.count_429 == 1


async def test_a_user_who_blocked_the_bot_gets_nothing_and_the_bot_goes_on() -> None:
    async with BotTester(App(env_file=None), model=answering("Hi there.")) as tester:
        anna, boris = tester.user("Anna"), tester.user("Boris")
        await anna.says("hello")
        tester.telegram.block_user(anna.id)
        blocked = await anna.says("hello")
        assert blocked.messages == ()
        assert [c for c in tester.telegram.state.calls
                if c.chat_id == anna.id and c.status == 403]
        assert (await boris.says("hello")).text == "Hi there."
        tester.telegram.unblock_user(anna.id)
        assert (await anna.says("hello")).text == "Hi there."


async def test_the_chat_state_shows_what_the_user_saw() -> None:
    async with BotTester(App(env_file=None), model=answering("Hi there.")) as tester:
        anna = tester.user("Anna")
        await anna.says("hello")
        chat = tester.telegram.chat(anna.id)
    assert [m.text for m in chat.messages] == ["hello", "Hi there."]
    assert [m.text for m in chat.bot_messages] == ["Hi there."]
    assert chat.user is not None
    assert chat.user["first_name"] == "Anna"


async def test_the_in_process_session_answers_as_telegram_does() -> None:
    telegram = FakeTelegram()
    bot: Bot = telegram.make_bot()
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(42, "hi")
    chat = telegram.chat(42)
    sent = await bot.send_message(chat.chat_id, "hi")
    assert sent.text == "hi"
    assert sent.from_user is not None
    assert sent.from_user.is_bot
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("hi", chat_id=42, message_id=sent.message_id)
    telegram.fail_next("sendMessage", 429, retry_after=3)
    with pytest.raises(TelegramRetryAfter) as refused:
        await bot.send_message(42, "again")
    assert refused.value.retry_after == 3
    assert [c.method for c in telegram.sent] == ["sendMessage", "sendMessage",
                                                 "editMessageText", "sendMessage"]


async def test_flood_limits_are_off_in_process_until_a_test_turns_them_on() -> None:
    telegram = FakeTelegram()
    bot = telegram.make_bot()
    chat = telegram.chat(7).chat_id
    for n in range(5):  # more than a private chat's burst, at once
        await bot.send_message(chat, f"message {n}")
    telegram.flood.limits = FloodLimits(private_burst=1.0)
    telegram.chat(8)
    await bot.send_message(8, "first")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(8, "second")
