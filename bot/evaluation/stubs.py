"""Tools answered by the case's stubs: each of the deployment's tool sources wrapped, so the
model sees the same tools (names, descriptions, schemas, confirmations) while no company API
is called. A call of a tool the case has no stub for is refused, and kept for the report."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.extending.tools import (
    DeclaresTools,
    ToolContext,
    ToolDefinition,
    ToolOutcome,
    ToolRunResult,
    ToolSource,
)


@dataclass(frozen=True, slots=True)
class ToolUse:
    """One call the bot made during a conversation, and what it got."""

    name: str
    arguments: str  # JSON
    result: str
    stubbed: bool


def refusal(name: str) -> str:
    return (f"error: the tool {name!r} has no stub in this evaluation case, so it was not "
            "called")


class Stubs:
    """The stubs of each simulated customer (by Telegram user id) and the calls made.

    `passthrough`: a user never bound (not a simulated customer) gets the real tools (the
    test kit's BotTester, where ordinary test users and simulated customers meet); without
    it every call is answered here (`fmbot eval`)."""

    def __init__(self, *, passthrough: bool = False) -> None:
        self.passthrough = passthrough
        self._stubs: dict[int, Mapping[str, str]] = {}
        self._uses: dict[int, list[ToolUse]] = {}

    def stubbed(self, user_id: int) -> bool:
        """Whether `user_id`'s calls are answered here."""
        return not self.passthrough or user_id in self._stubs

    def bind(self, user_id: int, stubs: Mapping[str, str]) -> None:
        self._stubs[user_id] = dict(stubs)
        self._uses[user_id] = []

    def take(self, user_id: int) -> list[ToolUse]:
        """The calls made for `user_id` since the last `take`."""
        uses, self._uses[user_id] = self._uses.get(user_id, []), []
        return uses

    def answer(self, name: str, arguments: Mapping[str, object], user_id: int) -> ToolRunResult:
        stubs = self._stubs.get(user_id, {})
        args = json.dumps(dict(arguments), ensure_ascii=False, sort_keys=True, default=str)
        if name not in stubs:
            text = refusal(name)
            self._uses.setdefault(user_id, []).append(ToolUse(name, args, text, stubbed=False))
            return ToolRunResult(ToolOutcome.ERROR, text, detail="no stub")
        result = stubs[name]
        self._uses.setdefault(user_id, []).append(ToolUse(name, args, result, stubbed=True))
        return ToolRunResult(ToolOutcome.OK, result, detail="stub")

    def wrap(self, source: ToolSource) -> ToolSource:
        """`source` with its calls answered here (what the composition root is given)."""
        return StubbedSource(source, self)


class StubbedSource:
    """A tool source whose definitions are the real one's and whose calls are the stubs'."""

    def __init__(self, inner: ToolSource, stubs: Stubs) -> None:
        self.inner = inner
        self.stubs = stubs

    @property
    def name(self) -> str:
        return self.inner.name

    def definitions(self) -> Sequence[ToolDefinition]:
        return self.inner.definitions()

    def declared(self, name: str) -> ToolDefinition | None:
        if isinstance(self.inner, DeclaresTools):
            return self.inner.declared(name)
        return next((d for d in self.inner.definitions() if d.name == name), None)

    def declared_names(self) -> frozenset[str]:
        if isinstance(self.inner, DeclaresTools):
            return self.inner.declared_names()
        return frozenset(d.name for d in self.inner.definitions())

    async def start(self) -> None:
        # An MCP server is connected to list its tools (nothing is called on it).
        await self.inner.start()

    async def close(self) -> None:
        await self.inner.close()

    async def call(
        self, name: str, arguments: Mapping[str, object], ctx: ToolContext
    ) -> ToolRunResult:
        if not self.stubs.stubbed(ctx.user_id):
            return await self.inner.call(name, arguments, ctx)
        return self.stubs.answer(name, arguments, ctx.user_id)
