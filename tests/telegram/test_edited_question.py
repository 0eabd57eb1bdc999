"""An edited question outside a handoff: the newest question edited is answered anew; an edit
that changes nothing the bot reads (Telegram sends those too), and an edit of an older
question, are left alone."""

from __future__ import annotations

import datetime as dt

import pytest
from aiogram.types import Chat, Message, Update, User

from bot import App
from bot.testing import BotTester, TestUser

pytestmark = [pytest.mark.timeout(60)]


def update(tester: BotTester, user: TestUser, message_id: int, text: str, *,
           edited: bool = False) -> Update:
    chat = Chat(id=user.id, type="private", first_name=user.name)
    message = Message(message_id=message_id, date=dt.datetime.now(dt.UTC), chat=chat,
                      from_user=User(id=user.id, is_bot=False, first_name=user.name),
                      text=text, edit_date=int(dt.datetime.now(dt.UTC).timestamp())
                      if edited else None)
    if edited:
        return Update(update_id=tester.next_update_id(), edited_message=message)
    return Update(update_id=tester.next_update_id(), message=message)


async def test_the_newest_question_edited_is_answered_anew() -> None:
    async with BotTester(App(env_file=None)) as tester:
        anna = tester.user("Anna")
        first = tester.telegram.next_message_id(anna.id)
        asked = await tester.exchange(anna.id, update(tester, anna, first, "Whare is my order?"))
        assert asked.text == "Whare is my order?"  # the kit's echo model
        fixed = await tester.exchange(
            anna.id, update(tester, anna, first, "Where is my order?", edited=True))
        assert fixed.text == "Where is my order?"
        # Telegram may send an edit that changes nothing the bot reads: no second answer.
        same = await tester.exchange(
            anna.id, update(tester, anna, first, "Where is my order?", edited=True))
        assert same.messages == ()
        # An older question edited is left as it was answered.
        second = tester.telegram.next_message_id(anna.id)
        await tester.exchange(anna.id, update(tester, anna, second, "And the refund?"))
        older = await tester.exchange(
            anna.id, update(tester, anna, first, "Where is my parcel?", edited=True))
        assert older.messages == ()
