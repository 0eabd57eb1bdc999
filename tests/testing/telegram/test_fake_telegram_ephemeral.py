"""The fake Bot API's ephemeral messages (bot/testing/telegram/ephemeral.py), driven by a real
aiogram Bot: sendMessage with ephemeral_message_parameters answers a Message with message_id 0,
receiver_user and ephemeral_message_id, seen by its receiver alone; refused outside groups (unless
tied to a press), for a non-member, past the window without admin rights, and on the test switch; a
press's ephemeral answer answers it."""

from __future__ import annotations

import time

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import EphemeralMessageParameters

from bot.testing.telegram.ephemeral import EPHEMERAL_WINDOW
from tests.fakes.telegram.server import TelegramServer

GROUP = -100555


def to(user: int, press: str | None = None) -> EphemeralMessageParameters:
    return EphemeralMessageParameters(receiver_user_id=user, callback_query_id=press)


async def test_an_ephemeral_message_is_seen_by_its_receiver_alone(
    tg: TelegramServer, bot: Bot
) -> None:
    tg.send_user_message(GROUP, "hello", chat_type="supergroup", user={"id": 5})
    tg.send_user_message(GROUP, "hi", chat_type="supergroup", user={"id": 6})
    asked = tg.chat(GROUP).history[0].message_id
    sent = await bot.send_message(GROUP, "only for you", ephemeral_message_parameters=to(5),
                                  reply_to_message_id=asked)
    assert sent.message_id == 0
    assert sent.ephemeral_message_id == 1
    assert sent.receiver_user is not None
    assert sent.receiver_user.id == 5
    chat = tg.chat(GROUP)
    assert [m.text for m in chat.bot_messages] == []
    assert [m.text for m in chat.bot_messages_seen_by(5)] == ["only for you"]
    assert [m.text for m in chat.seen_by(6)] == ["hello", "hi"]
    assert chat.ephemeral[0].reply_to == asked
    second = await bot.send_message(GROUP, "again", ephemeral_message_parameters=to(6))
    assert second.ephemeral_message_id == 2


async def test_refusals_as_documented(tg: TelegramServer, bot: Bot) -> None:
    tg.send_user_message(GROUP, "hello", chat_type="supergroup", user={"id": 5})
    tg.send_user_message(7, "hi")
    with pytest.raises(TelegramBadRequest, match="EPHEMERAL_RECEIVER_INVALID"):
        await bot.send_message(GROUP, "x", ephemeral_message_parameters=to(99))  # no member
    with pytest.raises(TelegramBadRequest, match="EPHEMERAL_PEER_INVALID"):
        await bot.send_message(7, "x", ephemeral_message_parameters=to(7))  # a private chat
    tg.chat(GROUP).history[0].sent_at = time.time() - EPHEMERAL_WINDOW - 1
    with pytest.raises(TelegramBadRequest, match="EPHEMERAL_WINDOW_EXPIRED"):
        await bot.send_message(GROUP, "x", ephemeral_message_parameters=to(5))
    tg.add_member(GROUP, int(tg.bot_user["id"]), "administrator")  # no window for admins
    assert (await bot.send_message(GROUP, "x", ephemeral_message_parameters=to(5))
            ).ephemeral_message_id == 1
    tg.refuse_ephemeral(chat_id=GROUP)
    with pytest.raises(TelegramBadRequest, match="EPHEMERAL_MESSAGES_UNAVAILABLE"):
        await bot.send_message(GROUP, "x", ephemeral_message_parameters=to(5))
    assert tg.ephemeral_refusals == 1
    tg.refuse_ephemeral(False, chat_id=GROUP)
    assert (await bot.send_message(GROUP, "x", ephemeral_message_parameters=to(5))
            ).ephemeral_message_id == 2
    assert tg.chat(GROUP).bot_messages == []


async def test_a_press_is_answered_by_an_ephemeral_message_in_any_chat(
    tg: TelegramServer, bot: Bot
) -> None:
    tg.send_user_message(GROUP, "hello", chat_type="supergroup", user={"id": 5})
    card = await bot.send_message(GROUP, "card")
    press = str(tg.send_callback_query(GROUP, card.message_id, "x", user={"id": 6}))
    with pytest.raises(TelegramBadRequest, match="query is too old"):  # not the presser
        await bot.send_message(GROUP, "not yours", ephemeral_message_parameters=to(5, press))
    sent = await bot.send_message(GROUP, "not yours", ephemeral_message_parameters=to(6, press))
    assert sent.receiver_user is not None
    assert sent.receiver_user.id == 6
    with pytest.raises(TelegramBadRequest, match="query is too old"):  # answered by it
        await bot.answer_callback_query(press, "late")
    # 10.4: tied to a press, in a private chat too.
    tg.send_user_message(7, "hi")
    private_card = await bot.send_message(7, "card")
    press = str(tg.send_callback_query(7, private_card.message_id, "x"))
    sent = await bot.send_message(7, "pressed", ephemeral_message_parameters=to(7, press))
    assert sent.ephemeral_message_id == 1
