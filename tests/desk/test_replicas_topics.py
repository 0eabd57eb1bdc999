"""Two replicas' support desks (one database, one Redis, one Telegram) asked for the same
user's topic at the same moment make one topic, not two; without the shared lease (the
control) both make one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.coordination import Coordinator
from bot.coordination.redisstore import RedisCoordinator
from bot.desk import DeskService, Requester, SupportHours
from bot.storage.database import Database
from bot.storage.models import HandoffReason
from bot.telegram.desk import DeskOptions, SupportDesk
from bot.telegram.outbox import Outbox
from tests.fakes.telegram_server import FakeTelegram

SUPPORT = -1009876543211
TOKEN = "43:TEST"


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(TOKEN) as server:
        server.add_forum(SUPPORT)
        yield server


async def topics_made(
    tg: FakeTelegram, database: Database, coordinators: list[Coordinator | None]
) -> tuple[set[int | None], int]:
    desks, closers = [], []
    for coordinator in coordinators:
        bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(tg.url)))
        outbox = Outbox(bot)
        service = DeskService(database.sessionmaker, support_chat_id=SUPPORT, shared=True)
        options = DeskOptions(support_chat_id=SUPPORT, hours=SupportHours.parse(""))
        desks.append(SupportDesk(service, outbox, options, coordinator=coordinator))
        closers += [outbox.aclose, bot.session.close]
    try:
        await desks[0].service.hand_over(Requester(21, "Anna", "en"), HandoffReason.USER_REQUEST)
        threads = await asyncio.gather(*(desk.thread_for(21) for desk in desks))
    finally:
        for close in closers:
            await close()
    made = [t for t in tg.topics.get(SUPPORT, {}).values() if not t.deleted]
    return set(threads), len(made)


async def test_one_topic_across_replicas(
    tg: FakeTelegram, sqlite_database: Database, redis_url: str, redis_prefix: str
) -> None:
    clients = [RedisCoordinator.from_url(redis_url, prefix=redis_prefix) for _ in range(2)]
    try:
        threads, made = await topics_made(tg, sqlite_database, list(clients))
    finally:
        for client in clients:
            await client.aclose()
    assert made == 1
    assert len(threads) == 1
    assert None not in threads


async def test_without_the_lease_each_replica_makes_one(
    tg: FakeTelegram, sqlite_database: Database
) -> None:
    threads, made = await topics_made(tg, sqlite_database, [None, None])
    assert made == 2
    assert len(threads) == 2
