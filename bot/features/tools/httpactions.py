"""HTTP actions: the `[[http]]` tables of TOOLS_FILE as one tool source.

A call is checked against the action's JSON Schema first (schema.py): arguments it
does not allow, of the wrong type or missing are a tool error and nothing is sent. It fills the
URL's `{arg}` from the arguments (URL-encoded), puts the other arguments in the query string
(GET, DELETE) or a JSON object body (POST, PUT, PATCH), and adds who is asking
from the ToolContext (`X-Fmbot-User-Id`, `-Chat-Id`, `-Language`): never from the model's
arguments. A write (every method but GET) carries `Idempotency-Key`, the same for one stored
call across retries and restarts, so a request repeated after a lost answer is repeated with
it. With a signing secret or key, an RFC 9421 `Signature-Input` and `Signature` (and
`Content-Digest` on a body: bot/features/tools/signing.py).

A query written in the file's URL (`?tenant=acme`, `?key=${KEY}`) is the deployment's: it is
sent exactly as written, the model's arguments are added after it, and an argument of the same
name is refused (a tool error), never a second or replacing value.

Failures come back as a short line for the model (`error: HTTP 500: <short body>`,
`error: timed out after 10 s`), never raised and never a stack trace. What comes back is
scrubbed of the file's secrets for the action (its header values, its URL's query values):
an API that echoes the request's `Authorization` in an error body does not put it in the
model's context, the database or the desk card (bot/features/tools/secrets.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import httpx

from bot.features.tools.schema import ArgumentCheck
from bot.features.tools.secrets import SecretScrubber, header_secrets, url_secrets
from bot.features.tools.signing import RequestSigner
from bot.features.tools.toolsfile import HttpAction
from bot.features.tools.urlpath import fill_path
from bot.plugin.extending import (
    ToolContext,
    ToolDefinition,
    ToolOutcome,
    ToolRunResult,
    approvers_of,
)
from bot.plugin.models import ssl_context

logger = logging.getLogger(__name__)

# The most of a response body read (the conversation core cuts results further to fit the
# prompt); a larger body is cut here, so a huge download cannot fill memory.
MAX_BODY = 256 * 1024
# An error body is shown to the model this short.
ERROR_BODY = 200
# Connection failures are retried this many times (a read freely, a write with its same key).
ATTEMPTS = 3
RETRY_PAUSE = 0.2
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# The longest URL sent (common servers refuse longer request lines: nginx's 8 KB buffers);
# arguments that make it longer are a tool error, nothing is sent.
MAX_URL = 8192


class HttpActionSource:
    """Every `[[http]]` action of one TOOLS_FILE."""

    def __init__(
        self,
        actions: Sequence[HttpAction],
        *,
        label: str = "tools.toml",
        signer: RequestSigner | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._label = label
        self._actions = {action.name: action for action in actions}
        self._checks = {action.name: ArgumentCheck(action.parameters) for action in actions}
        # What an API answers may echo the request: its secrets never reach the model.
        self._scrubbers = {
            action.name: SecretScrubber([*header_secrets(action.headers),
                                         *url_secrets(action.url)])
            for action in actions
        }
        self._signer = signer
        # No redirects: the identity headers and the key go only where the file says. The
        # process's one TLS context (loading the CA bundle anew costs 20-50 ms of CPU).
        self._client = httpx.AsyncClient(follow_redirects=False, transport=transport,
                                         verify=ssl_context(True))
        self._definitions = tuple(
            ToolDefinition(
                name=action.name,
                description=action.description,
                parameters=action.parameters,
                confirm=action.confirm or action.approvers not in (None, ""),
                admins_only=action.admins_only,
                writes=action.method != "GET",
                source=self.name,
                timeout_s=action.timeout_s,
                business=action.business,
                title=action.title,
                title_ru=action.title_ru,
                groups=tuple(group.strip() for group in action.groups),
                approvers=approvers_of(action.approvers),
            )
            for action in actions
        )

    @property
    def name(self) -> str:
        return f"http:{self._label}"

    @property
    def actions(self) -> tuple[HttpAction, ...]:
        return tuple(self._actions.values())

    def definitions(self) -> Sequence[ToolDefinition]:
        return self._definitions

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        await self._client.aclose()

    async def call(
        self, name: str, arguments: Mapping[str, object], ctx: ToolContext
    ) -> ToolRunResult:
        action = self._actions.get(name)
        if action is None:
            return ToolRunResult(ToolOutcome.ERROR, f"error: no tool named {name!r}")
        problem = self._checks[name].problem(arguments)
        if problem is not None:
            return ToolRunResult(ToolOutcome.ERROR, f"error: invalid arguments: {problem}",
                                 "invalid arguments")
        try:
            request = self._request(action, arguments, ctx)
        except ValueError as exc:
            return ToolRunResult(ToolOutcome.ERROR, f"error: invalid arguments: {exc}",
                                 "invalid arguments")
        try:
            async with asyncio.timeout(action.timeout_s):
                return await self._send(action, request)
        except TimeoutError:
            return ToolRunResult(
                ToolOutcome.TIMEOUT, f"error: timed out after {action.timeout_s:g} s", "timeout"
            )

    def _request(
        self, action: HttpAction, arguments: Mapping[str, object], ctx: ToolContext
    ) -> httpx.Request:
        rest = _coerced(arguments, action.parameters)
        for placeholder in action.placeholders:
            if placeholder not in rest or rest[placeholder] is None:
                raise ValueError(f"{placeholder!r} is required")
        # Names compare case-insensitively: many servers read `Tenant` as `tenant` (ASP.NET,
        # Spring with relaxed binding, PHP on some set-ups), so `?tenant=acme&Tenant=evil`
        # would let the model pick the tenant the deployment fixed.
        fixed = {key.casefold() for key, _ in parse_qsl(urlsplit(action.url).query,
                                                        keep_blank_values=True)}
        clashes = sorted(key for key in rest if key.casefold() in fixed)
        if clashes:
            raise ValueError(f"{', '.join(map(repr, clashes))} is set by the deployment in the "
                             "tool's URL and cannot be given: leave it out")
        # Each value fills exactly one path segment (bot/features/tools/urlpath.py): a model cannot
        # move the call to another endpoint with "..", "/" or "?".
        url = fill_path(action.url, rest, _scalar)
        for placeholder in action.placeholders:
            rest.pop(placeholder, None)
        headers = dict(action.headers)
        headers["X-Fmbot-User-Id"] = str(ctx.user_id)
        headers["X-Fmbot-Chat-Id"] = str(ctx.chat_id)
        headers["X-Fmbot-Language"] = ctx.language
        if ctx.email:  # signed in with the company's provider (the identity feature)
            headers["X-Fmbot-User-Email"] = quote(ctx.email, safe="@.+-_")
        if ctx.groups:  # each group percent-encoded, joined by commas
            headers["X-Fmbot-User-Groups"] = ",".join(quote(g, safe="") for g in ctx.groups)
        if action.method != "GET":
            headers["Idempotency-Key"] = ctx.idempotency_key
        body = b""
        params: list[tuple[str, str]] = []
        if action.method in BODY_METHODS:
            body = json.dumps(rest, ensure_ascii=False, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        else:
            params = _query(rest)
        if params:
            # Added after the query the file's URL has, which stays exactly as written
            # (httpx's `params=` would drop it, `copy_merge_params` re-encode or replace it).
            parts = urlsplit(url)
            added = urlencode(params, quote_via=quote)
            query = f"{parts.query}&{added}" if parts.query else added
            url = urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
        if len(url) > MAX_URL:
            raise ValueError(f"the values make the URL {len(url)} characters long, and the "
                             f"most is {MAX_URL}: pass shorter values")
        try:
            target = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise ValueError(f"they do not make a valid URL ({exc})") from None
        return self._client.build_request(
            action.method,
            target,
            content=body or None,
            headers=headers,
            timeout=action.timeout_s,
        )

    async def _send(self, action: HttpAction, request: httpx.Request) -> ToolRunResult:
        host = urlsplit(str(request.url)).hostname or "the server"
        scrub = self._scrubbers[action.name]
        for attempt in range(1, ATTEMPTS + 1):
            if self._signer is not None:
                # Signed at each attempt: a fresh nonce and `created`, so an API that refuses
                # a nonce it has seen still takes the retry (a write keeps its Idempotency-Key).
                self._signer.sign(request, writes=action.method != "GET")
            try:
                response = await self._client.send(request, stream=True)
                try:
                    body = await _read_capped(response)
                finally:
                    await response.aclose()
            except httpx.TimeoutException:
                return ToolRunResult(
                    ToolOutcome.TIMEOUT, f"error: timed out after {action.timeout_s:g} s",
                    "timeout",
                )
            except httpx.TransportError as exc:
                # The request may not have reached the server (connect) or its answer was lost:
                # a read is simply sent again; a write is sent again with the same
                # Idempotency-Key, which the API uses to run it once.
                reason = scrub(str(exc) or type(exc).__name__)
                if attempt < ATTEMPTS:
                    logger.info("tool %s: %s (%s); attempt %d of %d", action.name, host,
                                reason, attempt + 1, ATTEMPTS)
                    await asyncio.sleep(RETRY_PAUSE * attempt)
                    continue
                logger.warning("tool %s: cannot reach %s: %s", action.name, host, reason)
                return ToolRunResult(
                    ToolOutcome.ERROR, f"error: cannot connect to {host}: {reason}",
                    type(exc).__name__,
                )
            # Scrubbed before it is cut: a secret cut in half would leak its first part.
            text = scrub(body.decode(response.encoding or "utf-8", errors="replace"))
            if response.is_success:
                return ToolRunResult(ToolOutcome.OK, text, f"HTTP {response.status_code}")
            logger.warning("tool %s: %s answered HTTP %d", action.name, host,
                           response.status_code)
            return ToolRunResult(
                ToolOutcome.ERROR,
                f"error: HTTP {response.status_code}: {_short(text)}".rstrip(": "),
                f"HTTP {response.status_code}",
            )
        raise AssertionError("unreachable")  # pragma: no cover


async def _read_capped(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_BODY:
            break
    return b"".join(chunks)[:MAX_BODY]


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= ERROR_BODY else flat[: ERROR_BODY - 1] + "…"


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        # Native tool calls come back as protobuf numbers: 1042 arrives as 1042.0.
        return str(int(value))
    if isinstance(value, str | int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _coerced(arguments: Mapping[str, object], schema: Mapping[str, object]) -> dict[str, object]:
    """The arguments, with a whole float given for an `integer` property made an int (native
    calls carry numbers as floats: `5.0`), so the API gets `5` in its body."""
    properties = schema.get("properties")
    result = dict(arguments)
    if not isinstance(properties, Mapping):
        return result
    for key, value in result.items():
        spec = properties.get(key)
        if (
            isinstance(spec, Mapping)
            and spec.get("type") == "integer"
            and isinstance(value, float)
            and value.is_integer()
        ):
            result[key] = int(value)
    return result


def _query(arguments: Mapping[str, object]) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = []
    for key, value in arguments.items():
        if value is None:
            continue
        if isinstance(value, list):
            params.extend((key, _scalar(item)) for item in value)
        else:
            params.append((key, _scalar(value)))
    return params
