"""Two replicas' support desks (one database, one Redis, one Telegram) asked for the same
user's topic at the same moment make one topic, not two, and two replicas finishing the same
unfinished handoff (each does at start) post one card; without the shared lease (the control)
each makes its own. A relay pending on two replicas at once (one sends what it was given,
the other resends what was pending when it started) is copied once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

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


def replica_desk(
    tg: FakeTelegram, database: Database, coordinator: Coordinator | None
) -> tuple[SupportDesk, list[Callable[[], Awaitable[None]]]]:
    """One replica's desk on its own Bot and outbox, and what closes them."""
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(tg.url)))
    outbox = Outbox(bot)
    service = DeskService(database.sessionmaker, support_chat_id=SUPPORT, shared=True)
    options = DeskOptions(support_chat_id=SUPPORT, hours=SupportHours.parse(""))
    desk = SupportDesk(service, outbox, options, coordinator=coordinator)
    return desk, [outbox.aclose, bot.session.close]


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(TOKEN) as server:
        server.add_forum(SUPPORT)
        yield server


async def topics_made(
    tg: FakeTelegram,
    database: Database,
    coordinators: list[Coordinator | None],
    *,
    finish_handoff: bool = False,
) -> tuple[set[int | None], int]:
    desks, closers = [], []
    for coordinator in coordinators:
        desk, close = replica_desk(tg, database, coordinator)
        desks.append(desk)
        closers += close
    try:
        handoff = await desks[0].service.hand_over(
            Requester(21, "Anna", "en"), HandoffReason.USER_REQUEST
        )
        if finish_handoff:  # as `start` does on every replica
            for desk in desks:
                desk._prepare(handoff.case)
            await asyncio.gather(*(desk.wait_idle() for desk in desks))
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


def cards(tg: FakeTelegram) -> int:
    """The bot's messages in every topic of the support chat (only cards in these tests)."""
    return sum(
        1 for topic in tg.topics.get(SUPPORT, {}).values()
        for m in tg.topic_messages(SUPPORT, topic.thread_id) if m.from_bot
    )  # fmt: skip


async def test_one_card_when_two_replicas_finish_a_handoff(
    tg: FakeTelegram, sqlite_database: Database, redis_url: str, redis_prefix: str
) -> None:
    clients = [RedisCoordinator.from_url(redis_url, prefix=redis_prefix) for _ in range(2)]
    try:
        threads, made = await topics_made(
            tg, sqlite_database, list(clients), finish_handoff=True
        )
    finally:
        for client in clients:
            await client.aclose()
    assert (made, len(threads), cards(tg)) == (1, 1, 1)


async def test_without_the_lease_each_replica_posts_a_card(
    tg: FakeTelegram, sqlite_database: Database
) -> None:
    _, made = await topics_made(tg, sqlite_database, [None, None], finish_handoff=True)
    assert made == 2
    assert cards(tg) == 2


async def relay_copies(
    tg: FakeTelegram, database: Database, coordinators: list[Coordinator | None]
) -> int:
    desks, closers = [], []
    for coordinator in coordinators:
        desk, close = replica_desk(tg, database, coordinator)
        desk.relayer.retry_after = 0.2
        desks.append(desk)
        closers += close
    a, b = desks
    try:
        await a.service.hand_over(Requester(21, "Anna", "en"), HandoffReason.USER_REQUEST)
        thread = await a.thread_for(21)
        assert thread is not None
        tg.send_user_message(21, "my order is late")
        source = tg.chat(21).history[-1].message_id
        relay = await a.service.relay_from_user(21, 21, source)
        assert relay is not None
        a.relayer.submit(relay)  # the replica that got the message ...
        assert await b.relayer.resume() == 1  # ... and one starting meanwhile
        for _ in range(3):  # a relay put off for the other replica's lease comes back
            await asyncio.gather(a.wait_idle(), b.wait_idle())
            await asyncio.sleep(0.4)
    finally:
        for close in closers:
            await close()
    return sum(1 for m in tg.topic_messages(SUPPORT, thread) if m.from_bot)


async def test_a_relay_pending_on_two_replicas_is_copied_once(
    tg: FakeTelegram, sqlite_database: Database, redis_url: str, redis_prefix: str
) -> None:
    clients = [RedisCoordinator.from_url(redis_url, prefix=redis_prefix) for _ in range(2)]
    try:
        copies = await relay_copies(tg, sqlite_database, list(clients))
    finally:
        for client in clients:
            await client.aclose()
    assert copies == 1


async def test_without_the_lease_both_replicas_copy_it(
    tg: FakeTelegram, sqlite_database: Database
) -> None:
    assert await relay_copies(tg, sqlite_database, [None, None]) == 2
