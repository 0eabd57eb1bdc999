"""The fake Bot API: messages, limits, drafts, photos, buttons, driven by a real aiogram Bot."""

from __future__ import annotations

import asyncio

import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import BufferedInputFile, Message, MessageEntity, ReplyParameters

from bot.testing.telegram.flood import FloodLimits
from tests.fakes.telegram.images import tiny_jpeg
from tests.fakes.telegram.server import TelegramServer
from tests.testing.telegram.botapi import FAKE_TOKEN as TOKEN
from tests.testing.telegram.botapi import make_bot


async def test_get_me_and_send_message_with_entities(tg: TelegramServer, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot
    assert me.username == "fm_test_bot"
    assert me.id == 42
    tg.send_user_message(1, "hi")
    sent = await bot.send_message(
        1,
        "hello world",
        entities=[MessageEntity(type="bold", offset=0, length=5)],
        reply_parameters=ReplyParameters(message_id=1),
    )
    assert isinstance(sent, Message)
    assert sent.chat.id == 1
    assert sent.message_id == 2
    assert sent.reply_to_message is not None
    assert sent.reply_to_message.text == "hi"
    [answer] = tg.chat(1).bot_messages
    assert answer.text == "hello world"
    assert answer.entities[0]["type"] == "bold"
    assert tg.chat(1).first_visible_at is not None
    assert tg.chat(1).final_text_at is not None
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(999, "nobody there")


async def test_wrong_token_is_unauthorized(tg: TelegramServer) -> None:
    other = make_bot(tg.url, "43:WRONG")
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await other.get_me()
    finally:
        await other.session.close()


async def test_edits_not_modified_and_deleted(tg: TelegramServer, bot: Bot) -> None:
    tg.send_user_message(1, "hi")
    sent = await bot.send_message(1, "one")
    await asyncio.sleep(0)
    edited = await bot.edit_message_text("two", chat_id=1, message_id=sent.message_id)
    assert isinstance(edited, Message)
    assert edited.text == "two"
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("two", chat_id=1, message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message is not modified"):  # trimmed first
        await bot.edit_message_text("two\n", chat_id=1, message_id=sent.message_id)
    message = tg.chat(1).bot_messages[0]
    assert [v.text for v in message.versions] == ["one", "two"]
    assert len(message.edits) == 1
    tg.delete_message(1, sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("three", chat_id=1, message_id=sent.message_id)
    assert tg.chat(1).bot_messages == []


async def test_text_limits_count_utf16_units(tg: TelegramServer, bot: Bot) -> None:
    tg.flood.limits.enabled = False
    tg.send_user_message(1, "hi")
    await bot.send_message(1, "😀" * 2048)  # 4096 UTF-16 units
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(1, "😀" * 2049)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(1, "   ")
    await bot.send_message(1, "😀ab", entities=[MessageEntity(type="bold", offset=2, length=2)])
    with pytest.raises(TelegramBadRequest) as info:
        await bot.send_message(
            1, "😀ab", entities=[MessageEntity(type="bold", offset=2, length=3)]
        )
    assert info.value.message == (
        "Bad Request: entity beginning at UTF-16 offset 2 ends after the end of the text "
        "at UTF-16 offset 5"
    )
    html = await bot.send_message(1, "<b>bold</b> &amp; plain", parse_mode="HTML")
    assert html.text == "bold & plain"
    assert html.entities is not None
    assert html.entities[0].type == "bold"
    assert html.entities[0].length == 4
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(1, "<b>unclosed", parse_mode="HTML")


async def test_private_flood_limit_raises_real_retry_after(tg: TelegramServer, bot: Bot) -> None:
    tg.send_user_message(1, "hi")
    for n in range(3):  # the burst
        await bot.send_message(1, f"m{n}")
    with pytest.raises(TelegramRetryAfter) as info:
        await bot.send_message(1, "one too many")
    assert info.value.retry_after >= 1
    assert tg.count_429 == 1
    assert tg.count_flood_429 == 1
    tg.send_user_message(2, "other chat is not affected")
    await bot.send_message(2, "fine")


@pytest.mark.slow
async def test_drafts_have_their_own_limits(tg: TelegramServer, bot: Bot) -> None:
    """5 drafts/s per chat after a burst of 5, outside the message budgets; a draft 429 holds
    back only the chat's drafts; a bot-wide draft limit answers with its long retry_after."""
    tg.send_user_message(1, "hi")
    for n in range(3):  # the message burst is spent ...
        await bot.send_message(1, f"m{n}")
    for n in range(5):  # ... drafts still go: a burst of their own
        await bot.send_message_draft(1, draft_id=9, text=f"d{n}")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message_draft(1, draft_id=9, text="one too many")
    await asyncio.sleep(1.0)
    await bot.send_message(1, "the draft penalty holds back drafts only")
    tg.send_user_message(2, "hi")
    tg.flood.limits.draft_global_rate = 2
    tg.flood.limits.draft_retry_after = 30
    for n in range(2):
        await bot.send_message_draft(2, draft_id=5, text=f"d{n}")
    with pytest.raises(TelegramRetryAfter) as info:
        await bot.send_message_draft(2, draft_id=5, text="bot-wide flood")
    assert info.value.retry_after == 30
    await bot.send_message(2, "messages are not affected")


async def test_group_limit_per_minute(bot: Bot) -> None:
    async with TelegramServer(TOKEN, limits=FloodLimits(group_per_minute=2)) as tg:
        tg.send_user_message(-100, "hi", chat_type="group", title="team", user={"id": 7})
        await bot.session.close()
        group_bot = make_bot(tg.url)
        try:
            await group_bot.send_message(-100, "a")
            await group_bot.send_message(-100, "b")
            with pytest.raises(TelegramRetryAfter) as info:
                await group_bot.send_message(-100, "c")
            assert 55 <= info.value.retry_after <= 60
        finally:
            await group_bot.session.close()


async def test_injected_errors(tg: TelegramServer, bot: Bot) -> None:
    tg.send_user_message(1, "hi")
    tg.fail_next("sendMessage", 429, retry_after=2)
    with pytest.raises(TelegramRetryAfter) as info:
        await bot.send_message(1, "x")
    assert info.value.retry_after == 2
    with pytest.raises(TelegramRetryAfter):  # the penalty window holds for the chat
        await bot.send_message(1, "again too soon")
    assert tg.count_429 == 2
    assert tg.count_flood_429 == 1
    tg.fail_next("sendChatAction", 500)
    with pytest.raises(Exception, match="Internal Server Error"):
        await bot.send_chat_action(1, "typing")
    tg.block_user(1)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_chat_action(1, "typing")


async def test_drafts_private_only_and_stop_button(tg: TelegramServer, bot: Bot) -> None:
    tg.send_user_message(1, "hi")
    tg.send_user_message(-5, "hi all", chat_type="supergroup", user={"id": 9})
    assert await bot.send_message_draft(chat_id=1, draft_id=7, text="", can_stop=True)
    assert await bot.send_message_draft(chat_id=1, draft_id=7, text="Hel")
    draft = tg.chat(1).draft
    assert draft is not None
    assert draft.text == "Hel"
    assert draft.draft_id == 7
    assert tg.chat(1).first_visible_at is not None  # the non-empty frame, not the empty one
    with pytest.raises(TelegramBadRequest, match="TEXTDRAFT_PEER_INVALID"):
        await bot.send_message_draft(chat_id=-5, draft_id=1, text="x")
    updates = await bot.get_updates(timeout=0)
    tg.press_stop(1)
    updates = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=1)
    [stopped] = updates
    assert stopped.stopped_message_generation is not None
    assert stopped.stopped_message_generation.chat.id == 1
    assert stopped.stopped_message_generation.draft_id == 7
    assert tg.chat(1).draft is None


async def test_send_photo_multipart_keeps_the_bytes(tg: TelegramServer, bot: Bot) -> None:
    tg.send_user_message(1, "/image a cat")
    jpeg = tiny_jpeg(640, 480, payload=bytes(range(256)) * 20)
    sent = await bot.send_photo(1, BufferedInputFile(jpeg, "image.jpg"), caption="a cat")
    assert sent.photo is not None
    assert (sent.photo[-1].width, sent.photo[-1].height) == (640, 480)
    assert sent.caption == "a cat"
    [message] = tg.chat(1).bot_messages
    assert message.photo == jpeg
    assert message.caption == "a cat"
    with pytest.raises(TelegramBadRequest, match="caption is too long"):
        await bot.send_photo(1, BufferedInputFile(jpeg, "i.jpg"), caption="x" * 1025)
    with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
        await bot.send_photo(1, BufferedInputFile(b"not an image", "i.jpg"))
    file = await bot.get_file(sent.photo[-1].file_id)
    assert file.file_path is not None


async def test_commands_roundtrip(tg: TelegramServer, bot: Bot) -> None:
    from aiogram.types import BotCommand

    await bot.set_my_commands(
        [BotCommand(command="start", description="Start")], language_code="ru"
    )
    assert [c.command for c in await bot.get_my_commands(language_code="ru")] == ["start"]
    assert await bot.get_my_commands() == []
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad-Name", description="x")])


async def test_callback_queries_and_reply_markup(tg: TelegramServer, bot: Bot) -> None:
    from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

    tg.send_user_message(1, "/forget")
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Yes", callback_data="forget:yes")]]
    )
    sent = await bot.send_message(1, "Sure?", reply_markup=markup)
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(
            1,
            "x",
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[[InlineKeyboardButton(text="Y", callback_data="y" * 65)]]
            ),
        )
    update_id = tg.send_callback_query(1, sent.message_id, "forget:yes")
    [update] = await bot.get_updates(offset=update_id, timeout=0)
    assert update.callback_query is not None
    assert update.callback_query.data == "forget:yes"
    assert await bot.answer_callback_query(update.callback_query.id, text="Done")
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(update.callback_query.id)
    await bot.edit_message_reply_markup(chat_id=1, message_id=sent.message_id)
    assert tg.chat(1).bot_messages[0].reply_markup is None
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(chat_id=1, message_id=sent.message_id)
