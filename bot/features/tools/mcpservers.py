"""MCP servers as tool sources, through the official `mcp` SDK's client (`fmbot[mcp]`).

One `McpServerSource` per `[mcp.<name>]` table: Streamable HTTP (`url`, `headers`) or stdio
(`command`, `env`). Its tools are offered under their own names, limited to the `tools`
allow-list when there is one. A server that cannot be reached at start is reported in one line
and retried in the background with backoff; its tools are offered once it answers, and the rest
of the bot runs meanwhile. A connection lost later is retried the same way.

The SDK is imported only here and only when a file declares a server, so the bot without the
extra never loads it. The connection lives in one task (the SDK's task groups must be entered
and left in the same task); calls from the turns' tasks go through the client it holds.

Results reach the model as text: the text content joined (other content named, not inlined),
or the structured content as JSON; `isError` becomes `error: ...` (the spec's tool execution
error, for the model to correct itself). Who asks goes in the request's `_meta`
(`fmbot/user_id`, `fmbot/chat_id`, `fmbot/language`, `fmbot/idempotency_key`), never in the
arguments.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from bot.features.tools.mcpoffer import declared, screen
from bot.features.tools.pinning import PinnedTools
from bot.features.tools.schema import ArgumentCheck
from bot.features.tools.secrets import SecretScrubber, header_secrets, url_secrets
from bot.features.tools.signing import RequestSigner
from bot.features.tools.toolsfile import McpServer, mcp_names
from bot.plugin.extending import ToolContext, ToolDefinition, ToolOutcome, ToolRunResult

if TYPE_CHECKING:
    from mcp import Client

logger = logging.getLogger(__name__)

INSTALL = "pip install 'fmbot[mcp]'"
MAX_PAGES = 20
# Seconds to wait before connecting again: doubled after each failure up to the last value.
BACKOFF = (1.0, 60.0)
# How long closing waits for a server's session to let go (the SDK ends a session with an
# HTTP DELETE, read for up to 300 s): a stuck server does not hold the bot's stop.
CLOSE_WITHIN = 5.0


class McpMissingError(RuntimeError):
    """TOOLS_FILE declares MCP servers but the `mcp` package is not installed."""


def require_mcp(label: str, servers: Sequence[str]) -> None:
    try:
        import mcp  # noqa: F401
    except ImportError:
        names = ", ".join(f"[mcp.{name}]" for name in servers)
        raise McpMissingError(
            f"{label}: {names} needs the MCP client, which is not installed: run {INSTALL}"
        ) from None


class McpServerSource:
    """One MCP server's tools."""

    def __init__(
        self,
        server: str,
        spec: McpServer,
        *,
        label: str = "tools.toml",
        connect_timeout: float = 10.0,
        backoff: tuple[float, float] = BACKOFF,
        pins: PinnedTools | None = None,
        signer: RequestSigner | None = None,
    ) -> None:
        self._server = server
        self._signer = signer if spec.sign else None
        self._pins = pins
        # Tools withheld because their definition is not the pinned one: name -> why.
        self.withheld: dict[str, str] = {}
        # The allowed tools' definitions as the server sent them (what is pinned of each:
        # pinning.definition_of): name -> definition.
        self.received: dict[str, dict[str, Any]] = {}
        self._spec = spec
        # The file's secrets for this server, kept out of what its tools return.
        self._scrub = SecretScrubber([*header_secrets(spec.headers), *url_secrets(spec.url),
                                      *spec.env.values()])
        self._label = label
        self._connect_timeout = connect_timeout
        self._backoff = backoff
        self._definitions: tuple[ToolDefinition, ...] = ()
        # Every tool this server offered since start (the names a call may still name while
        # it reconnects).
        self._seen: set[str] = set()
        # The offered tools' argument checks (their input schemas): name -> check.
        self._checks: dict[str, ArgumentCheck] = {}
        self._client: Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._tried = asyncio.Event()
        self._lost = asyncio.Event()
        self._up = asyncio.Event()
        self._failures = 0
        # Every tool the server listed (allow-list or not), for `bot check` and the logs.
        self.listed: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"mcp:{self._server}"

    @property
    def where(self) -> str:
        """The address for logs and `bot check`: a URL without its query or credentials (a key
        may sit there), or the command."""
        if self._spec.url is None:
            return " ".join(self._spec.command or ())
        parts = urlsplit(self._spec.url)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))

    @property
    def connected(self) -> bool:
        return self._client is not None

    def definitions(self) -> Sequence[ToolDefinition]:
        return self._definitions

    async def start(self) -> None:
        """Connect once (waiting at most the connect timeout); then keep connected in the
        background."""
        if self._task is not None:
            return
        self._task = asyncio.create_task(self._supervise(), name=f"mcp:{self._server}")
        try:
            async with asyncio.timeout(self._connect_timeout + 1):
                await self._tried.wait()
        except TimeoutError:
            pass

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            done, _ = await asyncio.wait([task], timeout=CLOSE_WITHIN)
            if not done:
                logger.warning("MCP server %r did not let go within %g s of the bot's stop: "
                               "its session is left behind", self._server, CLOSE_WITHIN)

    async def wait_connected(self, within: float) -> bool:
        """For tests and `bot check`: True once the server's tools are offered."""
        try:
            async with asyncio.timeout(within):
                await self._up.wait()
        except TimeoutError:
            return False
        return True

    async def probe(self) -> tuple[str, ...]:
        """`bot check`: connect once, list the tools, disconnect; the names the server lists.
        Raises what the transport raised (see `reason_of`)."""
        async with asyncio.timeout(self._connect_timeout):
            async with self._connect() as client:
                tools = await _list_tools(client)
        self._offer(tools)
        return self.listed

    async def _supervise(self) -> None:
        delay = self._backoff[0]
        while True:
            try:
                await self._connected_session()
                delay = self._backoff[0]
            except Exception as exc:  # any transport's failure: retried, named in one line
                self._failed(exc, delay)
            finally:
                self._up.clear()
                self._client = None
                self._definitions = ()
                self._tried.set()
            await asyncio.sleep(delay * (0.8 + 0.4 * random.random()))
            delay = min(delay * 2, self._backoff[1])

    async def _connected_session(self) -> None:
        async with AsyncExitStack() as stack:
            async with asyncio.timeout(self._connect_timeout):
                client = await stack.enter_async_context(self._connect())
                tools = await _list_tools(client)
            self._offer(tools)
            if self.unlisted:
                logger.warning("%s: [mcp.%s] tools names %s, which the server does not list",
                               self._label, self._server, ", ".join(self.unlisted))
            self._lost.clear()
            self._client = client
            self._up.set()
            self._tried.set()
            if self._failures:
                logger.info("MCP server %r answers again: %d tool(s) offered", self._server,
                            len(self._definitions))
            else:
                logger.info("MCP server %r connected: %d tool(s) offered (%s)", self._server,
                            len(self._definitions),
                            ", ".join(d.name for d in self._definitions) or "none")
            self._failures = 0
            await self._lost.wait()
            logger.warning("MCP server %r: connection lost; connecting again", self._server)

    @asynccontextmanager
    async def _connect(self) -> AsyncIterator[Client]:
        """A connected client; its HTTP client, if it has one, closed with it."""
        from mcp import Client, StdioServerParameters

        if self._spec.command is not None:
            command, *args = self._spec.command
            params = StdioServerParameters(command=command, args=args, env=dict(self._spec.env))
            async with Client(params, cache=None) as client:
                yield client
            return
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        from bot.plugin.models import ssl_context

        assert self._spec.url is not None
        # The MCP client's own defaults (30 s to connect, 300 s to read a stream); a call's
        # own limit is timeout_s, enforced around it.
        hooks: dict[str, list[Any]] = {}
        signer = self._signer
        if signer is not None:  # `sign = true`: every request, signed as HTTP actions are

            async def sign(request: httpx2.Request) -> None:
                signer.sign_mcp(request)

            hooks["request"] = [sign]
        http = httpx2.AsyncClient(
            headers=dict(self._spec.headers), timeout=httpx2.Timeout(30.0, read=300.0),
            event_hooks=hooks,
            # A client per connection: the process's one TLS context, not a CA bundle loaded
            # at every reconnect (20-50 ms of CPU each).
            verify=ssl_context(True),
        )
        # The SDK closes only an HTTP client it made itself: this one is closed here, after
        # the session's end (each reconnect of a server down or flapping left its sockets
        # open before). https://github.com/modelcontextprotocol/python-sdk, streamable_http.py
        async with http, Client(streamable_http_client(self._spec.url, http_client=http),
                                cache=None) as client:
            yield client

    def _failed(self, exc: BaseException, delay: float) -> None:
        reason = reason_of(exc)
        self._failures += 1
        if self._failures == 1:
            fix = (f"check url and headers in [mcp.{self._server}]" if self._spec.url
                   else f"check command and env in [mcp.{self._server}]")
            logger.warning(
                "%s: MCP server %r cannot be reached at %s (%s): %s; retrying in the "
                "background, its tools are offered once it answers", self._label,
                self._server, self.where, reason, fix,
            )
        else:
            logger.info("MCP server %r still unreachable (%s); next try in %.0f s",
                        self._server, reason, delay)

    def _offer(self, tools: Sequence[Any]) -> None:
        self.listed = tuple(tool.name for tool in tools)
        offer = screen(self._server, self._spec, self.name, tools, self._pins)
        self._definitions, self._checks = offer.definitions, offer.checks
        self._seen.update(d.name for d in offer.definitions)
        self.withheld, self.received = offer.withheld, offer.received

    def declared(self, name: str) -> ToolDefinition | None:
        """The file's rules for `name` whether or not the server is connected now: `confirm`
        and `admins_only` come from [mcp.<name>], never from the server. A name the table
        declares (allow-list, confirm, admins_only, business) is this server's from the start,
        listed yet or not: a server down at start still wants its press. None for a name this
        server neither declares nor ever offered, or that is withheld."""
        spec = self._spec
        if spec.tools is not None and name not in spec.tools:
            return None
        if name in self.withheld:
            return None
        current = next((d for d in self._definitions if d.name == name), None)
        if current is not None:
            return current
        if name not in self._seen and name not in mcp_names(spec):
            return None
        return declared(spec, self.name, name)

    def declared_names(self) -> frozenset[str]:
        """The names [mcp.<name>] declares (allow-list, confirm, admins_only, business)."""
        return frozenset(mcp_names(self._spec))

    @property
    def unlisted(self) -> list[str]:
        """Names in the allow-list the server did not list (a typo, or a tool removed)."""
        return sorted(set(self._spec.tools or ()) - set(self.listed))

    async def call(
        self, name: str, arguments: Mapping[str, object], ctx: ToolContext
    ) -> ToolRunResult:
        result = await self._call(name, arguments, ctx)
        return ToolRunResult(result.outcome, self._scrub(result.text),
                             self._scrub(result.detail))

    async def _call(
        self, name: str, arguments: Mapping[str, object], ctx: ToolContext
    ) -> ToolRunResult:
        from mcp import MCPError

        client = self._client
        if client is not None and not any(d.name == name for d in self._definitions):
            return ToolRunResult(ToolOutcome.ERROR, f"error: no tool named {name!r}")
        if client is None:
            return ToolRunResult(
                ToolOutcome.ERROR,
                f"error: the tool {name!r} is not available now (its MCP server does not "
                "answer)", "unreachable",
            )
        check = self._checks.get(name)
        problem = check.problem(arguments) if check is not None else None
        if problem is not None:
            return ToolRunResult(ToolOutcome.ERROR, f"error: invalid arguments: {problem}",
                                 "invalid arguments")
        meta = {
            "fmbot/user_id": str(ctx.user_id),
            "fmbot/chat_id": str(ctx.chat_id),
            "fmbot/language": ctx.language,
            "fmbot/idempotency_key": ctx.idempotency_key,
        }
        try:
            async with asyncio.timeout(self._spec.timeout_s):
                result = await client.call_tool(name, dict(arguments), meta=meta)  # type: ignore[arg-type]
        except TimeoutError:
            return ToolRunResult(ToolOutcome.TIMEOUT,
                                 f"error: timed out after {self._spec.timeout_s:g} s", "timeout")
        except MCPError as exc:
            return ToolRunResult(ToolOutcome.ERROR, f"error: {exc.error.message}",
                                 f"MCP error {exc.error.code}")
        except Exception as exc:  # the transport failed: reconnect in the background
            logger.warning("MCP server %r: call to %s failed: %s", self._server, name,
                           reason_of(exc))
            self._lost.set()
            return ToolRunResult(ToolOutcome.ERROR,
                                 f"error: the MCP server does not answer ({reason_of(exc)})",
                                 type(exc).__name__)
        text = result_text(result)
        if result.is_error:
            return ToolRunResult(ToolOutcome.ERROR, f"error: {text}", "isError")
        return ToolRunResult(ToolOutcome.OK, text)


async def _list_tools(client: Client) -> list[Any]:
    tools: list[Any] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        page = await client.list_tools(cursor=cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            break
    return tools


def result_text(result: Any) -> str:
    """A CallToolResult as the text the model gets."""
    parts: list[str] = []
    for block in result.content:
        kind = getattr(block, "type", "")
        if kind == "text":
            parts.append(block.text)
        elif kind == "resource" and getattr(block.resource, "text", None) is not None:
            parts.append(block.resource.text)
        else:
            parts.append(f"[{kind or 'content'} not shown]")
    if not parts and result.structured_content is not None:
        return json.dumps(result.structured_content, ensure_ascii=False)
    return "\n".join(parts)


def reason_of(exc: BaseException) -> str:
    """The innermost useful message of an exception (task groups wrap the real one)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
