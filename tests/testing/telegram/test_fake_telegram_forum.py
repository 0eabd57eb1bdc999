"""The fake Bot API's forums, copies and members, driven by a real aiogram Bot."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import ChatMemberLeft, ChatMemberMember

from tests.fakes.telegram.images import tiny_jpeg
from tests.fakes.telegram.server import TelegramServer

FORUM = -100200


async def test_topics_lifecycle_and_errors(tg: TelegramServer, bot: Bot) -> None:
    tg.add_chat(-100300, "supergroup", title="Plain")
    with pytest.raises(TelegramBadRequest, match="not a forum"):
        await bot.create_forum_topic(-100300, "x")
    tg.add_forum(FORUM)
    topic = await bot.create_forum_topic(FORUM, "Anna · 11")
    assert topic.name == "Anna · 11"
    sent = await bot.send_message(FORUM, "in the topic", message_thread_id=topic.message_thread_id)
    assert sent.message_thread_id == topic.message_thread_id
    assert sent.is_topic_message
    assert await bot.close_forum_topic(FORUM, topic.message_thread_id)
    with pytest.raises(TelegramBadRequest, match="TOPIC_NOT_MODIFIED"):
        await bot.close_forum_topic(FORUM, topic.message_thread_id)
    # An admin bot that may manage topics still posts in a closed topic; others may not.
    await bot.send_message(FORUM, "closed but admin", message_thread_id=topic.message_thread_id)
    tg.forums[FORUM] = False
    with pytest.raises(TelegramBadRequest, match="TOPIC_CLOSED"):
        await bot.send_message(FORUM, "no", message_thread_id=topic.message_thread_id)
    with pytest.raises(TelegramBadRequest, match="not enough rights"):
        await bot.reopen_forum_topic(FORUM, topic.message_thread_id)
    tg.forums[FORUM] = True
    assert await bot.reopen_forum_topic(FORUM, topic.message_thread_id)
    assert await bot.delete_forum_topic(FORUM, topic.message_thread_id)
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(FORUM, "gone", message_thread_id=topic.message_thread_id)
    with pytest.raises(TelegramBadRequest, match="TOPIC_ID_INVALID"):
        await bot.reopen_forum_topic(FORUM, topic.message_thread_id)
    assert tg.topic_messages(FORUM, topic.message_thread_id) == []


async def test_copies_carry_content_not_sender(tg: TelegramServer, bot: Bot) -> None:
    tg.add_forum(FORUM)
    topic = await bot.create_forum_topic(FORUM, "Boris")
    tg.send_user_message(7, "hello")
    tg.send_user_photo(7, tiny_jpeg(), "a box")
    copied = await bot.copy_message(FORUM, 7, 1, message_thread_id=topic.message_thread_id)
    [copy] = [m for m in tg.chat(FORUM).history if m.message_id == copied.message_id]
    assert (copy.text, copy.user, copy.thread_id) == ("hello", None, topic.message_thread_id)
    many = await bot.copy_messages(FORUM, 7, [1, 2, 99], message_thread_id=topic.message_thread_id)
    assert len(many) == 2  # 99 does not exist: skipped
    assert tg.chat(FORUM).history[-1].photo is not None
    assert tg.chat(FORUM).history[-1].caption == "a box"
    with pytest.raises(TelegramBadRequest, match="message to copy not found"):
        await bot.copy_message(FORUM, 7, 99)
    with pytest.raises(TelegramBadRequest, match="increasing"):
        await bot.copy_messages(FORUM, 7, [2, 1])
    assert await bot.delete_messages(FORUM, [copied.message_id, 12345])
    assert tg.chat(FORUM).find(copied.message_id).deleted  # type: ignore[union-attr]


async def test_chat_members(tg: TelegramServer, bot: Bot) -> None:
    tg.add_forum(FORUM)
    tg.add_member(FORUM, 5)
    assert isinstance(await bot.get_chat_member(FORUM, 5), ChatMemberMember)
    assert isinstance(await bot.get_chat_member(FORUM, 6), ChatMemberLeft)
