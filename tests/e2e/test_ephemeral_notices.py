"""Ephemeral notices end to end: the bot run in the test's process (tests/e2e/inprocess.py)
against the fake Telegram
(bot/testing/telegram/ephemeral.py) and the fake Yandex server, RATE_LIMIT_PER_MINUTE=1. In a group
a member over the rate limit is told so alone (an ephemeral message with
`ephemeral_message_parameters.receiver_user_id`, replying to their message), the other members
see nothing; where Telegram refuses ephemeral messages the notice is today's reply, and the
refusal is remembered for that chat (the next notice there costs no failed call); a private
chat gets today's reply, never an ephemeral message. A member pressing Confirm on another
member's tool card (TOOLS_FILE) is told so alone, by an ephemeral message tied to the press;
where refused, by today's alert; the card stays for the asker."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.harness import E2E
from tests.e2e.tools_world import SECRET, SHOP_TOKEN, CompanyApi, card_in

pytestmark = [pytest.mark.timeout(180)]

GROUP = -1001000000071
REFUSING = -1001000000072
NOTICE = "You are sending messages too fast"


def ephemeral_sends(e2e: E2E, chat_id: int) -> list[int]:
    """The statuses of the bot's ephemeral sendMessage calls in a chat, in order."""
    return [c.status for c in e2e.tg.calls_for(chat_id, "sendMessage")
            if "ephemeral_message_parameters" in c.params]


async def ask_twice(e2e: E2E, chat_id: int, user: int, chat_type: str = "supergroup") -> int:
    """`user` asks twice in a row: the first question is answered, the second is over the
    limit; the second message's id."""
    mention = "" if chat_type == "private" else "@fm_test_bot "
    answered = e2e.texts(chat_id).count("Hello!")
    e2e.tg.send_user_message(chat_id, f"{mention}hi", user={"id": user}, chat_type=chat_type)
    await e2e.wait_for(lambda: e2e.texts(chat_id).count("Hello!") > answered, 60)
    e2e.tg.send_user_message(chat_id, f"{mention}and again", user={"id": user},
                             chat_type=chat_type)
    return e2e.tg.chat(chat_id).history[-1].message_id


async def test_a_limit_in_a_group_is_told_to_that_member_alone_and_private_chats_as_before(
    tmp_path: Path,
) -> None:
    async with E2E(tmp_path, extra_env={"RATE_LIMIT_PER_MINUTE": "1"}, in_process=True) as e2e:
        for _ in range(4):
            e2e.fm.queue_reply("Hello!")
        await e2e.start_bot()

        # A group: the notice reaches member 7 alone, as a reply to their message.
        e2e.tg.send_user_message(GROUP, "morning all", user={"id": 8}, chat_type="supergroup")
        asked = await ask_twice(e2e, GROUP, 7)
        chat = e2e.tg.chat(GROUP)
        (notice,) = await e2e.wait_for(lambda: chat.ephemeral, 30)
        assert (notice.text or "").startswith(NOTICE)
        assert notice.receiver == 7
        assert notice.reply_to == asked
        assert NOTICE not in " ".join(e2e.texts(GROUP))  # what every member sees
        assert not any(NOTICE in t for t in e2e.texts(GROUP, seen_by=8))
        assert e2e.texts(GROUP, seen_by=7)[-1].startswith(NOTICE)
        assert ephemeral_sends(e2e, GROUP) == [200]

        # A private chat: today's reply, no ephemeral message.
        asked = await ask_twice(e2e, 9, 9, chat_type="private")
        await e2e.wait_for(lambda: e2e.texts(9)[-1].startswith(NOTICE), 30)
        assert e2e.tg.chat(9).bot_messages[-1].reply_to == asked
        assert ephemeral_sends(e2e, 9) == []
        assert e2e.tg.chat(9).ephemeral == []

        # A group where Telegram refuses them: today's reply, and the next notice there goes
        # straight to a reply (the refusal remembered).
        e2e.tg.refuse_ephemeral(chat_id=REFUSING)
        asked = await ask_twice(e2e, REFUSING, 10)
        refusing = e2e.tg.chat(REFUSING)
        await e2e.wait_for(lambda: e2e.texts(REFUSING)[-1].startswith(NOTICE), 30)
        assert refusing.bot_messages[-1].reply_to == asked
        assert e2e.texts(REFUSING, seen_by=11)[-1].startswith(NOTICE)  # everyone sees it
        asked = await ask_twice(e2e, REFUSING, 11)
        await e2e.wait_for(lambda: refusing.bot_messages[-1].reply_to == asked, 30)
        assert refusing.bot_messages[-1].text is not None
        assert refusing.bot_messages[-1].text.startswith(NOTICE)
        assert ephemeral_sends(e2e, REFUSING) == [400]
        assert e2e.tg.ephemeral_refusals == 1
        assert refusing.ephemeral == []
        assert await e2e.bot.terminate() == 0


async def test_a_press_on_someone_elses_card_is_told_to_the_presser_alone(
    tmp_path: Path,
) -> None:
    async with CompanyApi() as api:
        tools = tmp_path / "tools.toml"
        tools.write_text(f"""
[[http]]
name = "open_ticket"
description = "Open a support ticket."
method = "POST"
url = "{api.url}/api/tickets"
parameters = {{ type = "object", properties = {{ subject = {{ type = "string" }} }}, \
required = ["subject"] }}
headers = {{ Authorization = "Bearer ${{SHOP_TOKEN}}" }}
confirm = true
""", encoding="utf-8")
        env = {"TOOLS_FILE": str(tools), "TOOLS_SIGNING_SECRET": SECRET,
               "SHOP_TOKEN": SHOP_TOKEN}
        async with E2E(tmp_path, extra_env=env, in_process=True) as e2e:
            ticket = {"name": "open_ticket", "arguments": {"subject": "Broken kettle"}}
            for _ in range(2):
                e2e.fm.queue_reply("", tool_calls=[ticket])
            e2e.fm.queue_reply("Ticket T-1 is open.")
            await e2e.start_bot()
            for chat_id in (GROUP, REFUSING):
                e2e.tg.send_user_message(chat_id, "hello", user={"id": 8},
                                         chat_type="supergroup")
                e2e.tg.send_user_message(chat_id, "@fm_test_bot my kettle is broken, open a "
                                         "ticket", user={"id": 7}, chat_type="supergroup")
            card_id, buttons = await e2e.wait_for(lambda: card_in(e2e, GROUP), 60)
            await e2e.wait_for(lambda: card_in(e2e, REFUSING), 60)
            card = e2e.tg.chat(GROUP).find(card_id)
            assert card is not None
            shown = (card.text, card.reply_markup, len(card.versions))

            # Member 8 presses Confirm on member 7's card: told alone, by a message tied to
            # the press (which answers it); the card untouched, nothing run.
            press = str(e2e.tg.send_callback_query(GROUP, card_id, buttons[0], user={"id": 8}))
            chat = e2e.tg.chat(GROUP)
            (notice,) = await e2e.wait_for(lambda: chat.ephemeral, 30)
            assert notice.text == "Only the person who asked can confirm this."
            assert notice.receiver == 8
            assert e2e.tg.callback_answers[press] == {"ephemeral_message_id": 1}
            assert notice.text not in e2e.texts(GROUP, seen_by=7)
            assert (card.text, card.reply_markup, len(card.versions)) == shown
            assert api.to("/api/tickets") == []

            # Where Telegram refuses them: today's alert, nothing posted.
            e2e.tg.refuse_ephemeral(chat_id=REFUSING)
            refused_id, refused_buttons = card_in(e2e, REFUSING) or (0, [])
            press = str(e2e.tg.send_callback_query(REFUSING, refused_id, refused_buttons[0],
                                                   user={"id": 8}))
            await e2e.wait_for(lambda: e2e.tg.callback_answers[press], 30)
            assert e2e.tg.callback_answers[press] == {
                "text": "Only the person who asked can confirm this.", "show_alert": True}
            assert e2e.tg.chat(REFUSING).ephemeral == []
            assert ephemeral_sends(e2e, REFUSING) == [400]

            # The asker's own press still confirms.
            e2e.tg.send_callback_query(GROUP, card_id, buttons[0], user={"id": 7})
            await e2e.wait_for(lambda: api.to("/api/tickets"), 30)
            assert await e2e.bot.terminate() == 0
