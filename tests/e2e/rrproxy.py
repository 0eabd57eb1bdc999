"""A round-robin HTTP load balancer on loopback, in front of webhook replicas (for tests).

Each request goes to the next backend in turn, its method, path, headers and body as
received; a backend that refuses the connection (a killed replica) is skipped for the next
one, as a load balancer's health check would; when none answers, 502, and Telegram delivers
the update again later. `sent` counts the requests each backend answered. `choose` (for
benchmarks) maps a request's body to a key: the backend is the key modulo their number
(None: in turn).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import aiohttp
from aiohttp import web

HOP_BY_HOP = frozenset({"host", "content-length", "connection", "transfer-encoding"})


class RoundRobinProxy:
    def __init__(
        self, backends: list[str], choose: Callable[[bytes], int | None] | None = None
    ) -> None:
        """`backends`: base URLs, e.g. http://127.0.0.1:8081."""
        self.backends = backends
        self.choose = choose
        self.sent = dict.fromkeys(backends, 0)
        self._turn = itertools.cycle(range(len(backends)))
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self.port = 0
        self.pinned: int | None = None  # the next request goes to this backend first

    def pin_next(self, backend: int) -> None:
        """Send the next request to `backends[backend]` (a test choosing who gets what)."""
        self.pinned = backend

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> RoundRobinProxy:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._http is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        first = next(self._turn)
        if self.pinned is not None:
            first, self.pinned = self.pinned, None
        elif self.choose is not None and (key := self.choose(body)) is not None:
            first = key % len(self.backends)
        for i in range(len(self.backends)):
            backend = self.backends[(first + i) % len(self.backends)]
            try:
                async with self._http.request(
                    request.method, backend + request.path_qs, data=body, headers=headers
                ) as resp:
                    payload = await resp.read()
                    self.sent[backend] += 1
                    return web.Response(
                        status=resp.status,
                        body=payload,
                        content_type=resp.content_type,
                    )
            except aiohttp.ClientConnectionError:
                continue  # a dead backend: the next one
        return web.Response(status=502, text="no backend answered")
