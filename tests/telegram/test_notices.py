"""PersonalNotices (bot/telegram/notices.py) on the kit's fake Telegram: in a group a notice goes
to its member alone (`ephemeral_message_parameters`), a press's notice is tied to the press;
a 400 falls back to today's reply (or alert) and is remembered for the chat for a while; a
server that ignores the parameter is remembered too; private chats are as before."""

from __future__ import annotations

import datetime as dt

import pytest
from aiogram.methods import AnswerCallbackQuery, SendMessage
from aiogram.types import CallbackQuery, Chat, Message, Update, User

from bot.telegram.notices import PersonalNotices, Told
from bot.telegram.outbox import Outbox
from bot.testing.telegram.session import FakeTelegram
from tests.telegram.test_outbox import GROUP, PRIVATE, setup

pytestmark = pytest.mark.looptime

MEMBER = 501


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def ephemeral(outbox_calls: list[SendMessage]) -> list[SendMessage]:
    return [m for m in outbox_calls if m.ephemeral_message_parameters is not None]


def notices_setup() -> tuple[Outbox, FakeTelegram]:
    """The outbox and the fake; in the groups, MEMBER is a member and the bot an
    administrator (so an ephemeral message needs no recent action of its receiver)."""
    outbox, telegram = setup()
    for group in (GROUP, GROUP - 1):
        telegram.set_member(group, MEMBER)
        telegram.set_member(group, telegram.me.id, "administrator")
    return outbox, telegram


def press(telegram: FakeTelegram, outbox: Outbox, chat: Chat, user: int = MEMBER,
          query_id: str = "q1") -> CallbackQuery:
    """The user presses a button on the card; Telegram knows the press."""
    card = Message(message_id=5, date=dt.datetime.now(dt.UTC), chat=chat, text="card")
    query = CallbackQuery(id=query_id, from_user=User(id=user, is_bot=False, first_name="B"),
                          chat_instance="1", data="x", message=card)
    telegram.record(Update(update_id=1, callback_query=query))
    return query.as_(outbox.bot)


async def test_in_a_group_the_member_alone_is_told_replying_to_their_message() -> None:
    outbox, telegram = notices_setup()
    notices = PersonalNotices(outbox)
    told = await notices.tell(GROUP, "supergroup", MEMBER, "too fast", reply_to=3, thread_id=9)
    assert told is Told.ALONE
    (sent,) = telegram.calls(SendMessage)
    assert sent.ephemeral_message_parameters is not None
    assert sent.ephemeral_message_parameters.receiver_user_id == MEMBER
    assert sent.ephemeral_message_parameters.callback_query_id is None
    assert sent.reply_parameters is not None
    assert sent.reply_parameters.message_id == 3
    assert sent.message_thread_id == 9
    assert sent.text == "too fast"


async def test_a_private_chat_gets_todays_reply() -> None:
    outbox, telegram = notices_setup()
    told = await PersonalNotices(outbox).tell(PRIVATE, "private", PRIVATE, "too fast",
                                              reply_to=3)
    assert told is Told.REPLY
    (sent,) = telegram.calls(SendMessage)
    assert sent.ephemeral_message_parameters is None
    assert sent.reply_parameters is not None
    assert sent.reply_parameters.message_id == 3


async def test_a_refusal_falls_back_to_the_reply_and_is_remembered_for_a_while() -> None:
    outbox, telegram = notices_setup()
    clock = Clock()
    notices = PersonalNotices(outbox, remember_for=600, clock=clock)
    telegram.fail_next("sendMessage", 400, "Bad Request: EPHEMERAL_MESSAGES_UNAVAILABLE")
    assert await notices.tell(GROUP, "group", MEMBER, "one", reply_to=3) is Told.REPLY
    first = telegram.calls(SendMessage)
    assert [m.ephemeral_message_parameters is not None for m in first] == [True, False]
    assert first[-1].text == "one"
    assert first[-1].reply_parameters is not None
    assert first[-1].reply_parameters.message_id == 3
    # Remembered: the next notice in that chat is the reply at once, no failed call first.
    assert notices.refuses(GROUP)
    assert await notices.tell(GROUP, "group", MEMBER + 1, "two") is Told.REPLY
    assert len(ephemeral(telegram.calls(SendMessage))) == 1
    # Another group is tried as usual; after a while the refusing one is tried again.
    assert await notices.tell(GROUP - 1, "group", MEMBER, "three") is Told.ALONE
    clock.now = 601
    assert not notices.refuses(GROUP)
    assert await notices.tell(GROUP, "group", MEMBER, "four") is Told.ALONE
    assert len(ephemeral(telegram.calls(SendMessage))) == 3


async def test_a_server_ignoring_the_parameter_has_told_everyone_once_and_is_remembered(
) -> None:
    outbox, telegram = notices_setup()
    notices = PersonalNotices(outbox)
    telegram.ignore_fields = {"ephemeral_message_parameters"}  # sent to everyone, no error
    assert await notices.tell(GROUP, "supergroup", MEMBER, "one") is Told.REPLY
    assert len(telegram.calls(SendMessage)) == 1  # not sent twice
    assert notices.refuses(GROUP)


async def test_a_press_in_a_group_is_answered_by_an_ephemeral_message_tied_to_it() -> None:
    outbox, telegram = notices_setup()
    chat = Chat(id=GROUP, type="supergroup", title="Team")
    told = await PersonalNotices(outbox).answer_press(press(telegram, outbox, chat),
                                                      "not yours")
    assert told is Told.ALONE
    (sent,) = telegram.calls(SendMessage)
    assert sent.ephemeral_message_parameters is not None
    assert sent.ephemeral_message_parameters.receiver_user_id == MEMBER
    assert sent.ephemeral_message_parameters.callback_query_id == "q1"
    assert telegram.calls(AnswerCallbackQuery) == []


async def test_a_refused_press_notice_is_todays_alert_and_private_presses_too() -> None:
    outbox, telegram = notices_setup()
    notices = PersonalNotices(outbox)
    telegram.fail_next("sendMessage", 400, "Bad Request: EPHEMERAL_MESSAGES_UNAVAILABLE")
    chat = Chat(id=GROUP, type="supergroup", title="Team")
    assert await notices.answer_press(press(telegram, outbox, chat), "not yours") is (
        Told.REPLY)
    private = Chat(id=PRIVATE, type="private", first_name="B")
    assert await notices.answer_press(press(telegram, outbox, private, PRIVATE, "q2"),
                                      "not yours") is Told.REPLY
    answers = telegram.calls(AnswerCallbackQuery)
    assert [(a.text, a.show_alert) for a in answers] == [("not yours", True)] * 2
    assert len(telegram.calls(SendMessage)) == 1  # the refused one; nothing posted


async def test_a_late_refusal_falls_back_but_is_not_remembered() -> None:
    """Refused after the chat's lane held the notice back for a while: perhaps the window
    after the member's action passed, not the chat's doing."""

    class Slow(Clock):
        def __call__(self) -> float:
            self.now += 11  # every look at the clock, 11 s later
            return self.now

    outbox, telegram = notices_setup()
    notices = PersonalNotices(outbox, clock=Slow())
    telegram.fail_next("sendMessage", 400, "Bad Request: EPHEMERAL_WINDOW_EXPIRED")
    assert await notices.tell(GROUP, "group", MEMBER, "late") is Told.REPLY
    assert not notices.refuses(GROUP)
    assert [m.ephemeral_message_parameters is not None
            for m in telegram.calls(SendMessage)] == [True, False]


async def test_a_blocked_or_gone_chat_is_told_nothing_and_not_retried_as_a_reply() -> None:
    outbox, telegram = notices_setup()
    notices = PersonalNotices(outbox)
    telegram.fail_next("sendMessage", 403, "Forbidden: bot was kicked from the group chat")
    assert await notices.tell(GROUP, "group", MEMBER, "gone") is Told.NOTHING
    assert len(telegram.calls(SendMessage)) == 1
    assert not notices.refuses(GROUP)
