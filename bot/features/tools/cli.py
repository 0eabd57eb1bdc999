"""`fmbot tools pin`: review the MCP servers' tool definitions once, then pin them.

Connects to every MCP server of TOOLS_FILE, lists its allowed tools and writes their
definitions (description and input schema, as the server sent them) to `tools.lock` beside the
file. From then on a tool whose definition changes is withheld until it is pinned again.
"""

from __future__ import annotations

import argparse
import os
import sys

from bot.features.tools.settings import ToolsSettings
from bot.plugin.commands import Command, CommandContext, Subcommands


def add_parser(commands: Subcommands) -> list[argparse.ArgumentParser]:
    tools = commands.add_parser("tools", help="the tools of TOOLS_FILE: pin MCP definitions")
    actions = tools.add_subparsers(dest="tools_command", required=True, metavar="ACTION")
    pin = actions.add_parser("pin", help="record the MCP servers' tool definitions in tools.lock")
    return [tools, pin]


async def run(factory: CommandContext, args: argparse.Namespace) -> int:
    from bot.features.tools import ToolsFileError, load_toolbox
    from bot.features.tools.mcpservers import McpServerSource, reason_of
    from bot.features.tools.pinning import LOCK_NAME, PinnedTools, clean_text

    path = factory.settings.section(ToolsSettings).file
    if path is None:
        print("fmbot: tools pin: TOOLS_FILE is not set", file=sys.stderr)
        return 2
    try:
        toolbox = load_toolbox(path, environ=dict(os.environ), unpinned_warning=False)
    except ToolsFileError as exc:
        print(f"fmbot: {exc}", file=sys.stderr)
        return 2
    servers = [s for s in toolbox.sources if isinstance(s, McpServerSource)]
    if not servers:
        print(f"fmbot: tools pin: {path.name} has no MCP servers: nothing to pin",
              file=sys.stderr)
        return 2
    pins = PinnedTools(path.with_name(LOCK_NAME))
    failed = False
    try:
        for server in servers:
            table = server.name.removeprefix("mcp:")
            try:
                await server.probe()
            except Exception as exc:  # any transport's failure: named, nothing written
                print(f"fmbot: tools pin: cannot list the tools of [mcp.{table}] at "
                      f"{server.where}: {reason_of(exc)}", file=sys.stderr)
                failed = True
                continue
            for name, definition in sorted(server.received.items()):
                pins.pin(table, name, definition)
                shown = definition["description"] or definition["title"] or ""
                print(f"pinned {table}.{name}: {clean_text(shown, 80)!r}")
    finally:
        await toolbox.close()
    if failed:
        print(f"fmbot: tools pin: {LOCK_NAME} not written", file=sys.stderr)
        return 1
    pins.write()
    print(f"wrote {pins.path}")
    return 0


command = Command("tools", add_parser, run)
