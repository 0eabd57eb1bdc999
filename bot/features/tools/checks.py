"""The tools' checks: TOOLS_FILE parses, each HTTP action's host answers a TCP (and TLS)
connect, each MCP server lists its tools (and they match tools.lock)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Awaitable, Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from bot.plugin.outcome import Outcome, failed, passed

log = logging.getLogger(__name__)


async def check_tools(path: Path, *, environ: Mapping[str, str]) -> list[Outcome]:
    """TOOLS_FILE parses; each HTTP action's host resolves; each MCP server lists its tools."""
    from bot.features.tools import ToolsFileError, load_toolbox
    from bot.features.tools.httpactions import HttpActionSource

    try:
        toolbox = load_toolbox(path, environ=environ)
    except ToolsFileError as exc:
        if "pip install" in str(exc):
            fix = "pip install 'fmbot[mcp]'"
        elif "no such file" in str(exc):  # "edit" a file that is not there leads nowhere
            fix = (f"create {path} (docs/tools.md), point TOOLS_FILE at your tools file, or "
                   "unset TOOLS_FILE")
        else:
            fix = f"edit {path}"
        return [failed("tools file", str(exc), fix)]
    https = [s for s in toolbox.sources if isinstance(s, HttpActionSource)]
    servers = [s for s in toolbox.sources if not isinstance(s, HttpActionSource)]
    actions = [action for source in https for action in source.actions]
    outcomes = [passed("tools file", f"{path.name}: {len(actions)} HTTP action(s), "
                       f"{len(servers)} MCP server(s)")]
    hosts: dict[tuple[str, str, int], list[str]] = {}
    for action in actions:
        parts = urlsplit(action.url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        hosts.setdefault((parts.scheme, parts.hostname or "", port), []).append(action.name)
    jobs: list[Awaitable[Outcome]] = [
        _reach(scheme, host, port, names, path.name)
        for (scheme, host, port), names in hosts.items()
    ]
    jobs += [_list_mcp_tools(server) for server in servers]
    try:
        outcomes += await asyncio.gather(*jobs)
    finally:
        await toolbox.close()
    return outcomes


async def _reach(
    scheme: str, host: str, port: int, names: Sequence[str], label: str
) -> Outcome:
    """One line per host: it resolves and a TCP connection (and the TLS handshake, for https)
    opens; the line names the tools that use it. A resolving host with nothing listening is
    what a typo in the port or a stopped API looks like, and resolving alone passed it."""
    default = 443 if scheme == "https" else 80
    where = host if port == default else f"{host}:{port}"
    name = f"tools: http {where}"
    used_by = ", ".join(names)
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port)
    except (OSError, UnicodeError) as exc:  # UnicodeError: not a valid host name at all
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return failed(name, f"cannot resolve {host} ({reason}), used by {used_by}",
                      f"check the url of {names[0]} in {label}, or DNS")
    addresses = sorted({str(info[4][0]) for info in found})
    tls = ssl.create_default_context() if scheme == "https" else None
    try:
        async with asyncio.timeout(5):
            _, writer = await asyncio.open_connection(
                host, port, ssl=tls, server_hostname=host if tls else None
            )
    except ssl.SSLError as exc:
        return failed(name, f"the TLS handshake with {where} failed ({exc.reason or exc}), "
                      f"used by {used_by}", f"check the certificate of {host}")
    except (OSError, TimeoutError) as exc:
        reason = "no answer within 5 s" if isinstance(exc, TimeoutError) else (
            exc.strerror or str(exc))
        return failed(name, f"cannot connect to {where} ({reason}), used by {used_by}",
                      f"check the url of {names[0]} in {label} and that the API is up")
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    how = "TLS connection" if tls else "connection"
    return passed(name, f"{how} opened ({', '.join(addresses[:3])}); used by {used_by}")


async def _list_mcp_tools(server: object) -> Outcome:
    from bot.features.tools.mcpservers import McpServerSource, reason_of

    assert isinstance(server, McpServerSource)
    table = server.name.removeprefix("mcp:")
    name = f"tools: mcp {table}"
    try:
        listed = await server.probe()
    except Exception as exc:  # any transport's failure: the line names it
        return failed(name, f"cannot list the tools of {server.where}: {reason_of(exc)}",
                      f"check url/command and headers/env in [mcp.{table}]")
    if server.unlisted:
        return failed(name, f"the server does not list {', '.join(server.unlisted)} "
                      f"(it lists {', '.join(listed) or 'nothing'})",
                      f"correct tools in [mcp.{table}]")
    offered = [d.name for d in server.definitions()]
    if server.withheld:
        tool, why = next(iter(sorted(server.withheld.items())))
        more = f" (and {len(server.withheld) - 1} more)" if len(server.withheld) > 1 else ""
        return failed(name, f"tool {tool} is withheld: {why}{more}",
                      "review the server's change, then run python -m bot tools pin")
    return passed(name, f"lists {len(listed)} tool(s); offered: {', '.join(offered) or 'none'}")
