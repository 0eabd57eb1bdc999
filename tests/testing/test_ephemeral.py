"""Ephemeral notices through bot.testing: in a group, what concerns one member (another
member's press on a confirmation card, a rate limit) is shown to that member alone
(`Shown.receiver`, `Reply.ephemeral`, `Reply.seen_by`); a fake Telegram that refuses them
(`refuse_ephemeral`) gets today's alert or reply; private chats are as before."""

from __future__ import annotations

import pytest

from bot import App, ToolContext
from bot.testing import BotTester, ScriptedModel

pytestmark = [pytest.mark.timeout(60)]

NOT_YOURS = "Only the person who asked can confirm this."
TOO_FAST = "You are sending messages too fast"


def shop() -> tuple[App, list[str]]:
    app = App(env_file=None)
    opened: list[str] = []

    @app.tool(confirm=True, title="Open a ticket")
    async def open_ticket(ctx: ToolContext, subject: str) -> str:
        """Open a support ticket."""
        opened.append(subject)
        return "ticket T-1 opened"

    return app, opened


def ticket_model() -> ScriptedModel:
    model = ScriptedModel()
    model.when("broken").call("open_ticket", subject="Broken kettle").answer("Done: {result}")
    return model


async def test_another_members_press_is_told_to_them_alone_and_the_card_stays() -> None:
    app, opened = shop()
    async with BotTester(app, model=ticket_model()) as tester:
        team = tester.group("Team")
        anna, boris = tester.user("Anna"), tester.user("Boris")
        card = await team.says(anna, "@fmbot_test_bot my kettle is broken")
        assert len(card.buttons) == 2
        pressed = await boris.presses("Confirm")
        (notice,) = pressed.ephemeral
        assert notice.text == NOT_YOURS
        assert notice.receiver == boris.id
        assert pressed.seen_by(anna.id) == ()
        (sent,) = [c for c in pressed.calls if c.method == "sendMessage"]
        assert sent.params["ephemeral_message_parameters"]["receiver_user_id"] == boris.id
        assert sent.params["ephemeral_message_parameters"]["callback_query_id"]
        assert not [c for c in pressed.calls if c.method.startswith("edit")]  # card untouched
        assert opened == []
        done = await anna.presses("Confirm")
        assert opened == ["Broken kettle"]
        assert done.text.endswith("Done: ticket T-1 opened")


async def test_where_telegram_refuses_the_press_gets_todays_alert() -> None:
    app, opened = shop()
    async with BotTester(app, model=ticket_model()) as tester:
        tester.telegram.refuse_ephemeral = True
        team = tester.group("Team")
        anna, boris = tester.user("Anna"), tester.user("Boris")
        await team.says(anna, "@fmbot_test_bot my kettle is broken")
        pressed = await boris.presses("Confirm")
        assert pressed.messages == ()
        (alert,) = [c for c in pressed.calls if c.method == "answerCallbackQuery"]
        assert alert.params["text"] == NOT_YOURS
        assert alert.params["show_alert"] is True
        assert opened == []


async def test_a_limit_in_a_group_is_told_alone_and_in_private_as_before() -> None:
    async with BotTester(App(env_file=None), settings={"RATE_LIMIT_PER_MINUTE": 1}) as tester:
        team = tester.group("Team")
        anna, boris = tester.user("Anna"), tester.user("Boris")
        assert (await team.says(anna, "@fmbot_test_bot hello")).messages
        limited = await team.says(anna, "@fmbot_test_bot hello again")
        (notice,) = limited.messages
        assert notice.text.startswith(TOO_FAST)
        assert notice.ephemeral
        assert notice.receiver == anna.id
        assert limited.seen_by(boris.id) == ()
        assert limited.ephemeral == (notice,)
        await boris.says("hi")
        private = await boris.says("hi again")
        (reply,) = private.messages
        assert reply.text.startswith(TOO_FAST)
        assert reply.receiver is None
        assert not reply.ephemeral


async def test_refusals_in_a_group_are_told_to_the_member_alone() -> None:
    async with BotTester(App(env_file=None), settings={"ALLOWED_USER_IDS": [1001]}) as tester:
        team = tester.group("Team")
        anna, boris = tester.user("Anna"), tester.user("Boris")
        assert anna.id == 1001
        admins_only = await team.says(anna, "/system be brief")
        (notice,) = admins_only.messages
        assert notice.text == "Only the bot's administrators can do that."
        assert notice.receiver == anna.id
        refused = await team.says(boris, "@fmbot_test_bot hello")
        (notice,) = refused.messages
        assert notice.text == "Sorry, this bot is private and not available to you."
        assert notice.receiver == boris.id
        assert (await team.says(boris, "@fmbot_test_bot hello?")).messages == ()  # told once
        private = await boris.says("hello")
        (notice,) = private.messages
        assert notice.receiver is None  # a private chat: as before
