"""Ephemeral notices, in process, RATE_LIMIT_PER_MINUTE=1: in a group a member over the limit
is told so alone (an ephemeral message replying to their message), the other members see
nothing; where Telegram refuses ephemeral messages the notice is today's reply, and the refusal
is remembered for that chat (the next notice there costs no failed call); a private chat gets
today's reply. A member pressing Confirm on another member's TOOLS_FILE card is told alone (a
message tied to the press), or by today's alert where refused; the card stays for the asker.
Was tests/e2e/test_ephemeral_notices.py, with the bot as a process."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import App
from bot.testing import BotTester, Reply, ServiceModel, TestGroup, TestUser
from tests.e2e.tools_world import SECRET, SHOP_TOKEN, CompanyApi

pytestmark = [pytest.mark.timeout(60)]
NOTICE = "You are sending messages too fast"
NOT_YOURS = "Only the person who asked can confirm this."


def ephemeral_sends(tester: BotTester, chat_id: int) -> int:
    return sum(1 for c in tester.sent if c.method == "sendMessage" and c.chat_id == chat_id
               and "ephemeral_message_parameters" in c.params)


def replied_to(reply: Reply) -> list[int]:
    return [c.params["reply_parameters"]["message_id"] for c in reply.calls
            if c.method == "sendMessage" and "reply_parameters" in c.params]


async def twice(tester: BotTester, user: TestUser, group: TestGroup | None) -> Reply:
    """`user` asks twice in a row: the first is answered, the second is over the limit."""
    mention = "@fmbot_test_bot " if group is not None else ""
    first = await user.says(f"{mention}hi", chat=group)
    assert first.text == "Hello!"
    return await user.says(f"{mention}and again", chat=group)


async def test_a_limit_in_a_group_is_told_to_that_member_alone_and_private_chats_as_before(
) -> None:
    model = ServiceModel()
    for _ in range(4):
        model.service.queue_reply("Hello!")
    async with BotTester(App(env_file=None), model=model,
                         settings={"RATE_LIMIT_PER_MINUTE": "1"}) as tester:
        team = tester.group("Team")
        seven, eight = tester.user("Seven"), tester.user("Eight")
        await eight.says("morning all", chat=team)
        limited = await twice(tester, seven, team)
        (notice,) = limited.ephemeral
        assert notice.text.startswith(NOTICE)
        assert notice.receiver == seven.id
        assert replied_to(limited) == [notice.message_id - 1], "a reply to 'and again'"
        assert limited.seen_by(eight.id) == ()
        assert ephemeral_sends(tester, team.id) == 1

        # A private chat: today's reply, no ephemeral message.
        nine = tester.user("Nine")
        private = await twice(tester, nine, None)
        (reply,) = private.messages
        assert reply.text.startswith(NOTICE)
        assert reply.receiver is None
        assert replied_to(private) == [reply.message_id - 1]
        assert ephemeral_sends(tester, nine.id) == 0

        # A group where Telegram refuses them: today's reply, and the next notice there goes
        # straight to a reply (the refusal remembered).
        tester.telegram.refuse_ephemeral = True
        refusing = tester.group("Refusing")
        ten, eleven = tester.user("Ten"), tester.user("Eleven")
        first = await twice(tester, ten, refusing)
        (told,) = first.messages
        assert told.text.startswith(NOTICE)
        assert told.receiver is None  # everyone sees it
        assert replied_to(first)[-1] == told.message_id - 1
        second = await twice(tester, eleven, refusing)
        (again,) = second.messages
        assert again.text.startswith(NOTICE)
        assert replied_to(second) == [again.message_id - 1]
        assert ephemeral_sends(tester, refusing.id) == 1, "refused once, then remembered"
        assert first.ephemeral == second.ephemeral == ()


async def test_a_press_on_someone_elses_card_is_told_to_the_presser_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHOP_TOKEN", SHOP_TOKEN)
    model = ServiceModel()
    ticket = {"name": "open_ticket", "arguments": {"subject": "Broken kettle"}}
    for _ in range(2):
        model.service.queue_reply("", tool_calls=[ticket])
    model.service.queue_reply("Ticket T-1 is open.")
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
        settings = {"TOOLS_FILE": tools, "TOOLS_SIGNING_SECRET": SECRET}
        async with BotTester(App(env_file=None), model=model, settings=settings) as tester:
            seven, eight = tester.user("Seven"), tester.user("Eight")
            team, refusing = tester.group("Team"), tester.group("Refusing")
            cards = []
            for group in (team, refusing):
                await eight.says("hello", chat=group)
                asked = await seven.says("@fmbot_test_bot my kettle is broken, open a ticket",
                                         chat=group)
                assert len(asked.buttons) == 2
                cards.append(asked.messages[-1])
            card, refused_card = cards
            before = (card.text, list(card.buttons))

            # Member 8 presses Confirm on member 7's card: told alone, by a message tied to
            # the press (which answers it); the card untouched, nothing run.
            pressed = await eight.presses(card.button_texts()[0], on=card)
            (notice,) = pressed.ephemeral
            assert notice.text == NOT_YOURS
            assert notice.receiver == eight.id
            (sent,) = [c for c in pressed.calls if c.method == "sendMessage"]
            assert sent.params["ephemeral_message_parameters"]["callback_query_id"]
            assert pressed.seen_by(seven.id) == ()
            assert (card.text, card.buttons) == before
            assert not [c for c in pressed.calls if c.method.startswith("edit")]
            assert api.to("/api/tickets") == []

            # Where Telegram refuses them: today's alert, nothing posted.
            tester.telegram.refuse_ephemeral = True
            alerted = await eight.presses(refused_card.button_texts()[0], on=refused_card)
            (alert,) = [c for c in alerted.calls if c.method == "answerCallbackQuery"]
            assert (alert.params["text"], alert.params["show_alert"]) == (NOT_YOURS, True)
            assert alerted.ephemeral == ()

            # The asker's own press still confirms.
            await seven.presses(card.button_texts()[0], on=card)
            assert len(api.to("/api/tickets")) == 1
