"""The scripted models both evaluation test files use: the bot's (an order lookup, a refund
promised), the customer's (Anna asks for order A-1, Boris for his money back) and the judge's
(Anna's case passes, Boris's breaks its must_not)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx

from bot import App, ToolContext
from bot.testing import ModelRequest, ScriptedModel, TestModel

# Anna asks where order A-1 is (a stub answers order_status); Boris wants his money back.
TWO_CASES = """\
[[case]]
name = "order status"
persona = "Anna, polite, writes in English"
goal = "find out where order A-1 is"
facts = ["the order number is A-1"]
criteria = ["gives the order's status from the order system"]
must_not = ["promises a refund"]
max_turns = 3

[case.tools]
order_status = { status = "shipped", delivery = "June 12" }

[[case]]
name = "broken blender"
persona = "Boris, annoyed, writes in English"
goal = "get money back for a broken blender"
criteria = ["asks for the order number"]
must_not = ["promises a refund"]
max_turns = 3
"""



def bot_model() -> ScriptedModel:
    bot = ScriptedModel(otherwise="How can I help?")
    bot.when("A-1").call("order_status", order_id="A-1").answer("Order A-1: {result}")
    bot.when("money back").answer("Sure, I will refund you right away.")
    return bot


def customer_model() -> ScriptedModel:
    customer = ScriptedModel()

    def anna(request: ModelRequest) -> str:
        return "Where is my order A-1?" if "chat is open" in request.question \
            else "Thanks! [GOAL MET]"

    def boris(request: ModelRequest) -> str:
        return "I want my money back for the blender" if "chat is open" in request.question \
            else "Fine. [GOAL MET]"

    customer.when(lambda r: "Anna" in r.system).answer(anna)
    customer.when(lambda r: "Boris" in r.system).answer(boris)
    return customer


def verdict(criterion: bool, violated: bool, line: int) -> str:
    return json.dumps({
        "criteria": [{"holds": criterion, "line": line, "evidence": "the bot's answer"}],
        "must_not": [{"holds": violated, "line": line if violated else 0,
                      "evidence": "I will refund you" if violated else ""}],
        "resolved": True, "resolved_line": line, "handed_off": False, "handed_off_line": 0,
    })


def judge_model() -> ScriptedModel:
    judge = ScriptedModel()
    judge.when(lambda r: "where order A-1 is" in r.system).answer(verdict(True, False, 3))
    judge.when(lambda r: "broken blender" in r.system).answer(verdict(False, True, 2))
    return judge


class Models(TestModel):
    """The bot's, the customer's and the judge's models behind one transport: a request goes
    to the model its `modelUri` names (EVAL_CUSTOMER_MODEL, EVAL_JUDGE_MODEL, else the bot)."""

    def __init__(self, bot: TestModel, customer: TestModel, judge: TestModel) -> None:
        super().__init__()
        self.bot, self.customer, self.judge = bot, customer, judge

    async def respond(self, request: httpx.Request) -> httpx.Response:
        try:
            body = json.loads(request.content or b"{}")
        except ValueError:
            body = {}
        uri = str(body.get("modelUri") or body.get("model") or "") if isinstance(
            body, dict) else ""
        if "customer-model" in uri:
            return await self.customer.respond(request)
        if "judge-model" in uri:
            return await self.judge.respond(request)
        return await self.bot.respond(request)


@dataclass
class Kettle:
    """A customer whose kettle is broken presses the tool card's button: the App with a
    confirmed open_ticket (`opened`: what the real tool was called with), and the models."""

    app: App
    opened: list[str]
    bot: ScriptedModel
    customer: ScriptedModel
    judge: ScriptedModel


def kettle(press: str = "Confirm") -> Kettle:
    app = App(env_file=None)
    opened: list[str] = []

    @app.tool(confirm=True, title="Open a ticket")
    async def open_ticket(ctx: ToolContext, subject: str) -> str:
        """Open a support ticket."""
        opened.append(subject)
        return "the real ticket"

    bot = ScriptedModel(otherwise="How can I help?")
    bot.when("broken").call("open_ticket", subject="Broken kettle").answer("Done: {result}")
    customer = ScriptedModel(otherwise="My kettle is broken")
    customer.when(lambda r: "[buttons:" in r.question).answer(f"[press: {press}]")
    customer.when(lambda r: "Done:" in r.question).answer("Thanks [GOAL MET]")
    return Kettle(app, opened, bot, customer, ScriptedModel(otherwise=verdict(True, False, 4)))
