"""The toolbox: every source's tools under one set of unique names."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence

from bot.extending.tools import (
    DeclaresTools,
    ToolContext,
    ToolDefinition,
    ToolOutcome,
    ToolRunResult,
    ToolSource,
)

logger = logging.getLogger(__name__)


# Told of every call the toolbox ran: (tool name, outcome, seconds). Metrics live above this
# layer (bot/metrics), so they come in through here. A name no source offers is "unknown".
ToolObserver = Callable[[str, ToolOutcome, float], None]


class ToolNameClashError(ValueError):
    """Two sources offer a tool under the same name."""


class Toolbox:
    """Offers each user the tools they may see and routes a call to the source that owns it."""

    def __init__(
        self, sources: Sequence[ToolSource] = (), *, observer: ToolObserver | None = None
    ) -> None:
        self._sources = list(sources)
        self.observer = observer
        # Static sources (HTTP actions, Python functions) are checked now; a clash with a tool an
        # MCP server lists later is logged and that tool is left out (see `_index`).
        self._check_unique()

    @property
    def sources(self) -> tuple[ToolSource, ...]:
        return tuple(self._sources)

    def __bool__(self) -> bool:
        return bool(self._sources)

    def _check_unique(self) -> None:
        seen: dict[str, str] = {}
        for source in self._sources:
            for definition in source.definitions():
                owner = seen.get(definition.name)
                if owner is not None:
                    raise ToolNameClashError(
                        f"tool name {definition.name!r} is used by both {owner} and "
                        f"{source.name}: rename one of them"
                    )
                seen[definition.name] = source.name

    def _index(self) -> dict[str, tuple[ToolDefinition, ToolSource]]:
        index: dict[str, tuple[ToolDefinition, ToolSource]] = {}
        for source in self._sources:
            for definition in source.definitions():
                if definition.name in index:
                    logger.warning(
                        "tool %r from %s is left out: %s offers a tool of that name",
                        definition.name,
                        source.name,
                        index[definition.name][1].name,
                    )
                    continue
                index[definition.name] = (definition, source)
        return index

    def offered(self, *, is_admin: bool) -> tuple[ToolDefinition, ...]:
        return tuple(
            definition
            for definition, _ in self._index().values()
            if is_admin or not definition.admins_only
        )

    def get(self, name: str) -> ToolDefinition | None:
        found = self._index().get(name)
        return found[0] if found else None

    def declared(self, name: str) -> ToolDefinition | None:
        """Whether a call of `name` needs a press and counts as a write, from what the
        deployment declared (the tools file, a Python tool's decorator), never from whether
        the tool is offered at this moment: an MCP server reconnecting offers none of its
        tools, yet its `confirm` tools still need a press. None: no source knows the name
        (such a call is refused)."""
        for source in self._sources:
            if isinstance(source, DeclaresTools):
                found = source.declared(name)
            else:  # static sources: what they offer is what they declare
                found = next((d for d in source.definitions() if d.name == name), None)
            if found is not None:
                return found
        return None

    async def call(
        self, name: str, arguments: Mapping[str, object], ctx: ToolContext
    ) -> ToolRunResult:
        started = time.monotonic()
        found = self._index().get(name)
        if found is None or (found[0].admins_only and not ctx.is_admin):
            result = ToolRunResult(ToolOutcome.ERROR, f"error: no tool named {name!r}")
            self._observe("unknown" if found is None else name, result, started)
            return result
        definition, source = found
        try:
            result = await asyncio.wait_for(
                source.call(name, arguments, ctx), timeout=definition.timeout_s
            )
        except TimeoutError:
            result = ToolRunResult(
                ToolOutcome.TIMEOUT, f"error: timed out after {definition.timeout_s:g} s"
            )
        self._observe(name, result, started)
        return result

    def _observe(self, name: str, result: ToolRunResult, started: float) -> None:
        if self.observer is not None:
            self.observer(name, result.outcome, time.monotonic() - started)

    async def start(self) -> None:
        for source in self._sources:
            await source.start()

    async def close(self) -> None:
        for source in self._sources:
            try:
                await source.close()
            except Exception:
                logger.exception("closing the tool source %s failed", source.name)
