"""Chat automation, in process: an account owner connects the bot; their customers are
answered on the owner's behalf (with the connection's id, as one edited message, never a
draft), each chat on its own history; the owner's own messages are history, never questions,
and start a takeover in their chat only; in `approve` mode nothing reaches the customer before
the owner's press, and exactly one message after it; no model call without the right to reply
or while paused. Was tests/e2e/test_business.py, with the bot as a process (which keeps the
polling's allowed updates)."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram.types import CallbackQuery, Message, Update

from bot import App
from bot.testing import BotTester, ServiceModel, TestBusiness
from bot.testing.telegram import message_of
from tests.features.sending import rows

pytestmark = [pytest.mark.timeout(60)]
COMPLETION = "/foundationModels/v1/completion"


def completions(model: ServiceModel) -> list[list[dict[str, str]]]:
    """The messages of each completion request the model got, in order."""
    return [r.json["messages"] for r in model.service.requests if r.path == COMPLETION]


async def count(tester: BotTester, table: str, where: str = "1") -> int:
    [row] = await rows(tester, f"SELECT count(*) AS n FROM {table} WHERE {where}")
    return int(row["n"])


def texts(shown: list[Any]) -> list[str]:
    return [m.text for m in shown if not m.deleted]


async def test_customers_are_answered_as_the_owner_and_the_owner_takes_over() -> None:
    model = ServiceModel()
    settings = {"SYSTEM_PROMPT": "You are the shop's assistant."}
    async with BotTester(App(env_file=None), model=model, settings=settings) as tester:
        olga, bob, carol = tester.user("Olga"), tester.user("Bob"), tester.user("Carol")
        shop = await tester.business(olga)
        assert "Connected" in shop.cards[0].text

        model.service.queue_reply("Yes, we deliver on **Sundays** until 6 pm.", chunks=4)
        answer = await shop.customer(bob).says("Do you deliver on Sundays?")
        assert texts(shop.customer(bob).messages) == ["Yes, we deliver on Sundays until 6 pm."]
        sends = [c for c in answer.calls if c.method in ("sendMessage", "editMessageText")]
        assert sends
        assert {"type": "bold", "offset": 19, "length": 7} in sends[-1].params["entities"]
        assert all(c.params.get("business_connection_id") == shop.connection_id for c in sends)
        assert not [c for c in answer.calls if c.method == "sendMessageDraft"]
        # Bob's private chat with the bot (the same id) got nothing.
        assert not [key for key in tester.telegram.created if key[0] == bob.id]
        (first,) = completions(model)
        assert first[-1]["text"] == "Do you deliver on Sundays?"
        system = first[0]["text"]
        assert system.startswith("You are the shop's assistant.")
        assert "on the account owner's behalf" in system
        assert "customer (Bob)" in system

        # The owner writes in Bob's chat: history, no model call, and Bob's chat is theirs.
        await shop.owner_says(bob, "And 10% off for you, Bob!")
        await shop.customer(bob).says("Great, thanks! Can I pay by card?")
        # Carol's chat is not taken over: she is answered, on her own history.
        model.service.queue_reply("Our shop opens at 9.")
        await shop.customer(carol).says("When do you open?")
        assert texts(shop.customer(carol).messages) == ["Our shop opens at 9."]
        assert await count(tester, "messages", "text = 'Great, thanks! Can I pay by card?'") == 1
        assert len(shop.customer(bob).messages) == 1  # nothing more in Bob's chat
        asked = completions(model)
        assert len(asked) == 2
        said = [m["text"] for m in asked[1]]
        assert said[-1] == "When do you open?"
        assert not any("Sundays" in t or "10% off" in t for t in said)  # not Bob's history
        assert not any("10% off" in m["text"] and m["role"] == "user"
                       for request in asked for m in request)
        # Stored apart from the customers' private chats with the bot.
        assert await count(tester, "conversations", f"chat_id = {bob.id}") == 0
        assert await count(tester, "business_chats") == 2


async def test_the_owners_messages_are_history_and_read_on_demand() -> None:
    model = ServiceModel()
    settings = {"BUSINESS_TAKEOVER_MINUTES": "0"}
    async with BotTester(App(env_file=None), model=model, settings=settings) as tester:
        olga, bob = tester.user("Olga"), tester.user("Bob")
        # Connected before the bot started: no update, the connection is read on demand.
        shop = TestBusiness(tester, olga, "connected-before")
        tester.telegram.state.connect_business(
            {"id": olga.id, "first_name": olga.name}, connection_id=shop.connection_id,
            notify=False)
        model.service.queue_reply("Hello! How can I help?")
        await shop.customer(bob).says("Hi, are you open tomorrow?")
        assert shop.customer(bob).messages
        assert any(c.method == "getBusinessConnection" for c in tester.sent)
        await shop.owner_says(bob, "We open at 9 tomorrow.")
        assert await count(tester, "messages",
                           "text = 'We open at 9 tomorrow.' AND role = 'assistant'") == 1
        assert len(completions(model)) == 1  # the owner's message asked the model nothing
        model.service.queue_reply("We close at 8 pm.")
        await shop.customer(bob).says("And when do you close?")
        assert len(shop.customer(bob).messages) == 2
        request = completions(model)[1]
        roles = [(m["role"], m["text"]) for m in request if m["role"] != "system"]
        assert roles == [("user", "Hi, are you open tomorrow?"),
                         ("assistant", "Hello! How can I help?"),
                         ("assistant", "We open at 9 tomorrow."),
                         ("user", "And when do you close?")]


async def test_approve_mode_sends_nothing_before_the_press_and_one_message_after() -> None:
    model = ServiceModel()
    settings = {"BUSINESS_REPLIES": "approve"}
    async with BotTester(App(env_file=None), model=model, settings=settings) as tester:
        olga, bob, eve = tester.user("Olga"), tester.user("Bob"), tester.user("Eve")
        shop = await tester.business(olga)
        model.service.queue_reply("It costs **20 EUR**.")
        await shop.customer(bob).says("How much is the blue vase?")
        card = next(m for m in shop.cards if m.buttons)
        assert "How much is the blue vase?" in card.text
        assert "It costs 20 EUR." in card.text
        assert shop.customer(bob).messages == []
        send = card.button_texts()[0]
        data = card.buttons[0][0]["callback_data"]
        pressed = Message.model_validate(message_of(card, tester.telegram.me))
        # Someone else's press does nothing; the owner's twice sends once.
        await eve.presses(send, on=card)
        assert shop.customer(bob).messages == []
        await olga.presses(send, on=card)
        assert not card.buttons
        assert "Sent" in card.text
        again = CallbackQuery(id="again", from_user=olga.telegram_user(), chat_instance="c",
                              message=pressed, data=data)  # a press delivered twice
        await tester.exchange(olga.id, Update(update_id=tester.next_update_id(),
                                              callback_query=again))
        assert texts(shop.customer(bob).messages) == ["It costs 20 EUR."]
        sent = [c for c in tester.sent if c.chat_id == shop.chat_id(bob)
                and c.method == "sendMessage"]
        assert sent[0].params.get("entities"), "rendered as the bot's answers are"

        # A discarded suggestion reaches nobody, and leaves the prompts.
        model.service.queue_reply("Free shipping over 50 EUR.")
        await shop.customer(bob).says("Is shipping free?")
        [card2] = [m for m in shop.cards if "Is shipping free?" in m.text]
        await olga.presses(card2.button_texts()[1], on=card2)
        assert "Discarded" in card2.text
        assert len(shop.customer(bob).messages) == 1
        model.service.queue_reply("Anything else?")
        await shop.customer(bob).says("ok")
        said = [m["text"] for m in completions(model)[2]]
        assert "It costs **20 EUR**." in said  # sent: history
        assert "Free shipping over 50 EUR." not in said  # discarded: gone


async def test_no_model_call_without_the_right_to_reply_or_when_paused() -> None:
    model = ServiceModel()
    async with BotTester(App(env_file=None), model=model) as tester:
        olga, bob = tester.user("Olga"), tester.user("Bob")
        shop = await tester.business(olga, can_reply=False)
        assert "may not reply" in shop.cards[-1].text
        await shop.customer(bob).says("hello?")
        await shop.change(enabled=False)
        await shop.customer(bob).says("anyone?")
        assert await count(tester, "messages", "text = 'anyone?'") == 1
        assert completions(model) == []

        # Enabled again, then paused by the owner with /business pause: still no call.
        await shop.change()
        paused = await olga.says("/business pause")
        assert "paused" in paused.text
        await shop.customer(bob).says("still there?")
        assert await count(tester, "messages", "text = 'still there?'") == 1
        assert completions(model) == []
        # Resumed: answered.
        model.service.queue_reply("Yes, here!")
        resumed = await olga.says("/business resume")
        assert "answering" in resumed.text
        await shop.customer(bob).says("hello again")
        assert texts(shop.customer(bob).messages) == ["Yes, here!"]
