"""TOOLS_FILE (and Python function sources) -> a Toolbox, refused at start when anything clashes.

`load_toolbox` reads and checks the whole file first (one line per problem, naming the file,
the tool and the fix) and builds the sources without connecting anything; `start_toolbox`
connects the MCP servers and refuses a tool name an MCP server lists that another source has.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.features.tools.pinning import LOCK_NAME, LockFileError, PinnedTools
from bot.features.tools.toolbox import Toolbox, ToolNameClashError, ToolObserver
from bot.features.tools.toolsfile import ToolsFileError, read_tools_file
from bot.plugin.extending import DeclaresTools, ToolSource

if TYPE_CHECKING:
    from bot.features.tools.signing import RequestSigner

logger = logging.getLogger(__name__)


def load_toolbox(
    path: Path | None,
    *,
    environ: Mapping[str, str],
    signer: RequestSigner | None = None,
    extra_sources: Sequence[ToolSource] = (),
    unpinned_warning: bool = True,
    observer: ToolObserver | None = None,
) -> Toolbox:
    """The toolbox of `path` (None: no file) and `extra_sources` (e.g. Python functions).

    Raises ToolsFileError (one line) for a bad file, a missing `mcp` extra or a name clash.
    """
    sources: list[ToolSource] = list(extra_sources)
    if path is not None:
        parsed = read_tools_file(path, environ)
        label = path.name
        if parsed.http:
            # Imported with the first HTTP action: the signer's cryptography is most of a
            # second's import, which a bot without one never pays.
            from bot.features.tools.httpactions import HttpActionSource

            sources.insert(0, HttpActionSource(parsed.http, label=label,
                                               signer=signer))
        if parsed.mcp:
            from bot.features.tools.mcpservers import McpMissingError, McpServerSource, require_mcp

            try:
                require_mcp(label, list(parsed.mcp))
            except McpMissingError as exc:
                raise ToolsFileError(str(exc)) from None
            unsigned = [name for name, spec in parsed.mcp.items() if spec.sign and signer is None]
            if unsigned:
                raise ToolsFileError(
                    f"{label}: MCP server {unsigned[0]!r} has sign = true, but neither "
                    "TOOLS_SIGNING_SECRET nor TOOLS_SIGNING_KEY is set")
            try:
                pins = PinnedTools.beside(path)
            except LockFileError as exc:
                raise ToolsFileError(str(exc)) from None
            if pins is None and unpinned_warning:
                logger.warning(
                    "%s: no %s beside it: the MCP servers' tool definitions are not pinned, so "
                    "a server can change what the model reads; review them and run "
                    "python -m bot tools pin", label, LOCK_NAME)
            sources.extend(
                McpServerSource(name, spec, label=label, pins=pins, signer=signer)
                for name, spec in parsed.mcp.items()
            )
    try:
        return Toolbox(sources, observer=observer)
    except ToolNameClashError as exc:
        raise ToolsFileError(f"{path.name if path else 'tools'}: {exc}") from None


async def start_toolbox(toolbox: Toolbox) -> None:
    """Connect every source; a name an MCP server lists that another source also offers or
    declares (the tools file's lists, whether or not that server answers now) is refused at
    start. A server reached later that lists such a name has that tool refused, with an error
    naming both, by the Toolbox: the declaring source keeps it."""
    # At once: each MCP server waits at most its connect timeout, not one after another.
    await asyncio.gather(*(source.start() for source in toolbox.sources))
    seen: dict[str, str] = {}
    for source in toolbox.sources:
        names = {definition.name for definition in source.definitions()}
        if isinstance(source, DeclaresTools):
            names |= source.declared_names()
        for name in sorted(names):
            owner = seen.get(name)
            if owner is not None:
                await toolbox.close()
                raise ToolsFileError(
                    f"tool name {name!r} is used by both {owner} and {source.name}: rename "
                    "one, or leave it out of the MCP server's tools"
                )
            seen[name] = source.name
    offered = [d.name for d in toolbox.offered(is_admin=True)]
    if offered:
        logger.info("tools offered: %s", ", ".join(offered))
