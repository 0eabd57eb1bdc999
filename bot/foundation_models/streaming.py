"""The native stream: newline-delimited JSON, each line the *cumulative* answer so far.

Each line becomes a `Snapshot` of the whole text (never a delta: the prefix may be revised).
A partial line can end in half a character, which the service renders as U+FFFD; it is
stripped from partial snapshots (https://github.com/black-roland/homeassistant-yandexgpt/issues/17).
Lines are split on b"\\n" only, by a buffer that looks at each byte once, so a chunk costs
what its own bytes cost, however many came before (and a raw U+2028 inside a JSON string
cannot split a line, as `str.splitlines` would).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import aclosing

import httpx
from pydantic import ValidationError

from bot.foundation_models import errors
from bot.foundation_models.error_mapping import describe
from bot.foundation_models.types import Completion, CompletionStatus, Snapshot, ToolCall, Usage
from bot.foundation_models.wire import CompletionResult, ErrorObject, StreamLine

_GRPC_TO_HTTP = {3: 400, 4: 504, 5: 404, 7: 403, 8: 429, 12: 501, 13: 500, 14: 503, 16: 401}
_BY_HTTP: dict[int, type[errors.APIStatusError]] = {
    400: errors.BadRequestError,
    401: errors.AuthenticationError,
    403: errors.PermissionDeniedError,
    404: errors.NotFoundError,
    429: errors.RateLimitError,
    500: errors.InternalServerError,
    503: errors.ServiceUnavailableError,
    504: errors.GatewayTimeoutError,
}


class LineBuffer:
    """Bytes in, complete lines out (without the newline)."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        scanned = len(self._buffer)  # bytes already known to hold no newline
        self._buffer += data
        end = self._buffer.find(b"\n", scanned)
        if end < 0:
            return []
        lines: list[bytes] = []
        start = 0
        while end >= 0:
            lines.append(bytes(self._buffer[start:end]))
            start = end + 1
            end = self._buffer.find(b"\n", start)
        del self._buffer[:start]
        return lines

    def flush(self) -> bytes:
        rest = bytes(self._buffer)
        self._buffer.clear()
        return rest


def status_of(value: str) -> CompletionStatus:
    try:
        return CompletionStatus(value.removeprefix("ALTERNATIVE_STATUS_"))
    except ValueError:
        return CompletionStatus.UNSPECIFIED


def usage_of(result: CompletionResult) -> Usage:
    wire = result.usage
    details = wire.completion_tokens_details
    return Usage(
        input_tokens=wire.input_text_tokens,
        completion_tokens=wire.completion_tokens,
        total_tokens=wire.total_tokens,
        reasoning_tokens=details.reasoning_tokens if details else 0,
    )


def tool_calls_of(result: CompletionResult) -> tuple[ToolCall, ...]:
    if not result.alternatives or result.alternatives[0].message.tool_call_list is None:
        return ()
    return tuple(
        ToolCall(name=item.function_call.name, arguments=dict(item.function_call.arguments))
        for item in result.alternatives[0].message.tool_call_list.tool_calls
        if item.function_call is not None
    )


def snapshot_of(result: CompletionResult) -> Snapshot:
    """The snapshot a result line stands for (trailing U+FFFD stripped unless final)."""
    if not result.alternatives:
        return Snapshot("", CompletionStatus.UNSPECIFIED, usage_of(result), result.model_version)
    alternative = result.alternatives[0]
    status = status_of(alternative.status)
    text = alternative.message.text or ""
    if not status.is_final:
        text = text.rstrip("\ufffd")
    return Snapshot(text, status, usage_of(result), result.model_version)


def completion_of(result: CompletionResult) -> Completion:
    snapshot = snapshot_of(result)
    return Completion(
        text=snapshot.text, status=snapshot.status, usage=snapshot.usage,
        model_version=snapshot.model_version, tool_calls=tool_calls_of(result),
    )


def error_of_line(line: StreamLine, partial_text: str, request_id: str | None) -> errors.APIError:
    """The error an `{"error": ...}` line stands for, mapped by its HTTP/gRPC code."""
    message, grpc_code = describe(line.error, line.code, line.message)
    message = message or "error in stream"
    http_code = line.error.http_code if isinstance(line.error, ErrorObject) else None
    status = http_code or _GRPC_TO_HTTP.get(grpc_code or -1)
    error: errors.APIError
    if status is None:
        error = errors.StreamError(message, partial_text=partial_text, request_id=request_id)
    elif status == 429:
        error = errors.RateLimitError(message, grpc_code=grpc_code, request_id=request_id)
    else:
        cls = _BY_HTTP.get(status, errors.ServiceUnavailableError if status >= 500 else
                           errors.APIStatusError)
        error = cls(message, status_code=status, grpc_code=grpc_code, request_id=request_id)
    error.partial_text = partial_text
    return error


async def read_lines(
    response: httpx.Response, *, first_byte: float, idle: float
) -> AsyncGenerator[bytes, None]:
    """Complete lines of a streamed body (a last unterminated line included).

    Raises APITimeoutError(phase="first_byte" | "idle") and StreamError (broken connection);
    callers set `partial_text` on what escapes.
    """
    buffer = LineBuffer()
    chunks = response.aiter_bytes().__aiter__()
    timeout, phase = first_byte, "first_byte"
    while True:
        try:
            async with asyncio.timeout(timeout):
                chunk = await anext(chunks)
        except StopAsyncIteration:
            rest = buffer.flush()
            if rest:
                yield rest
            return
        except TimeoutError:
            raise errors.APITimeoutError(f"stream silent for {timeout:g}s", phase=phase) from None
        except httpx.TransportError as exc:
            raise errors.StreamError(
                f"connection broke mid-stream: {type(exc).__name__}",
                request_id=response.headers.get("x-request-id"),
            ) from None
        timeout, phase = idle, "idle"
        for line in buffer.feed(chunk):
            yield line


async def _drain(lines: AsyncGenerator[bytes, None], *, within: float) -> None:
    """Read what follows the final line (normally just the end of the body).

    Reading the body to its end lets httpx return the connection to the pool; closing a
    response early drops it, and the next answer would pay a new TCP/TLS handshake.
    """
    try:
        async with asyncio.timeout(min(within, 2.0)):
            async for _ in lines:
                pass
    except (TimeoutError, errors.FoundationModelsError):
        pass  # the answer is complete; a slow or broken tail only costs the connection


async def snapshots(
    response: httpx.Response, *, first_byte: float, idle: float
) -> AsyncGenerator[Snapshot, None]:
    """Snapshots from an open streamed response; ends after the final one.

    Raises StreamError (malformed line, broken connection, no final status), the mapped
    error for an `{"error": ...}` line, or APITimeoutError(phase="first_byte" | "idle");
    each carries the text delivered so far as `partial_text`.
    """
    request_id = response.headers.get("x-request-id")
    last_text = ""
    lines = read_lines(response, first_byte=first_byte, idle=idle)
    try:
        async with aclosing(lines):
            async for raw in lines:
                if not raw.strip():
                    continue
                try:
                    line = StreamLine.model_validate_json(raw)
                except ValidationError:
                    raise errors.StreamError(
                        "malformed line in stream", request_id=request_id
                    ) from None
                if line.error is not None or line.result is None:
                    raise error_of_line(line, last_text, request_id)
                snapshot = snapshot_of(line.result)
                last_text = snapshot.text
                yield snapshot
                if snapshot.is_final:
                    await _drain(lines, within=idle)
                    return
        raise errors.StreamError("stream ended without a final status", request_id=request_id)
    except errors.FoundationModelsError as exc:
        exc.partial_text = last_text
        raise
