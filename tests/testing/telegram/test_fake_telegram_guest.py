"""The fake Bot API's guest mode (bot/testing/telegram/guest.py), driven by a real aiogram Bot: the
guest_message update as Bot API 10.0 describes it, answerGuestQuery answered once
(SentGuestMessage, then QUERY_ID_INVALID), editMessageText by inline_message_id, and getMe's
supports_guest_queries."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import AnswerGuestQuery
from aiogram.types import (
    InlineQueryResultArticle,
    InputTextMessageContent,
    MessageEntity,
    SentGuestMessage,
)

from tests.fakes.telegram.server import TelegramServer


def article(text: str) -> InlineQueryResultArticle:
    return InlineQueryResultArticle(
        id="1", title="answer", input_message_content=InputTextMessageContent(message_text=text)
    )


async def test_a_guest_query_is_delivered_answered_once_and_edited(
    tg: TelegramServer, bot: Bot
) -> None:
    me = await bot.get_me()
    assert me.supports_guest_queries is True
    _, query = tg.send_guest_message(-100777, "what is this?", user={"id": 5},
                                     reply_to_text="Photosynthesis, chapter 3")
    (update,) = await bot.get_updates(allowed_updates=["guest_message"])
    message = update.guest_message
    assert message is not None
    assert message.guest_query_id == query
    assert message.text == "@fm_test_bot what is this?"
    assert message.from_user is not None
    assert message.from_user.id == 5
    assert message.reply_to_message is not None
    assert message.reply_to_message.text == "Photosynthesis, chapter 3"

    sent = await bot(AnswerGuestQuery(guest_query_id=query, result=article("Thinking…")))
    assert isinstance(sent, SentGuestMessage)
    with pytest.raises(TelegramBadRequest, match="QUERY_ID_INVALID"):
        await bot(AnswerGuestQuery(guest_query_id=query, result=article("again")))
    with pytest.raises(TelegramBadRequest, match="QUERY_ID_INVALID"):
        await bot(AnswerGuestQuery(guest_query_id="never-asked", result=article("x")))
    edited = await bot.edit_message_text(
        inline_message_id=sent.inline_message_id, text="It is how plants make food.",
        entities=[MessageEntity(type="bold", offset=6, length=3)],
    )
    assert edited is True
    with pytest.raises(TelegramBadRequest, match="not modified"):
        await bot.edit_message_text(inline_message_id=sent.inline_message_id,
                                    text="It is how plants make food.",
                                    entities=[MessageEntity(type="bold", offset=6, length=3)])
    guest = tg.guest[query]
    assert guest.answers == 2  # the first and the refused second
    assert guest.versions == ["Thinking…", "It is how plants make food."]
    assert guest.entities == [{"type": "bold", "offset": 6, "length": 3}]


async def test_guest_queries_can_be_switched_off_and_are_filtered_by_allowed_updates(
    tg: TelegramServer, bot: Bot
) -> None:
    tg.guest_queries = False
    assert (await bot.get_me()).supports_guest_queries is not True
    await bot.get_updates(allowed_updates=["message"], timeout=0)
    tg.send_guest_message(-100777, "hello")
    assert await bot.get_updates(allowed_updates=["message"], timeout=0) == []
