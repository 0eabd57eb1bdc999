"""Rich answers (Bot API 10.1) through bot.testing: a developer's test sees a table answer as a
rich message (`Reply.rich`; its draft a rich draft), in a private chat and in a group, and a
plain answer as text; the
in-memory Telegram refusing rich messages (`refuse_rich`) gives today's text."""

from __future__ import annotations

import pytest

from bot import App
from bot.testing import BotTester, ScriptedModel

pytestmark = [pytest.mark.timeout(60)]

TABLE = "| Plan | Price |\n|---|---|\n| Basic | 5 |\n| Pro | 10 |"


def model() -> ScriptedModel:
    scripted = ScriptedModel()
    scripted.when("plans").answer(TABLE)
    scripted.when("hello").answer("Hello, **friend**.")
    return scripted


async def test_a_table_answer_is_a_rich_message_and_a_plain_one_is_text() -> None:
    async with BotTester(App(env_file=None), model=model()) as tester:
        anna = tester.user("Anna")
        reply = await anna.says("compare the plans")
        assert reply.rich == [{"markdown": TABLE}]
        # The draft that showed the whole table was a rich draft too.
        assert [c.method for c in reply.calls if "rich_message" in c.params] == [
            "sendRichMessageDraft", "sendRichMessage"]
        assert reply.drafts[-1] == TABLE
        hello = await anna.says("hello")
        assert hello.rich == []
        assert hello.text == "Hello, friend."

        team = tester.group("Team")
        grouped = await team.says(anna, "@fmbot_test_bot compare the plans")
        assert grouped.rich == [{"markdown": TABLE}]


async def test_refused_or_switched_off_the_table_is_text() -> None:
    async with BotTester(App(env_file=None), model=model()) as tester:
        tester.telegram.refuse_rich = True
        reply = await tester.user("Anna").says("compare the plans")
        assert reply.rich == []
        assert "Basic" in reply.text
    async with BotTester(App(env_file=None), model=model(),
                         settings={"RICH_MESSAGES": "off"}) as tester:
        reply = await tester.user("Anna").says("compare the plans")
        assert reply.rich == []
        assert not [c for c in reply.calls if "rich_message" in c.params]
