"""The toolbox: every source's tools under one set of unique names."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence

from bot.plugin.extending import (
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
        self._clashed: set[str] = set()
        # What every source offers or declares now is checked at start; a name an MCP server
        # without an allow-list lists later, which another source has, is refused (`_owner`).
        self._check_unique()

    @property
    def sources(self) -> tuple[ToolSource, ...]:
        return tuple(self._sources)

    def __bool__(self) -> bool:
        return bool(self._sources)

    def _check_unique(self) -> None:
        """One source per name, from what each source offers or declares now (a static
        source's tools, an MCP server's lists in the tools file): a name two sources claim
        stops the start, both named."""
        seen: dict[str, str] = {}
        for source in self._sources:
            names = {d.name for d in source.definitions()}
            if isinstance(source, DeclaresTools):
                names |= source.declared_names()
            for name in sorted(names):
                owner = seen.get(name)
                if owner is not None:
                    raise ToolNameClashError(
                        f"tool name {name!r} is used by both {owner} and {source.name}: "
                        "rename one of them, or leave it out of one server's lists"
                    )
                seen[name] = source.name

    def _claims(self, name: str) -> list[tuple[ToolDefinition, ToolSource]]:
        """Every source that offers or declares `name`, with its rules for it."""
        claims = []
        for source in self._sources:
            if isinstance(source, DeclaresTools):
                found = source.declared(name)
            else:  # static sources: what they offer is what they declare
                found = next((d for d in source.definitions() if d.name == name), None)
            if found is not None:
                claims.append((found, source))
        return claims

    @staticmethod
    def _declares(source: ToolSource, name: str) -> bool:
        """Whether the deployment gave `name` to `source` ahead of any listing: an MCP
        server's lists in the tools file, or a static source's tools (an HTTP action, a Python
        function), which are fixed from the start."""
        if isinstance(source, DeclaresTools):
            return name in source.declared_names()
        return any(d.name == name for d in source.definitions())

    def _owner(self, name: str) -> tuple[ToolDefinition, ToolSource] | None:
        """The one source of `name`, whose rules decide whether a call needs a press and
        which runs it. A declared name is its declaring source's from the start and after
        every reconnect, whether or not that source lists it now: what another source lists
        under it is refused, so a call never runs without what the declaration asks. Between
        sources that only list a name (MCP servers without an allow-list) there is no owner:
        such a call is refused, never run under the other's rules. None: refused."""
        claims = self._claims(name)
        declaring = [source for source in self._sources if self._declares(source, name)]
        if len(declaring) == 1:
            owner = declaring[0]
            others = [source for _, source in claims if source is not owner]
            if others and name not in self._clashed:
                self._clashed.add(name)
                logger.error("tool %r is declared by %s: what %s also lists under that "
                             "name is refused (give it an allow-list in the tools file)",
                             name, owner.name, " and ".join(s.name for s in others))
            # The owner's rules, or none (a withheld tool): then the name is refused.
            return next(((d, s) for d, s in claims if s is owner), None)
        if len(claims) == 1 and not declaring:
            return claims[0]
        if len(claims) + len(declaring) > 1 and name not in self._clashed:
            self._clashed.add(name)
            names = dict.fromkeys([*declaring, *(source for _, source in claims)])
            logger.error("tool %r is offered by %s: it is refused until one source alone "
                         "offers it (give each MCP server an allow-list in the tools file)",
                         name, " and ".join(source.name for source in names))
        return None

    def offered(self, *, is_admin: bool) -> tuple[ToolDefinition, ...]:
        names = dict.fromkeys(d.name for s in self._sources for d in s.definitions())
        offered = []
        for name in names:
            owner = self._owner(name)
            if owner is None:
                continue
            definition, source = owner
            listed = any(d.name == name for d in source.definitions())
            if listed and (is_admin or not definition.admins_only):
                offered.append(definition)
        return tuple(offered)

    def get(self, name: str) -> ToolDefinition | None:
        owner = self._owner(name)
        if owner is None or not any(d.name == name for d in owner[1].definitions()):
            return None
        return owner[0]

    def declared(self, name: str) -> ToolDefinition | None:
        """Whether a call of `name` needs a press and counts as a write, from what the
        deployment declared (the tools file, a Python tool's decorator), never from whether
        the tool is offered at this moment: an MCP server reconnecting offers none of its
        tools, yet its `confirm` tools still need a press. The same source's rules as the
        one `call` sends the call to. None: no source, or two, know the name (such a call is
        refused)."""
        owner = self._owner(name)
        return owner[0] if owner is not None else None

    async def call(
        self, name: str, arguments: Mapping[str, object], ctx: ToolContext
    ) -> ToolRunResult:
        started = time.monotonic()
        found = self._owner(name)
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
