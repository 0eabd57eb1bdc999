"""The shop's support bot (examples/shop_support.py) as its developer tests it: the plan
command, an order looked up, a ticket opened only after the customer's press, and an answer
from the shop's knowledge base with its source."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import pytest

from bot.testing import BotTester, ScriptedModel

SHOP_KB = Path(__file__).resolve().parent.parent / "shop_kb"
GOLD = 7401


@pytest.fixture
def shop(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    # The example sets KB_PATH when it is not set: set here, it is unset after the test.
    monkeypatch.setenv("KB_PATH", str(SHOP_KB))
    return importlib.import_module("examples.shop_support")


def support_model() -> ScriptedModel:
    model = ScriptedModel()  # rules are tried in order: the first that matches answers
    model.when("broken").call("open_ticket", subject="Broken kettle", order_id="A-1042").answer(
        "Done: {result}."
    )
    model.when("A-1042").call("order_status", order_id="A-1042").answer(
        "Your kettle has shipped; it arrives on 27 November."
    )
    model.when("return").answer("You may return any item within 30 days of delivery [1].")
    return model


async def test_the_plan_and_an_order(shop: ModuleType) -> None:
    async with BotTester(shop.app, model=support_model()) as tester:
        gold = tester.user("Gold customer", id=GOLD)
        assert (await gold.says("/plan")).text == "Your plan: Gold."
        reply = await gold.says("Where is my order A-1042?")
    assert reply.text == "Your kettle has shipped; it arrives on 27 November."
    assert [c.name for c in reply.tool_calls] == ["order_status"]
    assert "The customer is on the Gold plan." in tester.model.asked[0].system
    assert shop.READY[-1]  # the startup hook asked the bot who it is
    assert shop.ANSWERED.get("complete", 0) >= 1


@pytest.mark.slow
async def test_a_ticket_is_opened_only_after_the_press(shop: ModuleType) -> None:
    async with BotTester(shop.app, model=support_model()) as tester:
        gold = tester.user("Gold customer", id=GOLD)
        card = await gold.says("The kettle from A-1042 is broken")
        assert len(card.buttons) == 2
        assert not any(t["subject"] == "Broken kettle" for t in shop.TICKETS.values())
        done = await gold.presses("Confirm")
    assert done.text.endswith("opened.")
    assert [c.outcome for c in done.tool_calls] == ["ok"]
    assert any(t["subject"] == "Broken kettle" for t in shop.TICKETS.values())


@pytest.mark.slow
async def test_returns_are_answered_from_the_knowledge_base(shop: ModuleType) -> None:
    async with BotTester(shop.app, model=support_model()) as tester:
        reply = await tester.user("Basic customer", id=7402).says("Can I return my order?")
    assert "30 days" in reply.text
    assert reply.sources[0].path.endswith("delivery.md")
    assert reply.sources[0].cited


@pytest.mark.slow
async def test_connected_to_the_owners_account_it_looks_orders_up_but_opens_no_ticket(
    shop: ModuleType,
) -> None:
    """The shop's owner connects the bot to their Telegram account (chat automation): their
    customers are answered as the owner, with the read-only tools named for it
    (`business=True`)."""
    async with BotTester(shop.app, model=support_model()) as tester:
        owner, customer = tester.user("Shop owner"), tester.user("Customer")
        account = await tester.business(owner)
        reply = await account.customer(customer).says("Where is my order A-1042?")
        assert reply.text == "Your kettle has shipped; it arrives on 27 November."
        tickets = len(shop.TICKETS)
        await account.customer(customer).says("The kettle from A-1042 is broken")
    assert len(shop.TICKETS) == tickets  # a tool that writes is not run on the owner's behalf
    assert "open_ticket" not in tester.model.asked[-1].tools
