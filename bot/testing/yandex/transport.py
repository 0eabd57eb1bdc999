"""The fake Foundation Models service in process: an httpx transport (no socket) handing each
request to `FoundationModelsService.handle`. A streamed body is read part by part as the
service writes it; the request's read timeout holds as on a socket (httpx.ReadTimeout when
the service stalls longer), and a dropped connection is httpx.RemoteProtocolError.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Protocol

import httpx

from bot.testing.yandex.exchange import Drop, Headers, Request, Response, Stream


class Service(Protocol):
    """What the transport hands requests to (`FoundationModelsService`)."""

    async def handle(self, request: Request) -> Response: ...


class ServiceTransport(httpx.AsyncBaseTransport):
    """An httpx transport over `service` (`FoundationModelsService.transport()`)."""

    def __init__(self, service: Service) -> None:
        self.service = service

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        read = _read_timeout(request)
        asked = Request(request.method, request.url.path,
                        {k: v for k, v in request.url.params.items()},
                        Headers(dict(request.headers)), body)
        try:
            async with asyncio.timeout(read):
                answer = await self.service.handle(asked)
        except TimeoutError:
            raise httpx.ReadTimeout("read timed out", request=request) from None
        if answer.stream is None:
            return httpx.Response(answer.status, headers=answer.headers, content=answer.body,
                                  request=request)
        return httpx.Response(answer.status, headers=answer.headers,
                              stream=_Body(answer.stream, request, read), request=request)


def _read_timeout(request: httpx.Request) -> float | None:
    timeout = request.extensions.get("timeout") or {}
    read = timeout.get("read") if isinstance(timeout, dict) else None
    return float(read) if read is not None else None


class _Body(httpx.AsyncByteStream):
    def __init__(self, stream: Stream, request: httpx.Request, read: float | None) -> None:
        self.stream, self.request, self.read = stream, request, read

    async def __aiter__(self) -> AsyncIterator[bytes]:
        parts = aiter(self.stream)
        while True:
            try:
                async with asyncio.timeout(self.read):
                    part = await anext(parts)
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise httpx.ReadTimeout("read timed out", request=self.request) from None
            except Drop:
                raise httpx.RemoteProtocolError(
                    "peer closed connection without sending complete message body "
                    "(incomplete chunked read)", request=self.request) from None
            yield part

    async def aclose(self) -> None:
        await self.stream.aclose()
