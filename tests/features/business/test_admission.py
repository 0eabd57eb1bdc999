"""Who may run the bot through a connected business account: its owner, judged by the same
rules as any user of the bot (ALLOWED_CHAT_MEMBERS_OF included) on every message."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bot import App
from bot.testing import BotTester, ScriptedModel

pytestmark = [pytest.mark.timeout(60)]

COMPANY = -100777


def shop() -> ScriptedModel:
    model = ScriptedModel()
    model.when("deliver").answer("We deliver on Sundays.")
    return model


async def test_a_strangers_account_gets_no_model_call_on_any_message() -> None:
    async with BotTester(App(env_file=None), model=shop(),
                         settings={"ALLOWED_CHAT_MEMBERS_OF": str(COMPANY)}) as tester:
        stranger, bob = tester.user("Mallory"), tester.user("Bob")
        tester.telegram.set_member(COMPANY, tester.user("Olga").id)  # somebody else is
        shop_ = await tester.business(stranger)
        assert not any("Connected" in card.text for card in shop_.cards)
        # The connection was refused, so it is not stored: the first customer message makes
        # the bot read it with getBusinessConnection, and its owner is judged all the same.
        first = await shop_.customer(bob).says("Do you deliver on Sundays?")
        later = await shop_.customer(bob).says("Do you deliver on Mondays?")
        assert first.messages == ()
        assert later.messages == ()
        assert tester.model.requests == []
        assert any(c.method == "getBusinessConnection" for c in tester.telegram.sent)


async def test_an_owner_who_leaves_the_company_chat_loses_the_connection() -> None:
    settings = {"ALLOWED_CHAT_MEMBERS_OF": str(COMPANY), "ALLOWED_CHAT_MEMBERS_TTL": "0"}
    async with BotTester(App(env_file=None), model=shop(), settings=settings) as tester:
        owner, bob = tester.user("Olga"), tester.user("Bob")
        tester.telegram.set_member(COMPANY, owner.id)
        shop_ = await tester.business(owner)
        assert "Connected" in shop_.cards[0].text
        assert (await shop_.customer(bob).says("Do you deliver?")).text == \
            "We deliver on Sundays."
        tester.telegram.set_member(COMPANY, owner.id, "left")
        calls = len(tester.model.requests)
        assert (await shop_.customer(bob).says("Do you deliver?")).messages == ()
        assert len(tester.model.requests) == calls


async def test_the_allow_lists_judge_the_owner_not_the_customer() -> None:
    async with BotTester(App(env_file=None), model=shop(),
                         settings={"ALLOWED_USER_IDS": "42"}) as tester:
        owner, bob = tester.user("Olga", id=42), tester.user("Bob")
        shop_ = await tester.business(owner)
        assert (await shop_.customer(bob).says("Do you deliver?")).text == \
            "We deliver on Sundays."
        other = await tester.business(tester.user("Mallory"))
        assert (await other.customer(bob).says("Do you deliver?")).messages == ()
        assert len(tester.model.requests) == 1


async def test_a_press_in_a_strangers_business_chat_is_refused() -> None:
    """Issue 77, item 5: a press there is judged as the business chat (its owner), not as the
    presser's private chat, like a message there."""
    async with BotTester(App(env_file=None), model=shop(),
                         settings={"ALLOWED_USER_IDS": "42,7"}) as tester:
        bob = tester.user("Bob", id=7)  # admitted in his own private chat with the bot
        other = await tester.business(tester.user("Mallory"))
        assert (await other.customer(bob).says("Do you deliver?")).messages == ()
        pressed = await other.customer(bob).presses("biz:chat:1:0")
        assert [c.method for c in pressed.calls] == []
        assert tester.model.requests == []
        # The same press in an admitted owner's chat is answered.
        olga = await tester.business(tester.user("Olga", id=42))
        answered = await olga.customer(bob).presses("biz:chat:1:0")
        assert [c.method for c in answered.calls] == ["answerCallbackQuery"]


async def test_a_customer_over_their_daily_budget_gets_no_model_call() -> None:
    async with BotTester(App(env_file=None), model=shop(),
                         settings={"DAILY_TOKEN_LIMIT": "1"}) as tester:
        owner, bob, carol = tester.user("Olga"), tester.user("Bob"), tester.user("Carol")
        shop_ = await tester.business(owner)
        assert (await shop_.customer(bob).says("Do you deliver?")).text == \
            "We deliver on Sundays."
        assert (await shop_.customer(bob).says("Do you deliver?")).messages == ()
        assert (await shop_.customer(bob).says("Do you deliver?")).messages == ()
        assert len(tester.model.requests) == 1
        told = [card.text for card in shop_.cards if "token budget" in card.text]
        assert len(told) == 1, "the owner is told once"
        assert "Bob" in told[0]
        # Carol has her own budget.
        assert (await shop_.customer(carol).says("Do you deliver?")).text == \
            "We deliver on Sundays."


async def test_a_connections_customers_share_one_daily_budget() -> None:
    async with BotTester(App(env_file=None), model=shop(),
                         settings={"BUSINESS_DAILY_TOKEN_LIMIT": "1"}) as tester:
        owner, bob, carol = tester.user("Olga"), tester.user("Bob"), tester.user("Carol")
        shop_ = await tester.business(owner)
        assert (await shop_.customer(bob).says("Do you deliver?")).text == \
            "We deliver on Sundays."
        assert (await shop_.customer(carol).says("Do you deliver?")).messages == ()
        assert len(tester.model.requests) == 1
        assert any("customers" in card.text and "budget" in card.text for card in shop_.cards)
        # Another account connected to the bot has a budget of its own.
        other = await tester.business(tester.user("Vera"))
        assert (await other.customer(carol).says("Do you deliver?")).text == \
            "We deliver on Sundays."


async def connection_usage(tester: BotTester) -> int:
    """The connection's count of tokens today, as stored (the one the budget reads)."""
    async with tester.built.core.db.sessionmaker() as session:
        return int((await session.execute(
            text("SELECT usage_tokens FROM business_connections"))).scalar_one())


async def test_five_customers_answered_at_once_do_not_overshoot_the_connections_budget() -> None:
    """The budget is reserved before each call and settled after: five customers writing at
    the same moment cannot all pass a check none of them has been charged for yet."""
    question = "Do you deliver on Sundays to the north of the city?"
    settings = {"MAX_REPLY_TOKENS": "40"}
    async with BotTester(App(env_file=None), model=shop(), settings=settings) as tester:
        shop_ = await tester.business(tester.user("Olga"))
        await shop_.customer(tester.user("Ann")).says(question)
        one = await connection_usage(tester)  # what one such answer costs
        assert one > 0
    # Room for two answers and a half, each reserved as its prompt plus 40 reply tokens.
    limit = one * 5 // 2 + 40
    settings |= {"BUSINESS_DAILY_TOKEN_LIMIT": str(limit)}
    async with BotTester(App(env_file=None), model=shop(), settings=settings) as tester:
        shop_ = await tester.business(tester.user("Olga"))
        customers = [tester.user(name) for name in ("Bob", "Carol", "Dan", "Eve", "Fay")]
        await shop_.all_say(customers, question)
        assert await connection_usage(tester) <= limit
        answered = [c for c in customers if shop_.customer(c).messages]
        assert 1 <= len(answered) < 5
        assert len(tester.model.requests) == len(answered)
        # Settled to what the answers spent: nothing stays reserved.
        assert await connection_usage(tester) == one * len(answered)
