"""Webhook replicas of one bot (`python -m bot run` on PostgreSQL and Redis) behind a
round-robin proxy, with the fake Bot API and Foundation Models servers, started and ready."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.processes import FM_API_KEY, FM_FOLDER, BotProcess, webhook_replicas
from tests.e2e.rrproxy import RoundRobinProxy
from tests.fakes.telegram.server import TelegramServer
from tests.fakes.yandex.server import FakeFoundationModels
from tests.ports import free_port
from tests.redis_server import delete_prefix


@dataclass
class Replicas:
    tg: TelegramServer
    fm: FakeFoundationModels
    bots: dict[str, BotProcess]
    proxy: RoundRobinProxy


@asynccontextmanager
async def webhook_cluster(
    names: Sequence[str],
    workdir: Path,
    *,
    database_url: str,
    redis_url: str,
    label: str,
    extra: dict[str, str] | None = None,
    ready_within: float = 180.0,  # liveness, generous on a busy machine
    webhook_parallel: bool = False,
) -> AsyncIterator[Replicas]:
    """The replicas `names`, each listening once this enters; killed if still running after,
    and their Redis keys deleted. A bot id of its own: the keys ("fmbot:<bot id>:...") and the
    channel are this test's."""
    bot_id = random.randrange(10**9, 2 * 10**9)
    token = f"{bot_id}:{label}"
    ports = {name: free_port() for name in names}
    proxy = await RoundRobinProxy([f"http://127.0.0.1:{p}" for p in ports.values()]).start()
    try:
        async with TelegramServer(token) as tg, FakeFoundationModels(
            api_key=FM_API_KEY, folder_id=FM_FOLDER
        ) as fm:
            # As Telegram does with max_connections > 1: each chat's next update is posted
            # (and, refused, posted again) beside the other chats', one chat's in order.
            tg.updates.parallel = webhook_parallel
            bots = webhook_replicas(
                ports, workdir, webhook_url=f"{proxy.url}/webhook", telegram_url=tg.url,
                fm_url=fm.url, database_url=database_url, redis_url=redis_url, token=token,
                extra=extra,
            )
            try:
                for bot in bots.values():
                    await bot.start()
                await tg.wait_for(lambda: all(
                    any("webhook listening" in str(r.get("message")) for r in b.log_records())
                    for b in bots.values()), ready_within)
                yield Replicas(tg, fm, bots, proxy)
            finally:
                for bot in bots.values():
                    if bot.running:
                        await bot.kill()
    finally:
        await proxy.close()
        delete_prefix(redis_url, f"fmbot:{bot_id}:")
