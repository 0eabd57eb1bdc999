"""Tools outside the deployment's own chats: closed unless declared safe for that surface.

A business chat is answered on behalf of a connected account's owner, to customers the
deployment does not know; a guest query comes from a chat the bot is not in. There a tool is
offered only where the tools file or the Python tool's declaration names it (`business`), an
MCP server's annotations can only take that away, and nothing that writes runs at all."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from bot import App, ToolContext
from bot.conversation import ChatRef
from bot.extending.functions import FunctionTools, ToolFunctionError
from bot.features.tools.mcpoffer import screen
from bot.features.tools.offering import offered_in
from bot.features.tools.toolsfile import McpServer
from bot.testing import BotTester, ModelRequest, ScriptedModel

pytestmark = [pytest.mark.timeout(60)]

OWN = ChatRef(1, "private")
BUSINESS = ChatRef(-(2**53) - 1, "private", read_only=True, surface="business")


def shop(*, business: bool) -> tuple[App, list[str]]:
    app = App(env_file=None)
    looked: list[str] = []

    @app.tool(business=business)
    async def order_status(ctx: ToolContext, order_id: str) -> str:
        """Look up an order."""
        looked.append(order_id)
        return "shipped"

    @app.tool
    async def add_note(ctx: ToolContext, text: str) -> str:
        """Add a note to the customer's card (no `writes` flag: the old gap)."""
        looked.append(f"note:{text}")
        return "noted"

    return app, looked


class Recording(ScriptedModel):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[ModelRequest] = []
        self.when("order").call("order_status", order_id="A-1").answer(self.keep)
        self.when("note").call("add_note", text="VIP").answer(self.keep)

    def keep(self, request: ModelRequest) -> str:
        self.seen.append(request)
        return "Done: " + (request.tool_results[-1] if request.tool_results else "nothing")


async def test_an_unmarked_python_tool_is_withheld_from_a_business_customer() -> None:
    app, ran = shop(business=False)
    model = Recording()
    async with BotTester(app, model=model) as tester:
        owner, bob = tester.user("Olga"), tester.user("Bob")
        shop_ = await tester.business(owner)
        await shop_.customer(bob).says("Where is my order?")
        await shop_.customer(bob).says("Please add a note")
        assert ran == [], "no tool ran from a customer's message"
        assert all(request.tools == () for request in tester.model.asked)
        # The owner's own private chat with the bot is the deployment's: both are offered.
        await owner.says("Where is my order?")
        assert ran == ["A-1"]


async def test_a_tool_declared_for_business_chats_is_offered_there() -> None:
    app, ran = shop(business=True)
    async with BotTester(app, model=Recording()) as tester:
        shop_ = await tester.business(tester.user("Olga"))
        reply = await shop_.customer(tester.user("Bob")).says("Where is my order?")
        assert ran == ["A-1"]
        assert "shipped" in reply.text
        (request, *_) = tester.model.asked
        assert request.tools == ("order_status",)


async def test_a_guest_is_offered_no_tool_at_all() -> None:
    app, ran = shop(business=True)
    async with BotTester(app, model=Recording()) as tester:
        await tester.guest(tester.user("Anna"), "Where is my order?")
        assert ran == []
        assert all(request.tools == () for request in tester.model.asked)


def test_a_python_tool_that_writes_cannot_be_declared_for_business_chats() -> None:
    source = FunctionTools()

    async def refund(order_id: str) -> str:
        """Refund an order."""
        return "ok"

    with pytest.raises(ToolFunctionError, match="business=True is for read-only tools"):
        source.add(refund, writes=True, business=True)
    with pytest.raises(ToolFunctionError, match="business=True is for read-only tools"):
        source.add(refund, confirm=True, business=True)


def listed(name: str, **annotations: Any) -> SimpleNamespace:
    """A tool as the MCP SDK lists it."""
    hints = SimpleNamespace(model_dump=lambda **_: annotations) if annotations else None
    return SimpleNamespace(name=name, description=f"{name} tool", title=None,
                           input_schema={"type": "object", "properties": {}},
                           annotations=hints)


def test_mcp_tools_are_closed_in_business_chats_unless_named_and_hints_only_withhold() -> None:
    spec = McpServer.model_validate({
        "url": "http://127.0.0.1:1/mcp", "business": ["find_issue", "wipe"],
    })
    offer = screen("tracker", spec, "mcp:tracker", [
        listed("find_issue", readOnlyHint=True),
        listed("delete_everything"),  # not named: closed, whatever it claims
        listed("wipe", destructiveHint=True),  # named, but the server says it destroys
        listed("list_all", readOnlyHint=True),  # a hint never grants
    ], None)
    tools = {d.name: d for d in offer.definitions}
    assert set(tools) == {"find_issue", "delete_everything", "wipe", "list_all"}
    assert [name for name, d in tools.items() if offered_in(BUSINESS, d)] == ["find_issue"]
    assert all(offered_in(OWN, d) for d in tools.values())
