"""`poll_when_leading` in-process: the real TelegramApp polling the fake Bot API over loopback,
the poller's lease on the real Redis (short ttl), signals sent to this very process."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import redis
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy import select

from bot.conversation import ConversationService, TurnOptions
from bot.coordination import Leadership
from bot.coordination.redisstore import RedisCoordinator
from bot.features.images.service import ImageService
from bot.features.images.telegram import images_on_telegram
from bot.metrics import registry as metrics
from bot.storage.database import Database
from bot.storage.models import Message, MessageRole, MessageStatus
from bot.storage.repositories import UpdateRepository
from bot.telegram.app import TelegramApp
from bot.telegram.deps import BotOptions
from bot.telegram.leader import poll_when_leading
from bot.telegram.outbox import Outbox, Pacing
from bot.wiring.telegram import build_telegram
from tests.conversation.conftest import API_KEY, FAST_POLL, FOLDER, fake_client
from tests.fakes.telegram.server import TelegramServer
from tests.fakes.yandex.server import FakeFoundationModels

pytestmark = pytest.mark.timeout(60)

TOKEN = "42:TEST"
# Renewed every second, given up after 2 s without a renewal: a test worker's loop starved
# for more than 0.6 s (a busy machine) lost the lease of 0.9 s the tests did not take away.
TTL = 3.0


@dataclass
class World:
    tg: TelegramServer
    fm: FakeFoundationModels
    app: TelegramApp
    leading: asyncio.Task[None]
    lease_key: str
    redis: redis.Redis

    def answers(self, chat_id: int) -> list[str]:
        chat = self.tg.chats.get(chat_id)
        return [] if chat is None else [m.text or "" for m in chat.bot_messages]

    def polls(self) -> int:
        return sum(1 for c in self.tg.calls if c.method == "getUpdates")

    async def wait_for(self, predicate: object, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        def check() -> object:
            assert not self.leading.done(), self.leading
            return predicate()  # type: ignore[operator]

        await self.tg.wait_for(check, timeout)


@pytest.fixture
async def world(
    sqlite_database: Database, redis_url: str, redis_prefix: str
) -> AsyncIterator[World]:
    async with (
        TelegramServer(TOKEN) as tg,
        FakeFoundationModels(api_key=API_KEY, folder_id=FOLDER) as fm,
    ):
        client = fake_client(fm.url)
        bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(tg.url)))
        db = sqlite_database
        app = build_telegram(
            bot=bot, sessionmaker=db.sessionmaker,
            conversation=ConversationService(
                sessionmaker=db.sessionmaker, model=client, options=TurnOptions(
                    default_model="yandexgpt-lite", default_system_prompt="Help.",
                    reply_reserve=2000, max_reply_tokens=500, temperature=0.3,
                    track_delivery=True,  # as bot/wiring/run.py has it with Redis
                ),
            ),
            features=[lambda front: images_on_telegram(front, ImageService(
                sessionmaker=db.sessionmaker, model=client, image_model="yandex-art/latest",
                policy=FAST_POLL,
            ))],
            options=BotOptions(text_models=("yandexgpt-lite",), default_system_prompt="Help.",
                               shutdown_grace=1.0, shutdown_settle=1.0),
            outbox=Outbox(bot, Pacing(private_interval=0.05, group_interval=0.1)),
        )
        coordinator = RedisCoordinator.from_url(redis_url, prefix=redis_prefix)
        leadership = Leadership(coordinator, "replica-t", ttl=TTL, poll=0.05)
        leading = asyncio.create_task(poll_when_leading(app, leadership, polling_timeout=1))
        store = redis.Redis.from_url(redis_url)
        try:
            yield World(tg, fm, app, leading, f"{redis_prefix}lease:poller", store)
        finally:
            if not leading.done():
                os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.wait_for(asyncio.shield(leading), 15)
            store.close()
            await coordinator.aclose()
            await client.aclose()


def gauge() -> float | None:
    return metrics.REGISTRY.get_sample_value("fmbot_poller_leader")


@pytest.mark.slow
async def test_lease_lost_stands_by_in_process_and_leads_again(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    w = world
    caplog.set_level(logging.INFO)
    await w.wait_for(lambda: w.polls() > 0)
    w.tg.send_user_message(1, "first")
    await w.wait_for(lambda: w.answers(1))
    assert gauge() == 1

    # Another owner holds the lease now: polling stops at once, the process stands by.
    w.redis.set(w.lease_key, "999:other", px=60_000)
    await w.wait_for(lambda: "lease lost: stopped polling, standing by" in caplog.text, 5)
    assert gauge() == 0
    polls = w.polls()
    w.tg.send_user_message(2, "while standing by")
    await asyncio.sleep(1.5)  # longer than a long poll: a poller still running would ask
    assert w.polls() == polls
    assert w.answers(2) == []

    # The lease free again, the same app leads, polls and answers, once.
    w.redis.delete(w.lease_key)
    await w.wait_for(lambda: w.answers(2), 10)
    assert gauge() == 1
    assert caplog.text.count("leads (poller lease") == 2
    await asyncio.sleep(0.5)
    assert w.answers(1) == ["Echo: first"]
    assert w.answers(2) == ["Echo: while standing by"]

    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(asyncio.shield(w.leading), 10)
    assert "shutdown complete" in caplog.text  # as a single process after SIGTERM


@pytest.mark.parametrize("pause", [0.0, 1 / 3, 2 / 3, 1.0, 4 / 3])
@pytest.mark.slow
async def test_a_signal_around_a_lost_lease_ends_the_process_cleanly(
    world: World, caplog: pytest.LogCaptureFixture, pause: float
) -> None:
    """SIGTERM `pause` TTLs after the lease is taken (renewals come every third of one):
    while polling, while stopping, standing down or standing by again, `poll_when_leading`
    returns, the app shut down."""
    w = world
    caplog.set_level(logging.INFO)
    await w.wait_for(lambda: w.polls() > 0)
    w.redis.set(w.lease_key, "999:other", px=60_000)
    await asyncio.sleep(pause * TTL)
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(asyncio.shield(w.leading), 10)
    assert w.leading.exception() is None
    assert gauge() == 0
    assert "shutdown complete" in caplog.text


@pytest.mark.slow
async def test_a_lease_lost_during_the_shutdown_relinquishes_the_answers_at_once(
    world: World, sqlite_database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """SIGTERM lets answers finish for `shutdown_grace`, the lease still held; lost meanwhile
    (another replica may resume those answers now), they are relinquished at once: nothing
    more is sent, the answer is left `streaming` for the next poller to answer again, and the
    message queued behind it is left in the durable queue, unanswered here."""
    w = world
    caplog.set_level(logging.INFO)
    w.app.shutdown_grace = 6.0
    w.fm.queue_reply("A lighthouse keeper trimmed the wick every evening. " * 4, chunks=20,
                     interval=0.4)
    await w.wait_for(lambda: w.polls() > 0)
    w.tg.send_user_message(1, "tell me a story")
    await w.wait_for(lambda: w.tg.chat(1).drafts, 10)
    w.tg.send_user_message(1, "and then?")
    await asyncio.sleep(0.5)  # taken, queued behind the answer
    os.kill(os.getpid(), signal.SIGTERM)
    await w.wait_for(lambda: "stop asked for: stopping polling" in caplog.text, 5)
    w.redis.set(w.lease_key, "999:other", px=60_000)
    drafts_when_lost = len(w.tg.chat(1).drafts)
    await asyncio.wait_for(asyncio.shield(w.leading), 10)
    # Let run on for the grace (6 s of a 20-chunk answer, a draft a second), it would have
    # sent several drafts more; relinquished, at most the one already on its way.
    assert len(w.tg.chat(1).drafts) <= drafts_when_lost + 1, "the answer was let run on"
    assert "the poller's lease is lost during the shutdown" in caplog.text
    assert w.answers(1) == []  # no final message: drafts only
    async with sqlite_database.session() as session:
        statuses = (await session.scalars(
            select(Message.status).where(Message.role == MessageRole.ASSISTANT)
        )).all()
        queued = await UpdateRepository(session, w.app.bot.id).pending()
    assert statuses == [MessageStatus.STREAMING]
    assert [row.update_id for row in queued] != []
