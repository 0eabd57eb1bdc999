"""What every Foundation Models client shares: its HTTP client, the `Transport` that sends each
request (auth, headers, timeouts, retries, error mapping), and its lifecycle.

Each API (the native completion and operations, the OpenAI-compatible and Responses wires,
SpeechKit, the Vector Stores) is a subclass that adds its requests, as the OpenAI SDK's
resources sit on one client base. A client makes its own `httpx.AsyncClient` (closed by
`aclose()` or `async with`), or uses one it is given (`http`: shared by several clients,
bot.testing's in-process transport) and leaves that open.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, aclosing
from types import TracebackType
from typing import Self

import httpx

from bot.foundation_models.auth import Auth
from bot.foundation_models.errors import FoundationModelsError
from bot.foundation_models.limits import GenerationLimit, GenerationLimiter, admitted
from bot.foundation_models.net import http_client, pool_limits
from bot.foundation_models.observer import NullObserver, Observer, model_label
from bot.foundation_models.transport import RetryPolicy, Timeouts, Transport
from bot.foundation_models.types import Snapshot


class ProjectTransport(Transport):
    """Sends the folder as `OpenAI-Project` too: Yandex's examples pass it as the OpenAI SDK's
    `project`, which becomes that header (the Responses API, Files, Vector Stores)."""

    def headers(self, authorization: str, client_request_id: str, *, folder: bool
                ) -> dict[str, str]:
        headers = super().headers(authorization, client_request_id, folder=folder)
        if self.folder_id:
            headers["OpenAI-Project"] = self.folder_id
        return headers


def client_timeout(
    timeouts: Timeouts | None = None, *, read: float | None = None
) -> httpx.Timeout:
    """httpx's timeouts for a model client's HTTP client: connect and write bounded, reads left
    to the transport's own first-byte and idle limits (`Timeouts`), which tell a slow model
    from a lost one (`read`: a hard bound as well, for the speech APIs)."""
    timeouts = timeouts or Timeouts()
    return httpx.Timeout(connect=timeouts.connect, read=read, write=timeouts.write, pool=None)


def client_over(transport: httpx.AsyncBaseTransport) -> httpx.AsyncClient:
    """An HTTP client over `transport` (a recording one, the test kit's fake) for the model
    clients (their `http=`), timed as their own client is. A bare `httpx.AsyncClient` reads
    with httpx's 5-second default: a model quiet for longer than that, which the bot waits
    out (YANDEX_IDLE_TIMEOUT, 30 s), broke off there instead."""
    return httpx.AsyncClient(transport=transport, timeout=client_timeout())


class ApiClient:
    """The HTTP client, the transport and the lifecycle of one Foundation Models API.

    `read_timeout`: httpx's read timeout (None for streams, which the transport's
    `first_byte` and `idle` bound instead); `limits`: the pool of an own HTTP client."""

    def __init__(
        self,
        *,
        auth: Auth,
        folder_id: str = "",
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        http: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        observer: Observer | None = None,
        data_logging: bool = False,
        read_timeout: float | None = None,
        limits: httpx.Limits | None = None,
        transport: type[Transport] = Transport,
    ) -> None:
        self.folder_id = folder_id
        self._sleep = sleep
        self.timeouts = timeouts or Timeouts()
        self.observer: Observer = observer or NullObserver()
        self._own_http = http is None
        self._http = http or http_client(
            timeout=client_timeout(self.timeouts, read=read_timeout),
            limits=limits or pool_limits(10),
        )
        self._transport = transport(
            self._http, auth, folder_id=folder_id, data_logging=data_logging,
            timeouts=self.timeouts, retry=retry, sleep=sleep, observer=self.observer,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client if it is the client's own (a given one stays open)."""
        if self._own_http:
            await self._http.aclose()

    # -- generations: the chat clients set `generation_limit` (generation_cap) ---------------

    generation_limit: GenerationLimit
    #: Seconds the last generation waited for a concurrency slot.
    last_queue_wait: float = 0.0

    def _generation(
        self, folder: str, send: Callable[[], AbstractAsyncContextManager[httpx.Response]],
        *, endpoint: str,
    ) -> AbstractAsyncContextManager[httpx.Response]:
        """`send()` holding a generation slot for `folder`; a 429 the cap takes for its own
        over-admission is waited out and sent again (limits.admitted)."""
        return admitted(self.generation_limit, folder, send, endpoint=endpoint,
                        observer=self.observer, noted=self._note_wait, sleep=self._sleep)

    async def _observed(
        self, items: AsyncGenerator[Snapshot, None], model: str, *, endpoint: str
    ) -> AsyncGenerator[Snapshot, None]:
        """A generation's snapshots as they come: its usage noted at the final one, a stream
        that breaks after it started counted as the endpoint's failure."""
        async with aclosing(items):
            try:
                async for snapshot in items:
                    if snapshot.is_final:
                        self.observer.usage(
                            model_label(model), snapshot.usage.input_tokens,
                            snapshot.usage.completion_tokens,
                        )
                    yield snapshot
            except FoundationModelsError as exc:
                self.observer.failure(endpoint, type(exc).__name__)
                raise

    def _note_wait(self, waited: float) -> None:
        self.last_queue_wait = waited
        self.observer.generation_wait(waited)


def generation_cap(limit: GenerationLimit | None, max_concurrent: int) -> GenerationLimit:
    """The generation cap of a chat client: the one given (shared by every replica), or this
    process's own of `max_concurrent` generations at once."""
    return limit if limit is not None else GenerationLimiter(max_concurrent)
