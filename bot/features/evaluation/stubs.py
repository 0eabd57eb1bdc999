"""Tools answered by the case's stubs: each of the deployment's tool sources wrapped, so the
model sees the same tools (names, descriptions, schemas, confirmations) while no company API
is called. A call of a tool the case has no stub for is refused, and kept for the report.

The App's context providers get the case's `[context]` texts the same way (a provider the case
gives no text for is not run), and its `on_answer` / `on_handoff` hooks are not run for a
simulated customer (bot/app/parts.py, `AppParts.evaluated`); what did not run is kept for the
report too."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.plugin.conversation import Employee, SignedIn
from bot.plugin.extending import (
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
        self._context: dict[int, Mapping[str, str]] = {}
        self._uses: dict[int, list[ToolUse]] = {}
        self._skipped: dict[int, list[str]] = {}
        self._sources: list[ToolSource] = []
        # The simulated employees (a case's `groups`), for the bot's admission.
        self.signed_in = SignedIn()

    def stubbed(self, user_id: int) -> bool:
        """Whether `user_id`'s calls are answered here."""
        return not self.passthrough or user_id in self._stubs

    def bind(self, user_id: int, stubs: Mapping[str, str],
             context: Mapping[str, str] | None = None, groups: Sequence[str] = ()) -> None:
        """`user_id` is a simulated customer: its tool calls answered by `stubs`, the App's
        context providers by `context` (by provider name); with `groups`, signed in as an
        employee of them (`signed_in`)."""
        self._stubs[user_id] = dict(stubs)
        self._context[user_id] = dict(context or {})
        if groups:
            self.signed_in.sign_in(user_id, Employee(f"simulated-{user_id}", "",
                                                     frozenset(groups)))
        self._uses[user_id] = []
        self._skipped[user_id] = []

    def context(self, user_id: int, provider: str) -> str | None:
        """The case's text for the context provider `provider`; None: the case gives none,
        so the provider is not run."""
        return self._context.get(user_id, {}).get(provider)

    def skipped(self, user_id: int, what: str) -> None:
        """`what` (a hook, a context provider) was not run for `user_id`."""
        seen = self._skipped.setdefault(user_id, [])
        if what not in seen:
            seen.append(what)

    def not_run(self, user_id: int) -> list[str]:
        """What was not run for `user_id` since it was bound, once each."""
        return list(self._skipped.get(user_id, []))

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
        self._sources.append(source)
        return StubbedSource(source, self)

    def offered(self) -> list[str]:
        """The names of the tools the deployment's sources list now (what the bot can offer
        its model, before the rules of who may use which)."""
        return list(dict.fromkeys(d.name for s in self._sources for d in s.definitions()))


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
