"""Chat automation end to end: `python -m bot run` against the fake Telegram (business connections:
bot/testing/telegram/business.py) and the fake Yandex server. An account owner connects the bot;
their customers are answered on the owner's behalf (with the connection's id, as one edited
message, never a draft), each chat on its own history; the owner's own messages are history, never
questions, and start a takeover in their chat only; in `approve` mode nothing reaches the customer
before the owner's press, and exactly one message after it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.harness import E2E

pytestmark = [pytest.mark.process, pytest.mark.timeout(180)]

OWNER = {"id": 500, "first_name": "Olga", "last_name": "Shop"}
BOB = {"id": 901, "first_name": "Bob"}
CAROL = {"id": 902, "first_name": "Carol"}


def completions(e2e: E2E) -> list[list[dict[str, str]]]:
    """The messages of each completion request the model got, in order."""
    return [r.json["messages"] for r in e2e.fm.requests if "completion" in r.path]


async def test_customers_are_answered_as_the_owner_and_the_owner_takes_over(
    tmp_path: Path,
) -> None:
    async with E2E(tmp_path, extra_env={"SYSTEM_PROMPT": "You are the shop's assistant."}) as e2e:
        tg = e2e.tg
        tg.add_chat(OWNER["id"], "private", user=OWNER)  # the owner's chat with the bot
        e2e.fm.queue_reply("Yes, we deliver on **Sundays** until 6 pm.", chunks=4, interval=0.3)
        await e2e.start_bot()
        polls = [c for c in tg.calls if c.method == "getUpdates"]
        assert any("business_message" in str(c.params.get("allowed_updates")) for c in polls)
        bc = tg.connect_business(OWNER)
        owner_chat = tg.chat(OWNER["id"])
        await e2e.wait_for(lambda: owner_chat.bot_messages, 30)
        assert "Connected" in (owner_chat.bot_messages[0].text or "")

        tg.send_business_message(bc, BOB, "Do you deliver on Sundays?")
        bob = tg.business_chat(bc, BOB["id"])
        await e2e.wait_for(lambda: any(
            m.text == "Yes, we deliver on Sundays until 6 pm." for m in bob.bot_messages), 60)
        (answer,) = bob.bot_messages
        assert {"type": "bold", "offset": 19, "length": 7} in answer.entities
        sends = [c for c in tg.calls if c.method in ("sendMessage", "editMessageText")
                 and c.params.get("chat_id") in (BOB["id"], str(BOB["id"]))]
        assert sends
        assert all(c.params.get("business_connection_id") == bc for c in sends)
        assert not [c for c in tg.calls if c.method == "sendMessageDraft"
                    and c.params.get("chat_id") in (BOB["id"], str(BOB["id"]))]
        # Bob's private chat with the bot (the same id) got nothing.
        assert BOB["id"] not in tg.chats or not tg.chat(BOB["id"]).bot_messages
        (first,) = completions(e2e)
        assert first[-1]["text"] == "Do you deliver on Sundays?"
        system = first[0]["text"]
        assert system.startswith("You are the shop's assistant.")
        assert "on the account owner's behalf" in system
        assert "customer (Bob)" in system

        # The owner writes in Bob's chat: history, no model call, and Bob's chat is theirs.
        tg.send_business_message(bc, BOB, "And 10% off for you, Bob!", from_owner=True)
        tg.send_business_message(bc, BOB, "Great, thanks! Can I pay by card?")
        # Carol's chat is not taken over: she is answered, on her own history.
        e2e.fm.queue_reply("Our shop opens at 9.")
        tg.send_business_message(bc, CAROL, "When do you open?")
        carol = tg.business_chat(bc, CAROL["id"])
        await e2e.wait_for(
            lambda: [m.text for m in carol.bot_messages] == ["Our shop opens at 9."], 60)
        await e2e.wait_for(lambda: e2e.db.count(
            "messages", "text = 'Great, thanks! Can I pay by card?'") == 1, 30)
        assert len(bob.bot_messages) == 1  # nothing more in Bob's chat
        asked = completions(e2e)
        assert len(asked) == 2
        texts = [m["text"] for m in asked[1]]
        assert texts[-1] == "When do you open?"
        assert not any("Sundays" in t or "10% off" in t for t in texts)  # not Bob's history
        assert not any("10% off" in m["text"] and m["role"] == "user"
                       for request in asked for m in request)
        # Stored apart from the customers' private chats with the bot.
        assert e2e.db.count("conversations", f"chat_id = {BOB['id']}") == 0
        assert e2e.db.count("business_chats") == 2


async def test_the_owners_messages_are_history_and_tools_that_write_are_not_offered(
    tmp_path: Path,
) -> None:
    env = {"BUSINESS_TAKEOVER_MINUTES": "0"}
    async with E2E(tmp_path, extra_env=env) as e2e:
        tg = e2e.tg
        tg.add_chat(OWNER["id"], "private", user=OWNER)
        await e2e.start_bot()
        bc = tg.connect_business(OWNER, notify=False)  # connected before: read on demand
        e2e.fm.queue_reply("Hello! How can I help?")
        tg.send_business_message(bc, BOB, "Hi, are you open tomorrow?")
        bob = tg.business_chat(bc, BOB["id"])
        await e2e.wait_for(lambda: bob.bot_messages, 60)
        assert any(c.method == "getBusinessConnection" for c in tg.calls)
        tg.send_business_message(bc, BOB, "We open at 9 tomorrow.", from_owner=True)
        await e2e.wait_for(lambda: e2e.db.count(
            "messages", "text = 'We open at 9 tomorrow.' AND role = 'assistant'") == 1, 30)
        assert len(completions(e2e)) == 1  # the owner's message asked the model nothing
        e2e.fm.queue_reply("We close at 8 pm.")
        tg.send_business_message(bc, BOB, "And when do you close?")
        await e2e.wait_for(lambda: len(bob.bot_messages) == 2, 60)
        request = completions(e2e)[1]
        roles = [(m["role"], m["text"]) for m in request if m["role"] != "system"]
        assert roles == [("user", "Hi, are you open tomorrow?"),
                         ("assistant", "Hello! How can I help?"),
                         ("assistant", "We open at 9 tomorrow."),
                         ("user", "And when do you close?")]


async def test_approve_mode_sends_nothing_before_the_press_and_one_message_after(
    tmp_path: Path,
) -> None:
    async with E2E(tmp_path, extra_env={"BUSINESS_REPLIES": "approve"}) as e2e:
        tg = e2e.tg
        tg.add_chat(OWNER["id"], "private", user=OWNER)
        e2e.fm.queue_reply("It costs **20 EUR**.")
        await e2e.start_bot()
        bc = tg.connect_business(OWNER)
        owner_chat = tg.chat(OWNER["id"])
        await e2e.wait_for(lambda: owner_chat.bot_messages, 30)
        tg.send_business_message(bc, BOB, "How much is the blue vase?")
        await e2e.wait_for(lambda: any(m.reply_markup for m in owner_chat.bot_messages), 60)
        card = next(m for m in owner_chat.bot_messages if m.reply_markup)
        assert "How much is the blue vase?" in (card.text or "")
        assert "It costs 20 EUR." in (card.text or "")
        bob = tg.business_chat(bc, BOB["id"])
        assert bob.bot_messages == []
        buttons = card.reply_markup["inline_keyboard"][0]
        send, discard = buttons[0]["callback_data"], buttons[1]["callback_data"]
        # Someone else's press does nothing; the owner's twice sends once.
        tg.send_callback_query(OWNER["id"], card.message_id, send, user={"id": 66})
        for _ in range(2):
            tg.send_callback_query(OWNER["id"], card.message_id, send, user=OWNER)
        await e2e.wait_for(lambda: bob.bot_messages, 30)
        await e2e.wait_for(lambda: not card.reply_markup and "Sent" in (card.text or ""), 30)
        tg.send_callback_query(OWNER["id"], card.message_id, discard, user=OWNER)
        await e2e.wait_for(lambda: len(tg.callback_answers) >= 4, 30)
        assert [m.text for m in bob.bot_messages] == ["It costs 20 EUR."]
        assert bob.bot_messages[0].entities  # rendered as the bot's answers are

        # A discarded suggestion reaches nobody, and leaves the prompts.
        e2e.fm.queue_reply("Free shipping over 50 EUR.")
        tg.send_business_message(bc, BOB, "Is shipping free?")
        await e2e.wait_for(lambda: len([m for m in owner_chat.bot_messages
                                         if "Is shipping free?" in (m.text or "")]) == 1, 60)
        card2 = next(m for m in owner_chat.bot_messages if "Is shipping free?" in (m.text or ""))
        drop = card2.reply_markup["inline_keyboard"][0][1]["callback_data"]
        tg.send_callback_query(OWNER["id"], card2.message_id, drop, user=OWNER)
        await e2e.wait_for(lambda: "Discarded" in (card2.text or ""), 30)
        assert len(bob.bot_messages) == 1
        e2e.fm.queue_reply("Anything else?")
        tg.send_business_message(bc, BOB, "ok")
        await e2e.wait_for(lambda: len(completions(e2e)) == 3, 60)
        texts = [m["text"] for m in completions(e2e)[2]]
        assert "It costs **20 EUR**." in texts  # sent: history
        assert "Free shipping over 50 EUR." not in texts  # discarded: gone


async def test_no_model_call_without_the_right_to_reply_or_when_paused(tmp_path: Path) -> None:
    async with E2E(tmp_path) as e2e:
        tg = e2e.tg
        tg.add_chat(OWNER["id"], "private", user=OWNER)
        await e2e.start_bot()
        owner_chat = tg.chat(OWNER["id"])
        bc = tg.connect_business(OWNER, can_reply=False)
        await e2e.wait_for(lambda: owner_chat.bot_messages, 30)
        assert "may not reply" in (owner_chat.bot_messages[-1].text or "")
        tg.send_business_message(bc, BOB, "hello?")
        tg.connect_business(OWNER, connection_id=bc, enabled=False)
        await e2e.wait_for(lambda: len(owner_chat.bot_messages) == 2, 30)
        tg.send_business_message(bc, BOB, "anyone?")
        await e2e.wait_for(lambda: e2e.db.count("messages", "text = 'anyone?'") == 1, 30)
        assert completions(e2e) == []

        # Enabled again, then paused by the owner with /business pause: still no call.
        tg.connect_business(OWNER, connection_id=bc)
        tg.send_user_message(OWNER["id"], "/business pause", user=OWNER)
        await e2e.wait_for(lambda: any("paused" in (m.text or "")
                                       for m in owner_chat.bot_messages), 30)
        tg.send_business_message(bc, BOB, "still there?")
        await e2e.wait_for(lambda: e2e.db.count("messages", "text = 'still there?'") == 1, 30)
        assert completions(e2e) == []
        # Resumed: answered.
        e2e.fm.queue_reply("Yes, here!")
        tg.send_user_message(OWNER["id"], "/business resume", user=OWNER)
        await e2e.wait_for(lambda: any("answering" in (m.text or "")
                                       for m in owner_chat.bot_messages), 30)
        tg.send_business_message(bc, BOB, "hello again")
        bob = tg.business_chat(bc, BOB["id"])
        # The answer streams into its message ("Yes," first): wait for the finished text.
        await e2e.wait_for(lambda: [m.text for m in bob.bot_messages] == ["Yes, here!"], 60)


async def test_business_updates_are_not_asked_for_when_off(tmp_path: Path) -> None:
    async with E2E(tmp_path, extra_env={"BUSINESS_REPLIES": "off"}) as e2e:
        await e2e.start_bot()
        polls = [c for c in e2e.tg.calls if c.method == "getUpdates"]
        assert polls
        assert not any("business" in str(c.params.get("allowed_updates")) for c in polls)
