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

import bot.foundation_models.errors as errors
from bot.foundation_models.chunks import GRPC_TO_HTTP, quick_snapshot, snapshot_of
from bot.foundation_models.error_mapping import describe
from bot.foundation_models.types import Snapshot
from bot.foundation_models.wire import ErrorObject, StreamLine

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


def error_of_line(line: StreamLine, partial_text: str, request_id: str | None) -> errors.APIError:
    """The error an `{"error": ...}` line stands for, mapped by its HTTP/gRPC code."""
    message, grpc_code = describe(line.error, line.code, line.message)
    message = message or "error in stream"
    http_code = line.error.http_code if isinstance(line.error, ErrorObject) else None
    status = http_code or GRPC_TO_HTTP.get(grpc_code or -1)
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


class _Watchdog:
    """The idle/first-byte timeout of a whole stream, on one timer.

    An `asyncio.timeout` context per chunk costs a timer handle armed and cancelled per read;
    here each read only stores its deadline, and one `call_at` callback, re-armed at most once
    per timeout period, cancels the reading task if a read has waited past its deadline. Like
    `asyncio.timeout`, it cancels the task and turns that cancellation (and only that one) into
    the timeout; it never fires while the task is elsewhere (the consumer handling a line).
    """

    __slots__ = (
        "_armed_at",
        "_cancelling",
        "_handle",
        "_loop",
        "_task",
        "deadline",
        "fired",
        "waiting",
    )

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        self._task = task
        self._cancelling = task.cancelling()
        self._handle: asyncio.TimerHandle | None = None
        self._armed_at = 0.0
        self.deadline = 0.0
        self.waiting = False
        self.fired = False

    def start(self, timeout: float) -> None:
        """A read begins; it may take `timeout` seconds."""
        self.deadline = deadline = self._loop.time() + timeout
        self.waiting = True
        if self._handle is None or self._armed_at > deadline:
            self._arm(deadline)

    def _arm(self, when: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._armed_at = when
        self._handle = self._loop.call_at(when, self._check)

    def _check(self) -> None:
        self._handle = None
        if not self.waiting:
            return  # the next read arms the timer again
        if self._loop.time() < self.deadline:
            self._arm(self.deadline)
            return
        self.fired = True
        self._task.cancel()

    def timed_out(self) -> bool:
        """After a CancelledError in a read: was it ours (and not also one from outside)?"""
        return self.fired and self._task.uncancel() <= self._cancelling

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


async def read_lines(
    response: httpx.Response, *, first_byte: float, idle: float
) -> AsyncGenerator[bytes, None]:
    """Complete lines of a streamed body (a last unterminated line included).

    Raises APITimeoutError(phase="first_byte" | "idle") and StreamError (broken connection);
    callers set `partial_text` on what escapes. Iterate it from one task (its timeout cancels
    the task that started it).
    """
    buffer = LineBuffer()
    # Undecoded bytes are the body itself unless the server compressed it (httpx asks for
    # gzip/deflate): skipping httpx's identity decoder and re-chunker saves work per chunk.
    if "content-encoding" in response.headers:
        chunks = response.aiter_bytes().__aiter__()
    else:
        chunks = response.aiter_raw().__aiter__()
    timeout, phase = first_byte, "first_byte"
    watchdog = _Watchdog()
    try:
        while True:
            watchdog.start(timeout)
            try:
                chunk = await anext(chunks)
            except StopAsyncIteration:
                watchdog.waiting = False
                rest = buffer.flush()
                if rest:
                    yield rest
                return
            except asyncio.CancelledError:
                watchdog.waiting = False
                if watchdog.timed_out():
                    raise errors.APITimeoutError(
                        f"stream silent for {timeout:g}s", phase=phase
                    ) from None
                raise
            except httpx.TransportError as exc:
                watchdog.waiting = False
                raise errors.StreamError(
                    f"connection broke mid-stream: {type(exc).__name__}",
                    request_id=response.headers.get("x-request-id"),
                ) from None
            watchdog.waiting = False
            timeout, phase = idle, "idle"
            for line in buffer.feed(chunk):
                yield line
    finally:
        watchdog.close()


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
                snapshot = quick_snapshot(raw)
                if snapshot is None:
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
