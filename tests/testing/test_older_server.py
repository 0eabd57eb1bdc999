"""A Bot API server older than Bot API 10.3, through bot.testing: it refuses `can_stop` and
`keep_on_stop` on drafts and `ephemeral_message_parameters` with a 400 naming the field
(`refuse_fields`). The call is made again once without them, the refusal is remembered for the
process (one WARNING), and no later call in any chat pays a refused call again."""

from __future__ import annotations

import logging

import pytest

from bot import App, ToolContext
from bot.testing import BotTester, ScriptedModel
from bot.testing.telegram import BOT_USERNAME

pytestmark = [pytest.mark.timeout(60)]

OLDER = {"can_stop", "keep_on_stop", "ephemeral_message_parameters"}
LONG = " ".join(f"Word{n}." for n in range(400))


def refused_warnings(caplog: pytest.LogCaptureFixture, field: str) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.levelno == logging.WARNING and "refused" in r.getMessage()
            and field in r.getMessage() and "Bot API 10.3" in r.getMessage()]


async def test_drafts_go_on_without_the_stop_fields_once_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    model = ScriptedModel()
    model.when("story").answer(LONG)
    async with BotTester(App(env_file=None), model=model) as tester:
        tester.telegram.refuse_fields = set(OLDER)
        anna, boris = tester.user("Anna"), tester.user("Boris")
        first = await anna.says("tell me a story")
        second = await boris.says("tell me a story")
    assert first.text == LONG
    assert second.text == LONG
    calls = [*first.calls, *second.calls]
    with_stop = [c for c in calls if "can_stop" in c.params or "keep_on_stop" in c.params]
    assert len(with_stop) == 1  # refused once, in the whole process
    drafts = [c for c in calls if c.method == "sendMessageDraft" and c is not with_stop[0]]
    assert drafts, "the drafts went on without the fields"
    assert [c for c in second.calls if c.method == "sendMessageDraft"]
    assert len(refused_warnings(caplog, "can_stop")) == 1


def shop() -> App:
    app = App(env_file=None)

    @app.tool(confirm=True, title="Open a ticket")
    async def open_ticket(ctx: ToolContext, subject: str) -> str:
        """Open a support ticket."""
        return "ticket T-1 opened"

    return app


async def test_notices_go_as_replies_in_every_chat_once_the_field_is_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    model = ScriptedModel()
    model.when("broken").call("open_ticket", subject="Broken kettle").answer("Done: {result}")
    async with BotTester(shop(), model=model) as tester:
        tester.telegram.refuse_fields = set(OLDER)
        anna, boris = tester.user("Anna"), tester.user("Boris")
        pressed = []
        for title in ("Team", "Sales"):
            group = tester.group(title)
            await group.says(anna, f"@{BOT_USERNAME} my kettle is broken")
            pressed.append(await boris.presses("Confirm"))
    for press in pressed:  # told by the press's own alert, as where a chat refuses them
        (alert,) = [c for c in press.calls if c.method == "answerCallbackQuery"]
        assert alert.params["text"] == "Only the person who asked can confirm this."
    ephemeral = [c for p in pressed for c in p.calls
                 if "ephemeral_message_parameters" in c.params]
    assert len(ephemeral) == 1  # the second group was not tried: remembered for the process
    assert len(refused_warnings(caplog, "ephemeral_message_parameters")) == 1
