"""What an MCP server lists becomes what the model is offered: each tool screened (the
allow-list, a name a model can call, its pin in tools.lock, a valid input schema) and given
the rules of its `[mcp.<name>]` table. The server's texts reach the model cleaned; whether a
call needs a press, is a write or is for admins comes from the file, never from the server
(its annotations are hints from a party we do not control: the spec says to treat them as
untrusted)."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from bot.features.tools.pinning import PinnedTools, clean_schema, clean_text, definition_of
from bot.features.tools.schema import ArgumentCheck
from bot.features.tools.toolsfile import McpServer
from bot.plugin.extending import NAME_PATTERN, ToolDefinition, approvers_of

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Offer:
    """One listing screened: what is offered, each offered tool's argument check, what was
    withheld and why, and every tool's texts as received (for `tools pin`)."""

    definitions: tuple[ToolDefinition, ...] = ()
    checks: dict[str, ArgumentCheck] = field(default_factory=dict)
    withheld: dict[str, str] = field(default_factory=dict)
    received: dict[str, dict[str, Any]] = field(default_factory=dict)


def declared(spec: McpServer, source: str, name: str, description: str = "",
             parameters: dict[str, Any] | None = None,
             annotations: dict[str, Any] | None = None) -> ToolDefinition:
    """The file's rules for the tool `name` of the server `spec`; the server's `annotations`
    can only take a right away (a tool it marks destructive or not read-only is not offered
    in business chats, whatever the file says), never give one."""
    confirm = name in spec.confirm
    admins = spec.admins_only
    business = name in spec.business and not _hints_writes(annotations)
    return ToolDefinition(
        name=name, description=description,
        parameters=parameters if parameters is not None else {},
        confirm=confirm, writes=confirm,
        admins_only=admins if isinstance(admins, bool) else name in admins,
        source=source, timeout_s=spec.timeout_s, business=business,
        groups=tuple(group.strip() for group in spec.groups),
        approvers=approvers_of(spec.approvers) if confirm else "",
    )


def _hints_writes(annotations: dict[str, Any] | None) -> bool:
    """The server says the tool changes something (MCP's tool annotations:
    https://modelcontextprotocol.io/specification/2025-06-18/server/tools#tool-annotations)."""
    if not annotations:
        return False
    return annotations.get("destructiveHint") is True or annotations.get("readOnlyHint") is False


def screen(server: str, spec: McpServer, source: str, tools: Sequence[Any],
           pins: PinnedTools | None) -> Offer:
    """The offer made of `tools` (the SDK's listed tools) from the server named `server`."""
    allowed = set(spec.tools) if spec.tools is not None else None
    offer = Offer()
    offered = []
    for tool in tools:
        if allowed is not None and tool.name not in allowed:
            continue
        if not re.match(NAME_PATTERN, tool.name):
            logger.warning("MCP server %r: tool %r is left out: a model's tool name is "
                           "1-64 of A-Z, a-z, 0-9, _ and -", server, tool.name)
            continue
        description, schema = tool.description or "", dict(tool.input_schema or {})
        annotations = getattr(tool, "annotations", None)
        hints = (annotations.model_dump(mode="json", exclude_none=True)
                 if annotations is not None else None)
        offer.received[tool.name] = definition = definition_of(
            description, schema, title=getattr(tool, "title", None), annotations=hints,
        )
        problem = pins.problem(server, tool.name, definition) if pins is not None else None
        parameters = clean_schema(schema) or {"type": "object", "properties": {}}
        if problem is None:
            try:
                offer.checks[tool.name] = ArgumentCheck(parameters)
            except jsonschema.SchemaError as exc:
                problem = f"its input schema is not valid JSON Schema ({exc.message})"
        if problem is not None:
            offer.withheld[tool.name] = problem
            logger.warning("MCP server %r: tool %r is withheld: %s", server, tool.name,
                           problem)
            continue
        # Third-party text for the model: no hidden characters, bounded.
        text = clean_text(description or tool.title or tool.name)
        if tool.name in spec.business and _hints_writes(hints):
            logger.warning("MCP server %r: tool %r is not offered in business chats: the "
                           "server marks it as changing something", server, tool.name)
        offered.append(declared(spec, source, tool.name, text, parameters, hints))
    return Offer(tuple(offered), offer.checks, offer.withheld, offer.received)
