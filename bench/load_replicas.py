"""`bench_load.py --replicas N`: N `python -m bot run` processes in webhook mode on a throwaway
PostgreSQL database and Redis, behind the round-robin proxy of the end-to-end tests.

Redis is reached through a counting TCP proxy on loopback: redis-py sends one command per
write and waits for its answer (no pipelining here), so the client-to-server writes it counts
are Redis round trips. Keys live under the bench's own bot id and are deleted after.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.throwaway_postgres import DEFAULT_POSTGRES, throwaway_postgres
from tests.e2e.processes import WEBHOOK_SECRET, BotProcess
from tests.e2e.rrproxy import RoundRobinProxy
from tests.ports import free_port
from tests.redis_server import delete_prefix


class CountingProxy:
    """TCP proxy to Redis counting client writes (round trips)."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.writes = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in self._open:  # the pipes end by themselves, not cancelled
            writer.transport.abort()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._open.update((writer, up_writer))
        await asyncio.gather(
            self._pipe(reader, up_writer, count=True),
            self._pipe(up_reader, writer, count=False),
            return_exceptions=True,
        )

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, count: bool
    ) -> None:
        try:
            while data := await reader.read(65536):
                if count:
                    self.writes += 1
                writer.write(data)
                await writer.drain()
        finally:
            with contextlib.suppress(Exception):
                writer.transport.abort()


@dataclass
class Cluster:
    token: str
    bots: list[BotProcess] = field(default_factory=list)
    redis: CountingProxy | None = None

    @property
    def pids(self) -> list[int]:
        return [bot.proc.pid for bot in self.bots if bot.proc is not None]


def bench_token() -> str:
    """A bot id of this run's own: the replicas' Redis keys are fmbot:<bot id>:..."""
    return f"{random.randrange(10**9, 2 * 10**9)}:bench-replicas"


@asynccontextmanager
async def replicas(
    n: int, token: str, env: dict[str, str], workdir: Path, redis_url: str,
    route: str = "round-robin", *, coordinated: bool = True,
) -> AsyncIterator[Cluster]:
    """Start `n` webhook replicas with `env` (the single-process bench's environment); the
    first alone (it migrates the empty database), then the others. `route`: see
    bench_load.py's --route; `coordinated=False`: no REDIS_URL (one process in webhook mode
    on PostgreSQL, the yardstick for what coordination costs)."""
    host, port = redis_url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
    redis = CountingProxy(host, int(port))
    await redis.start()
    ports = [free_port() for _ in range(n)]
    choose = {"round-robin": None, "chat": by_chat, "first": lambda _body: 0}[route]
    proxy = await RoundRobinProxy([f"http://127.0.0.1:{p}" for p in ports], choose).start()
    cluster = Cluster(token, redis=redis)
    async with throwaway_postgres(DEFAULT_POSTGRES) as database:
        if database is None:
            raise SystemExit("--replicas needs PostgreSQL on 127.0.0.1:5432")
        try:
            for i, listen in enumerate(ports):
                extra = {
                    "DATABASE_URL": database,
                    **({"REDIS_URL": f"redis://127.0.0.1:{redis.port}/0"} if coordinated else {}),
                    "REPLICA_ID": f"replica-{i}",
                    "TELEGRAM_MODE": "webhook",
                    "TELEGRAM_WEBHOOK_URL": f"{proxy.url}/webhook",
                    "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
                    "TELEGRAM_WEBHOOK_LISTEN": f"127.0.0.1:{listen}",
                }
                bot = BotProcess({**env, **extra}, workdir, workdir / f"bot-{i}.log")
                cluster.bots.append(bot)
                await bot.start()
                await _listening(bot, listen)
            yield cluster
        finally:
            for bot in cluster.bots:
                if bot.running:
                    await bot.terminate()
            await proxy.close()
            await redis.close()
            delete_prefix(redis_url, f"fmbot:{token.split(':')[0]}:")


def by_chat(body: bytes) -> int | None:
    """The update's chat id (as the proxy's key), or None: in turn."""
    update = json.loads(body)
    message = update.get("message") or (update.get("callback_query") or {}).get("message")
    return None if message is None else abs(int(message["chat"]["id"]))


async def _listening(bot: BotProcess, port: int, within: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        if not bot.running:
            raise RuntimeError(f"replica exited:\n{bot.log_tail()}")
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"replica did not listen within {within} s:\n{bot.log_tail()}")


def summed(times: Callable[[int], tuple[float, float]], pids: list[int]) -> tuple[float, float]:
    """(user, system) CPU seconds summed over processes."""
    each = [times(p) for p in pids]
    return sum(t[0] for t in each), sum(t[1] for t in each)


async def wait_webhooks(session: aiohttp.ClientSession, tg: str, n: int) -> None:
    """Until the fake Bot API saw `n` setWebhook calls (every replica registered)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        async with session.get(f"{tg}/_control/stats") as resp:
            stats: Any = await resp.json()
        if stats["calls"].get("setWebhook", 0) >= n:
            return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"{n} replicas did not set their webhook within 60 s")
