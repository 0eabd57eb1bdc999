"""`/metrics`, `/healthz` and `/readyz` on METRICS_LISTEN (aiohttp, already used by aiogram).

- `/metrics`: the Prometheus text format.
- `/healthz`: 200 while the process runs its event loop (a liveness probe).
- `/readyz`: 200 when every readiness probe passes (database, Redis, Telegram), else 503 with
  one line per failing probe. Probes run concurrently, each within `timeout` seconds, and a
  result is reused for `cache_for` seconds so frequent polling costs the dependencies little.
  From SIGTERM on it is 503 `shutdown: ...` without probing, so a balancer's health check
  stops sending updates to a replica that is draining. A change of readiness is logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.metrics.registry import REGISTRY

log = logging.getLogger(__name__)

# A probe returns when the dependency answers and raises (any exception) when it does not.
Probe = Callable[[], Awaitable[object]]

SHUTTING_DOWN = "shutting down: finishing answers, taking no new updates"


class Readiness:
    def __init__(
        self,
        probes: Mapping[str, Probe],
        *,
        timeout: float = 3.0,
        cache_for: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        stopping: Callable[[], bool] = lambda: False,
        scrub: Callable[[str], str] = lambda text: text,
    ) -> None:
        """`stopping`: True once the process is shutting down (never ready again); `scrub`:
        what hides the configured secrets in a probe's error (a driver's error can carry its
        DSN and password) before /readyz shows it or the log prints it."""
        self.probes = dict(probes)
        self.scrub = scrub
        self.stopping = stopping
        self.timeout = timeout
        self.cache_for = cache_for
        self.clock = clock
        self._lock = asyncio.Lock()
        self._checked_at = -float("inf")
        self._problems: dict[str, str] = {}
        self._ready: bool | None = None

    def add(self, name: str, probe: Probe) -> None:
        """One more dependency to answer before the replica is ready."""
        self.probes[name] = probe
        self._checked_at = -float("inf")

    async def problems(self) -> dict[str, str]:
        """Failing probes and why; empty when ready."""
        async with self._lock:
            if self.stopping():
                self._problems = {"shutdown": SHUTTING_DOWN}
                self._log_change()
            elif self.clock() - self._checked_at >= self.cache_for:
                names = list(self.probes)
                results = await asyncio.gather(*(self._run(n) for n in names))
                self._problems = {n: p for n, p in zip(names, results, strict=True) if p}
                self._checked_at = self.clock()
                self._log_change()
            return dict(self._problems)

    async def _run(self, name: str) -> str | None:
        try:
            async with asyncio.timeout(self.timeout):
                await self.probes[name]()
        except TimeoutError:
            return f"no answer within {self.timeout:g} s"
        except Exception as exc:  # any failure of a dependency makes the replica unready
            # Scrubbed before it is cut: a secret cut in half would no longer be recognised.
            return self.scrub(f"{type(exc).__name__}: {exc}")[:300]
        return None

    def _log_change(self) -> None:
        ready = not self._problems
        if ready == self._ready:
            return
        if ready:
            log.info("ready: %s answer", ", ".join(self.probes) or "nothing to check")
        else:
            reasons = "; ".join(f"{n}: {p}" for n, p in self._problems.items())
            log.warning("not ready: %s", reasons)
        self._ready = ready


def metrics_app(readiness: Readiness) -> web.Application:
    async def metrics(_: web.Request) -> web.Response:
        response = web.Response(body=generate_latest(REGISTRY))
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(_: web.Request) -> web.Response:
        problems = await readiness.problems()
        if not problems:
            return web.Response(text="ready\n")
        body = "".join(f"{name}: {problem}\n" for name, problem in problems.items())
        return web.Response(status=503, text=body)

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app


@asynccontextmanager
async def serve_metrics(host: str, port: int, readiness: Readiness) -> AsyncIterator[int]:
    """Serve the three paths on host:port inside the block; yields the bound port."""
    runner = web.AppRunner(metrics_app(readiness), handle_signals=False, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = int(runner.addresses[0][1])
        log.info("metrics on http://%s:%s/metrics (/healthz, /readyz)", host, bound)
        yield bound
    finally:
        await runner.cleanup()
