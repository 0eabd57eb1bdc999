"""Redis or PostgreSQL unreachable for 10 s under a `python -m bot run` replica (webhook mode,
PostgreSQL and Redis each reached through a loopback proxy we cut): users get no error text,
the log says what is wrong, /readyz answers 503 with the reason, and once the server is back
every message sent during the outage is answered, exactly once, with no help from outside.

The replica is the bot `run` builds, in the test's process (tests/e2e/inprocess.py: its
environment, its webhook and metrics servers on loopback): the outage is the wire's, cut at
the proxies, and nothing of it needs a process of its own. A replica killed and replaced is
test_replicas_*.py's and test_db_failover.py's."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy.engine import make_url

from bot.testing.telegram.state import Call
from tests.coordination.proxy import TcpProxy
from tests.e2e.inprocess import BotInProcess
from tests.e2e.processes import FM_API_KEY, FM_FOLDER, BotProcess, bot_env
from tests.fakes.telegram.server import TelegramServer
from tests.fakes.yandex.server import FakeFoundationModels
from tests.ports import free_port
from tests.redis_server import delete_prefix

pytestmark = [pytest.mark.timeout(180), pytest.mark.xdist_group("outage")]

OUTAGE = 10.0
SECRET = "outage-webhook-secret"


@dataclass
class World:
    tg: TelegramServer
    bot: BotProcess
    metrics: str
    proxies: dict[str, TcpProxy]  # "redis", "database"
    fm: FakeFoundationModels

    async def readyz(self) -> tuple[int, str]:
        async with aiohttp.ClientSession() as http, http.get(self.metrics + "/readyz") as r:
            return r.status, await r.text()

    async def readyz_until(self, status: int, within: float) -> str:
        deadline = time.monotonic() + within
        while True:
            got, body = await self.readyz()
            if got == status:
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"/readyz still {got}: {body}\n{self.bot.log_tail(30)}")
            await asyncio.sleep(0.5)

    def answers(self, chat_id: int) -> list[str]:
        chat = self.tg.chats.get(chat_id)
        return [] if chat is None else [m.text or "" for m in chat.bot_messages]

    async def wait_for(self, predicate: object, timeout: float) -> None:  # noqa: ASYNC109
        def check() -> object:
            if not self.bot.running:
                raise AssertionError(f"the bot exited: {self.bot.log_tail(40)}")
            return predicate()  # type: ignore[operator]

        try:
            await self.tg.wait_for(check, timeout)
        except TimeoutError:
            raise AssertionError(f"timed out\n{self.bot.log_tail(40)}") from None


def through(proxy: TcpProxy, url: str) -> str:
    return make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(
        hide_password=False
    )


@pytest.fixture
async def world(tmp_path: Path, postgres_url: str, redis_url: str) -> AsyncIterator[World]:
    bot_id = random.randrange(10**9, 2 * 10**9)  # the Redis keys are this test's
    token = f"{bot_id}:E2E-outage"
    pg, rd = make_url(postgres_url), make_url(redis_url)
    proxies = {
        "database": TcpProxy(pg.host or "127.0.0.1", pg.port or 5432),
        "redis": TcpProxy(rd.host or "127.0.0.1", rd.port or 6379),
    }
    for proxy in proxies.values():
        await proxy.start()
    metrics_port, hook_port = free_port(), free_port()
    async with TelegramServer(token) as tg, FakeFoundationModels(
        api_key=FM_API_KEY, folder_id=FM_FOLDER
    ) as fm:
        env = bot_env(
            telegram_url=tg.url, fm_url=fm.url, token=token,
            database_url=through(proxies["database"], postgres_url),
            extra={
                "REDIS_URL": through(proxies["redis"], redis_url),
                "REPLICA_ID": "outage",
                "METRICS_LISTEN": f"127.0.0.1:{metrics_port}",
                "TELEGRAM_MODE": "webhook",
                "TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{hook_port}/webhook",
                "TELEGRAM_WEBHOOK_SECRET": SECRET,
                "TELEGRAM_WEBHOOK_LISTEN": f"127.0.0.1:{hook_port}",
            },
        )
        bot = BotInProcess(env, tmp_path, tmp_path / "bot.log")
        w = World(tg, bot, f"http://127.0.0.1:{metrics_port}", proxies, fm)
        try:
            await bot.start()
            await w.wait_for(lambda: tg.updates.webhook is not None, 60)
            await w.readyz_until(200, 30)
            yield w
        finally:
            if bot.running:
                await bot.terminate()
            for proxy in proxies.values():
                await proxy.stop()
            delete_prefix(redis_url, f"fmbot:{bot_id}:")


async def outage(w: World, server: str, reason: str) -> None:
    w.tg.send_user_message(1, "before")
    await w.wait_for(lambda: w.answers(1), 30)
    # Let its bookkeeping (message ids, the update settled) finish: cut in the middle of it,
    # the answer is delivered but not recorded as such (see docs/replicas.md).
    await asyncio.sleep(1.0)
    await w.proxies[server].stop()
    cut = time.monotonic()
    for user in (2, 3, 4):
        w.tg.send_user_message(user, f"during {user}")
        await asyncio.sleep(1.0)
    body = await w.readyz_until(503, OUTAGE - (time.monotonic() - cut))
    assert body.startswith(f"{reason}: "), body
    await asyncio.sleep(max(0.0, OUTAGE - (time.monotonic() - cut)))
    await w.proxies[server].start()
    back = time.monotonic()
    await w.wait_for(lambda: all(w.answers(u) for u in (2, 3, 4)), 40)
    recovered = time.monotonic() - back
    await w.readyz_until(200, 15)
    w.tg.send_user_message(5, "after")
    await w.wait_for(lambda: w.answers(5), 30)
    await asyncio.sleep(1.0)  # a repeated answer would come now
    assert w.answers(1) == ["Echo: before"]
    for user in (2, 3, 4):
        assert w.answers(user) == [f"Echo: during {user}"], (user, w.answers(user))
    assert w.answers(5) == ["Echo: after"]
    print(f"{server}: answers to messages of the outage within {recovered:.1f} s of its end")


async def test_redis_outage(world: World) -> None:
    await outage(world, "redis", "redis")

    def messages() -> list[str]:
        return [r.get("message", "") for r in world.bot.log_records()]

    assert any("Redis unreachable" in m for m in messages())
    # In webhook mode a chat's turns run under its lease in Redis (bot/telegram/chatleases.py):
    # the outage's messages stay in the durable queue, the log says so, and the sweep answers
    # them once Redis is back (`outage` checks each is answered once).
    assert any("left queued: Redis unreachable" in m for m in messages())
    # An outbound budget that fell back to this replica's share meanwhile (said once) is
    # shared again once its probe (every 2 s) finds Redis.
    fell_back = [m for m in messages() if "falls back to this replica's share" in m]
    assert len(fell_back) <= 1
    if fell_back:
        await world.wait_for(lambda: any("budget shared again" in m for m in messages()), 10)


async def test_database_outage(world: World) -> None:
    await outage(world, "database", "database")
    messages = [r.get("message", "") for r in world.bot.log_records()]
    assert any(m.startswith("not ready: database: ") for m in messages)
    assert any("Telegram will deliver it again" in m for m in messages)



async def test_database_lost_right_after_telegram_took_an_answer(world: World) -> None:
    """PostgreSQL goes away between Telegram accepting an answer and the bot noting it was
    delivered: the note waits for the database, so the answer is not sent a second time."""
    w = world

    async def cut_after_the_answer(call: Call) -> None:
        if call.method == "sendMessage" and call.chat_id == 7:
            w.tg.before_reply = None
            await w.proxies["database"].stop()

    w.tg.before_reply = cut_after_the_answer
    w.tg.send_user_message(7, "just before")
    await w.wait_for(lambda: w.answers(7), 30)
    await asyncio.sleep(OUTAGE)
    await w.proxies["database"].start()
    await w.readyz_until(200, 15)
    # The sweep would find the answer not noted as delivered 2 s after the database is
    # back (and answer it again at once): give it three times that.
    await asyncio.sleep(6.0)
    assert w.answers(7) == ["Echo: just before"], w.bot.log_tail(30)
    messages = [r.get("message", "") for r in w.bot.log_records()]
    assert any("waiting for the database" in m for m in messages), w.bot.log_tail(30)


async def test_redis_lost_while_an_answer_streams(world: World) -> None:
    """The chat's lease cannot be renewed while its answer streams: the answer is
    relinquished (nothing more sent, nothing marked stopped), and once Redis is back the
    chat is taken over: the partial message is removed and the question answered, once."""
    w = world
    group = -100500
    w.fm.queue_reply("Once upon a time a keeper kept a light. " * 10, chunks=40, interval=0.5)
    w.tg.send_user_message(
        group, "@fm_test_bot tell us a long story", chat_type="supergroup", title="Keepers",
        user={"id": 77, "first_name": "Ann"},
    )
    await w.wait_for(lambda: w.answers(group), 30)
    await asyncio.sleep(1.0)  # the partial message's id is stored right after it shows
    await w.proxies["redis"].stop()
    await asyncio.sleep(OUTAGE)
    assert not any(a.endswith("[stopped]") for a in w.answers(group)), w.answers(group)
    await w.proxies["redis"].start()
    expected = ["Echo: Ann: tell us a long story"]
    await w.wait_for(lambda: w.answers(group) == expected, 30)
    await asyncio.sleep(1.5)  # a repeated answer would come now
    assert w.answers(group) == expected
    messages = [r.get("message", "") for r in w.bot.log_records()]
    assert any("lease lost" in m for m in messages)
    assert any("cut short by a replica" in m for m in messages)
