"""A whole source of tools, written with the public API alone: a warehouse that tells the
model how many units of a product are in stock (docs/extending.md).

    python -m bot run --app examples.warehouse:app
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot import App, ToolContext, ToolDefinition, ToolOutcome, ToolRunResult

STOCK = {"K-1": 12, "T-7": 0}


class Warehouse:
    """A `ToolSource`: what it offers (`definitions`), and each call run (`call`)."""

    name = "python:warehouse"

    def definitions(self) -> Sequence[ToolDefinition]:
        return [ToolDefinition(
            name="stock", description="Units of a product in stock, by its SKU (like K-1).",
            parameters={"type": "object", "properties": {"sku": {"type": "string"}},
                        "required": ["sku"]},
            source=self.name, business=True)]

    async def start(self) -> None:
        """Nothing to connect to: the stock is in memory."""

    async def close(self) -> None:
        """Nothing to release."""

    async def call(
        self, name: str, arguments: Mapping[str, object], ctx: ToolContext
    ) -> ToolRunResult:
        sku = str(arguments.get("sku", "")).strip().upper()
        if sku not in STOCK:  # a failure is a result the model reads, never an exception
            return ToolRunResult(ToolOutcome.ERROR, f"error: no product {sku}")
        return ToolRunResult(ToolOutcome.OK, f"{sku}: {STOCK[sku]} in stock")


app = App.from_env()
app.add_tool_source(Warehouse())
