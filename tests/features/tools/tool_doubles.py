"""A tool source standing in for a deployment's external system (an order API, a ticket
desk): it records each call with who asked and its key, and answers as scripted."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.features.tools import Toolbox, ToolContext, ToolDefinition, ToolOutcome, ToolRunResult
from bot.features.tools.loop import ToolLoop
from bot.features.tools.turns import ToolLoopSettings
from bot.storage.database import Database

ORDER_STATUS = ToolDefinition(
    "order_status",
    "Look up the status and delivery date of a customer's order by its number.",
    {"type": "object", "properties": {"order_id": {"type": "string"}},
     "required": ["order_id"]},
    source="test:shop",
)
OPEN_TICKET = ToolDefinition(
    "open_ticket",
    "Open a support ticket.",
    {"type": "object", "properties": {"subject": {"type": "string"}}, "required": ["subject"]},
    confirm=True,
    writes=True,
    source="test:desk",
    title="Open a support ticket",
    title_ru="Открыть обращение в поддержку",
)
SECRET_STATS = ToolDefinition("secret_stats", "Admins only.", {"type": "object"},
                              admins_only=True, source="test:shop")

Handler = Callable[[str, Mapping[str, object], ToolContext], Awaitable[ToolRunResult]]


@dataclass(frozen=True)
class Seen:
    name: str
    arguments: dict[str, object]
    ctx: ToolContext


async def _ok(name: str, arguments: Mapping[str, object], ctx: ToolContext) -> ToolRunResult:
    if name == "order_status":
        return ToolRunResult(ToolOutcome.OK, f"order {arguments.get('order_id')}: shipped")
    return ToolRunResult(ToolOutcome.OK, f"{name} done")


@dataclass
class ShopSource:
    """The external system: each call is recorded before the scripted handler answers."""

    tools: Sequence[ToolDefinition] = (ORDER_STATUS, OPEN_TICKET, SECRET_STATS)
    handler: Handler = _ok
    delay: float = 0.0
    calls: list[Seen] = field(default_factory=list)
    running: int = 0
    most_at_once: int = 0

    @property
    def name(self) -> str:
        return "test:shop"

    def definitions(self) -> Sequence[ToolDefinition]:
        return self.tools

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def call(
        self, name: str, arguments: Mapping[str, object], ctx: ToolContext
    ) -> ToolRunResult:
        self.calls.append(Seen(name, dict(arguments), ctx))
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            return await self.handler(name, arguments, ctx)
        finally:
            self.running -= 1


def tool_loop(
    db: Database,
    model: Any,
    source: ShopSource,
    *,
    desk_state: Callable[[int], Awaitable[str | None]] | None = None,
    on_superseded: Callable[[int, list[int]], None] | None = None,
    **settings: Any,
) -> ToolLoop:
    return ToolLoop(
        toolbox=Toolbox([source]),
        settings=ToolLoopSettings(**settings),
        sessionmaker=db.sessionmaker,
        model=model,
        desk_state=desk_state,
        on_superseded=on_superseded,
    )
