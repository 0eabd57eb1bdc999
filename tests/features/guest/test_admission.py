"""Guest queries are admitted by who asks, never by the chat they ask in: the bot is not a
member of that chat, and Telegram reports its id, so an allow-listed chat's id would admit
anyone who mentions the bot in a private chat with it."""

from __future__ import annotations

import pytest

from bot import App
from bot.testing import BotTester, ScriptedModel

pytestmark = [pytest.mark.timeout(60)]


def model() -> ScriptedModel:
    scripted = ScriptedModel()
    scripted.when("what time").answer("Five o'clock.")
    return scripted


async def test_an_allowed_chats_id_admits_no_guest() -> None:
    async with BotTester(App(env_file=None), model=model(),
                         settings={"ALLOWED_CHAT_IDS": "7001"}) as tester:
        mallory = tester.user("Mallory")
        assert "not available to you" in (await mallory.says("what time is it?")).text
        reply = await tester.guest(mallory, "what time is it?", chat_id=7001)
        assert reply.messages == ()
        assert tester.model.requests == []


async def test_an_allowed_asker_is_answered_in_any_chat() -> None:
    async with BotTester(App(env_file=None), model=model(),
                         settings={"ALLOWED_USER_IDS": "42"}) as tester:
        reply = await tester.guest(tester.user("Anna", id=42), "what time is it?",
                                   chat_id=7001)
        assert reply.text == "Five o'clock."


async def test_a_guest_is_judged_by_membership_of_the_company_chat() -> None:
    async with BotTester(App(env_file=None), model=model(),
                         settings={"ALLOWED_CHAT_MEMBERS_OF": "-100777"}) as tester:
        anna, mallory = tester.user("Anna"), tester.user("Mallory")
        tester.telegram.set_member(-100777, anna.id)
        assert (await tester.guest(anna, "what time is it?")).text == "Five o'clock."
        assert (await tester.guest(mallory, "what time is it?")).messages == ()
        assert len(tester.model.requests) == 1
