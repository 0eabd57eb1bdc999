"""Two replicas' support desks (one database, one Redis, one Telegram) asked for the same
user's topic at the same moment make one topic, not two, and two replicas finishing the same
unfinished handoff (each does at start) post one card; without the shared lease (the control)
each makes its own. A relay pending on two replicas at once (one sends what it was given,
the other resends what was pending when it started) is copied once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy.engine import make_url

from bot.coordination import Coordinator
from bot.coordination.redisstore import RedisCoordinator
from bot.features.desk.domain import DeskService, RelayView, Requester, SupportHours
from bot.features.desk.storage.models import HandoffReason
from bot.features.desk.telegram import DeskOptions, SupportDesk
from bot.storage.database import Database
from bot.telegram.outbox import Outbox
from bot.testing.telegram.state import Call
from tests.coordination.proxy import TcpProxy
from tests.fakes.telegram.server import TelegramServer

SUPPORT = -1009876543211
TOKEN = "43:TEST"


def replica_desk(
    tg: TelegramServer, database: Database, coordinator: Coordinator | None
) -> tuple[SupportDesk, list[Callable[[], Awaitable[None]]]]:
    """One replica's desk on its own Bot and outbox, and what closes them."""
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(tg.url)))
    outbox = Outbox(bot)
    service = DeskService(database.sessionmaker, support_chat_id=SUPPORT, shared=True)
    options = DeskOptions(support_chat_id=SUPPORT, hours=SupportHours.parse(""))
    desk = SupportDesk(service, outbox, options, coordinator=coordinator)
    return desk, [outbox.aclose, bot.session.close]


@asynccontextmanager
async def replica_desks(
    tg: TelegramServer, database: Database, coordinators: Sequence[Coordinator | None]
) -> AsyncIterator[list[SupportDesk]]:
    """A desk per coordinator (one replica each), closed after."""
    desks, closers = [], []
    for coordinator in coordinators:
        desk, close = replica_desk(tg, database, coordinator)
        desks.append(desk)
        closers += close
    try:
        yield desks
    finally:
        for close in closers:
            await close()


async def relay_pending(tg: TelegramServer, desk: SupportDesk) -> tuple[int, RelayView]:
    """Anna handed over through `desk`, her topic made, and her message recorded for it
    (pending); her topic's thread and the relay."""
    await desk.service.hand_over(Requester(21, "Anna", "en"), HandoffReason.USER_REQUEST)
    thread = await desk.forum.thread_for(21)
    assert thread is not None
    tg.send_user_message(21, "my order is late")
    source = tg.chat(21).history[-1].message_id
    relay = await desk.service.relays.relay_from_user(21, 21, source)
    assert relay is not None
    return thread, relay


@pytest.fixture
async def tg() -> AsyncIterator[TelegramServer]:
    async with TelegramServer(TOKEN) as server:
        server.add_forum(SUPPORT)
        yield server


async def topics_made(
    tg: TelegramServer,
    database: Database,
    coordinators: list[Coordinator | None],
    *,
    finish_handoff: bool = False,
) -> tuple[set[int | None], int]:
    async with replica_desks(tg, database, coordinators) as desks:
        handoff = await desks[0].service.hand_over(
            Requester(21, "Anna", "en"), HandoffReason.USER_REQUEST
        )
        if finish_handoff:  # as `start` does on every replica
            for desk in desks:
                desk.forum.prepare(handoff.case)
            await asyncio.gather(*(desk.wait_idle() for desk in desks))
        threads = await asyncio.gather(*(desk.forum.thread_for(21) for desk in desks))
    made = [t for t in tg.topics.get(SUPPORT, {}).values() if not t.deleted]
    return set(threads), len(made)


@pytest.mark.slow
async def test_one_topic_across_replicas(
    tg: TelegramServer, sqlite_database: Database, redis_url: str, redis_prefix: str
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


@pytest.mark.slow
async def test_without_the_lease_each_replica_makes_one(
    tg: TelegramServer, sqlite_database: Database
) -> None:
    threads, made = await topics_made(tg, sqlite_database, [None, None])
    assert made == 2
    assert len(threads) == 2


def cards(tg: TelegramServer) -> int:
    """The bot's messages in every topic of the support chat (only cards in these tests)."""
    return sum(
        1 for topic in tg.topics.get(SUPPORT, {}).values()
        for m in tg.topic_messages(SUPPORT, topic.thread_id) if m.from_bot
    )


@pytest.mark.slow
async def test_one_card_when_two_replicas_finish_a_handoff(
    tg: TelegramServer, sqlite_database: Database, redis_url: str, redis_prefix: str
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


@pytest.mark.slow
async def test_without_the_lease_each_replica_posts_a_card(
    tg: TelegramServer, sqlite_database: Database
) -> None:
    _, made = await topics_made(tg, sqlite_database, [None, None], finish_handoff=True)
    assert made == 2
    assert cards(tg) == 2


async def relay_copies(
    tg: TelegramServer, database: Database, coordinators: list[Coordinator | None]
) -> int:
    async with replica_desks(tg, database, coordinators) as (a, b):
        a.relayer.retry_after = b.relayer.retry_after = 0.2
        thread, relay = await relay_pending(tg, a)
        a.relayer.submit(relay)  # the replica that got the message ...
        assert await b.relayer.resume() == 1  # ... and one starting meanwhile
        for _ in range(3):  # a relay put off for the other replica's lease comes back
            await asyncio.gather(a.wait_idle(), b.wait_idle())
            await asyncio.sleep(0.4)
    return sum(1 for m in tg.topic_messages(SUPPORT, thread) if m.from_bot)


@pytest.mark.slow
async def test_a_relay_pending_on_two_replicas_is_copied_once(
    tg: TelegramServer, sqlite_database: Database, redis_url: str, redis_prefix: str
) -> None:
    clients = [RedisCoordinator.from_url(redis_url, prefix=redis_prefix) for _ in range(2)]
    try:
        copies = await relay_copies(tg, sqlite_database, list(clients))
    finally:
        for client in clients:
            await client.aclose()
    assert copies == 1


@pytest.mark.slow
async def test_without_the_lease_both_replicas_copy_it(
    tg: TelegramServer, sqlite_database: Database
) -> None:
    assert await relay_copies(tg, sqlite_database, [None, None]) == 2


@pytest.mark.slow
async def test_a_message_reaching_another_replica_goes_into_the_topic_after_the_card(
    tg: TelegramServer, sqlite_database: Database, redis_url: str, redis_prefix: str
) -> None:
    """A returning user's topic exists from an earlier conversation. Their new handoff's card
    is being posted by one replica when their next message reaches another: the operator
    reads the card first, then the message."""
    clients = [RedisCoordinator.from_url(redis_url, prefix=redis_prefix) for _ in range(2)]
    try:
        async with replica_desks(tg, sqlite_database, clients) as (a, b):
            await card_and_message_at_once(tg, a, b)
    finally:
        for client in clients:
            await client.aclose()
    [thread] = [t.thread_id for t in tg.topics[SUPPORT].values()]
    texts = [m.text or "" for m in tg.topic_messages(SUPPORT, thread)]
    assert texts[-1] == "my order is late", texts
    assert "Anna" in texts[-2], texts  # the new card, just before


async def card_and_message_at_once(tg: TelegramServer, a: SupportDesk, b: SupportDesk) -> None:
    """Anna's earlier conversation left a closed topic; her new handoff's card goes out
    through `a` (reopening the topic, slowly) while `b` relays her next message."""
    anna = Requester(21, "Anna", "en")
    earlier = await a.service.hand_over(anna, HandoffReason.USER_REQUEST)
    assert await a.forum.thread_for(21) is not None
    ended = await a.service.closing.close(earlier.case.id, ask_rating=False)
    assert ended is not None
    await a.forum.close_topic(ended)

    async def slowly(call: Call) -> None:
        if call.method == "reopenForumTopic":
            await asyncio.sleep(0.5)

    tg.before_reply = slowly
    handoff = await a.service.hand_over(anna, HandoffReason.USER_REQUEST)
    assert handoff.started
    tg.send_user_message(21, "my order is late")
    source = tg.chat(21).history[-1].message_id
    relay = await b.service.relays.relay_from_user(21, 21, source)
    assert relay is not None
    a.forum.prepare(handoff.case)  # a posts the card ...
    b.relayer.submit(relay)  # ... while b relays the message
    await asyncio.gather(a.wait_idle(), b.wait_idle())


@pytest.mark.slow
async def test_a_relay_pending_on_two_replicas_while_redis_is_away_is_copied_once_after(
    tg: TelegramServer, sqlite_database: Database, redis_url: str, redis_prefix: str
) -> None:
    """Without Redis no replica can know whether another is copying a user's relays: they
    wait (pending in the database), and once Redis answers one replica copies them."""
    url = make_url(redis_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 6379)
    await proxy.start()
    through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    clients = [RedisCoordinator.from_url(through, prefix=redis_prefix) for _ in range(2)]

    def copies() -> int:
        return sum(1 for m in tg.topic_messages(SUPPORT, thread) if m.text == "my order is late")

    try:
        async with replica_desks(tg, sqlite_database, clients) as (a, b):
            a.relayer.retry_unreachable = b.relayer.retry_unreachable = 0.2
            thread, relay = await relay_pending(tg, a)
            await proxy.stop()
            a.relayer.submit(relay)  # the replica that got the message ...
            assert await b.relayer.resume() == 1  # ... and one starting meanwhile
            await asyncio.sleep(1.0)
            assert copies() == 0  # waiting for Redis
            await proxy.start()
            for _ in range(20):
                await asyncio.sleep(0.2)
                await asyncio.gather(a.wait_idle(), b.wait_idle())
    finally:
        for client in clients:
            await client.aclose()
        await proxy.stop()
    assert copies() == 1
