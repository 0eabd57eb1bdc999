"""The warehouse example (examples/warehouse.py): a tool source made of the public names
alone, called by the model; an unknown product is an error the model reads."""

from __future__ import annotations

from bot import App
from bot.testing import BotTester, ScriptedModel
from examples.warehouse import Warehouse


async def test_the_model_asks_the_warehouse() -> None:
    app = App(env_file=None)
    app.add_tool_source(Warehouse())
    model = ScriptedModel()
    model.when("kettle").call("stock", sku="k-1").answer("We have {result}")
    model.when("toaster").call("stock", sku="X-9").answer("Sorry: {result}")
    async with BotTester(app, model=model) as tester:
        anna = tester.user("Anna")
        assert (await anna.says("Is the kettle in stock?")).text == "We have K-1: 12 in stock"
        assert (await anna.says("And the toaster?")).text == "Sorry: error: no product X-9"
