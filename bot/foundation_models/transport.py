"""One HTTP exchange with headers, timeouts, retries and error mapping.

Timeouts are split by phase: `connect` (httpx), `first_byte` (until the response headers, and
for a stream its first line), `idle` (between body chunks/lines). Retries: exponential backoff
with jitter on 429, 5xx and connection errors, honouring Retry-After; a 401 with a refreshable
credential drops the token and tries once more. Streams are retried only until their headers
arrive: once a stream has begun, a failure is the caller's (nothing is ever yielded twice).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from bot.foundation_models.auth import Auth
from bot.foundation_models.error_mapping import status_error
from bot.foundation_models.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    RateLimitError,
    ResponseTooLargeError,
)
from bot.foundation_models.observer import NullObserver, Observer, endpoint_of

logger = logging.getLogger("bot.foundation_models")
# An error's body is a short JSON message: a longer one is not read (its status still counts).
MAX_ERROR_BODY = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds per phase: connect, until the first byte of the answer, idle between chunks."""

    connect: float = 10.0
    first_byte: float = 60.0
    idle: float = 30.0
    write: float = 30.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Backoff `initial * multiplier**n` capped at `max_backoff`, times (1 + U(0, jitter));
    a Retry-After header replaces the computed delay (up to `max_retry_after`, else give up)."""

    max_attempts: int = 3
    initial_backoff: float = 1.0
    multiplier: float = 2.0
    max_backoff: float = 10.0
    jitter: float = 0.5
    max_retry_after: float = 60.0
    retry_statuses: frozenset[int] = field(default=frozenset({429, 500, 502, 503, 504}))

    def delay(self, attempt: int, retry_after: float | None, rand: float) -> float | None:
        """Delay before retry number `attempt` (1-based), or None to give up."""
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        base = min(self.max_backoff, self.initial_backoff * self.multiplier ** (attempt - 1))
        return base * (1.0 + self.jitter * rand)


NO_RETRY = RetryPolicy(max_attempts=1)


class Transport:
    """Sends requests for the client; owns no connection pool (the client's httpx does)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        auth: Auth,
        *,
        folder_id: str,
        data_logging: bool = False,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
        observer: Observer | None = None,
    ) -> None:
        self.http = http
        self.observer: Observer = observer or NullObserver()
        self.auth = auth
        self.folder_id = folder_id
        self.data_logging = data_logging
        self.timeouts = timeouts or Timeouts()
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._rand = rand

    def headers(
        self, authorization: str, client_request_id: str, *, folder: bool
    ) -> dict[str, str]:
        headers = {
            "Authorization": authorization,
            "x-client-request-id": client_request_id,
            "x-data-logging-enabled": "true" if self.data_logging else "false",
        }
        if folder and self.auth.needs_folder_header and self.folder_id:
            headers["x-folder-id"] = self.folder_id
        return headers

    async def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        folder_header: bool = True,
        retry: RetryPolicy | None = None,
        content: bytes | None = None,
        content_type: str | None = None,
        max_bytes: int | None = None,
    ) -> bytes:
        """Send and return the body of a 2xx answer; raise the mapped error otherwise.
        `content`: a raw body instead of JSON (SpeechKit takes the audio as it is), of
        `content_type` when given (a multipart upload names its boundary there); `max_bytes`:
        a longer body raises ResponseTooLargeError before it is read whole."""
        async with self.open(
            method, url, json=json, folder_header=folder_header, retry=retry, content=content,
            content_type=content_type,
        ) as response:
            return await self.read_body(response, max_bytes=max_bytes)

    @asynccontextmanager
    async def open(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        folder_header: bool = True,
        retry: RetryPolicy | None = None,
        content: bytes | None = None,
        content_type: str | None = None,
    ) -> AsyncIterator[httpx.Response]:
        """Send, retrying until a 2xx answer's headers arrive; yield it with the body unread."""
        policy = retry or self.retry
        client_request_id = str(uuid.uuid4())
        path = httpx.URL(url).path
        endpoint = endpoint_of(path)
        observer = self.observer
        attempt = 0
        refreshed = False
        while True:
            attempt += 1
            authorization = await self.auth.authorization(self.http)
            headers = self.headers(authorization, client_request_id, folder=folder_header)
            if attempt > 1:
                headers["x-retry-attempt"] = str(attempt - 1)
            if content_type:
                headers["Content-Type"] = content_type
            started = time.monotonic()
            observer.request(endpoint)
            try:
                response = await self._send(method, url, json, headers, content)
            except APIConnectionError as exc:
                delay = policy.delay(attempt, None, self._rand())
                if attempt >= policy.max_attempts or delay is None:
                    observer.failure(endpoint, type(exc).__name__)
                    raise
                observer.retry(endpoint, "connection")
                logger.warning(
                    "%s %s failed (%s), retry %d in %.2fs",
                    method, path, exc, attempt, delay,
                )
                await self._sleep(delay)
                continue
            request_id = response.headers.get("x-request-id")
            elapsed = time.monotonic() - started
            if response.is_success:
                logger.debug(
                    "%s %s -> %d in %.3fs request_id=%s client_request_id=%s",
                    method, path, response.status_code, elapsed, request_id, client_request_id,
                )
                try:
                    yield response
                finally:
                    await response.aclose()
                return
            body = await self._read_error_body(response)
            error = status_error(
                response.status_code,
                body,
                reason=response.reason_phrase,
                request_id=request_id,
                retry_after=response.headers.get("retry-after"),
            )
            if response.status_code == 401 and self.auth.refreshable and not refreshed:
                refreshed = True
                attempt -= 1
                logger.warning("%s %s -> 401, refreshing credentials (request_id=%s)",
                               method, path, request_id)
                await self.auth.invalidate(authorization)
                continue
            delay = self._retry_delay(error, policy, attempt)
            if delay is None:
                logger.warning(
                    "%s %s -> %d request_id=%s client_request_id=%s: %s",
                    method, path, response.status_code, request_id, client_request_id,
                    error.message,
                )
                observer.failure(endpoint, type(error).__name__)
                raise error
            observer.retry(endpoint, str(response.status_code))
            logger.warning(
                "%s %s -> %d request_id=%s, retry %d in %.2fs",
                method, path, response.status_code, request_id, attempt, delay,
            )
            await self._sleep(delay)

    def _retry_delay(
        self, error: APIStatusError, policy: RetryPolicy, attempt: int
    ) -> float | None:
        if attempt >= policy.max_attempts or error.status_code not in policy.retry_statuses:
            return None
        retry_after = error.retry_after if isinstance(error, RateLimitError) else None
        return policy.delay(attempt, retry_after, self._rand())

    async def _send(
        self, method: str, url: str, json: Any, headers: dict[str, str],
        content: bytes | None = None,
    ) -> httpx.Response:
        request = self.http.build_request(
            method, url, json=json, headers=headers, content=content
        )
        try:
            async with asyncio.timeout(self.timeouts.first_byte):
                return await self.http.send(request, stream=True)
        except TimeoutError:
            raise APITimeoutError(
                f"no answer within {self.timeouts.first_byte:g}s", phase="first_byte"
            ) from None
        except httpx.ConnectTimeout:
            raise APITimeoutError(
                f"could not connect within {self.timeouts.connect:g}s", phase="connect"
            ) from None
        except httpx.TimeoutException as exc:
            raise APITimeoutError(f"timed out: {type(exc).__name__}", phase="first_byte") from None
        except httpx.TransportError as exc:
            raise APIConnectionError(f"connection failed: {type(exc).__name__}") from None

    async def read_body(self, response: httpx.Response, *, max_bytes: int | None = None) -> bytes:
        """The whole body, with the idle timeout applied between chunks; past `max_bytes`
        (declared or read) ResponseTooLargeError, with no more of it read."""
        declared = response.headers.get("content-length", "")
        if max_bytes is not None and declared.isdigit() and int(declared) > max_bytes:
            raise ResponseTooLargeError(f"the answer is {int(declared):,} bytes long "
                                        f"(at most {max_bytes:,} are read)")
        parts: list[bytes] = []
        size = 0
        chunks = response.aiter_bytes().__aiter__()
        while True:
            try:
                async with asyncio.timeout(self.timeouts.idle):
                    chunk = await anext(chunks)
            except StopAsyncIteration:
                break
            except TimeoutError:
                raise APITimeoutError(
                    f"no data for {self.timeouts.idle:g}s", phase="idle"
                ) from None
            except httpx.TransportError as exc:
                raise APIConnectionError(
                    f"connection broke while reading: {type(exc).__name__}"
                ) from None
            size += len(chunk)
            if max_bytes is not None and size > max_bytes:
                raise ResponseTooLargeError(f"the answer is over {max_bytes:,} bytes long")
            parts.append(chunk)
        return b"".join(parts)

    async def _read_error_body(self, response: httpx.Response) -> bytes:
        try:
            return await self.read_body(response, max_bytes=MAX_ERROR_BODY)
        except (APIConnectionError, ResponseTooLargeError):
            return b""
        finally:
            await response.aclose()
