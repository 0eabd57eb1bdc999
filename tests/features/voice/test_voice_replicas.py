"""Pending voice replies with several replicas (one database, one Redis, one Telegram): a reply
left by a dead replica is finished by exactly one live replica, one whose replica still holds
its lease is left alone, and without the lease (the control) each replica speaks it."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.coordination import Coordinator
from bot.coordination.redisstore import RedisCoordinator
from bot.features.voice.models import (
    VoiceReply,
    VoiceReplyStatus,
)
from bot.features.voice.policy import VoiceConfig, VoiceMode, VoicePolicy
from bot.features.voice.replies import VoiceReplies
from bot.features.voice.repository import VoiceRepository
from bot.foundation_models.auth import ApiKeyAuth
from bot.foundation_models.speech_synthesis import SpeechSynthesizer
from bot.storage.database import Database
from bot.storage.models import (
    Chat,
    Conversation,
    Message,
    MessageRole,
    MessageStatus,
)
from bot.telegram.outbox import Outbox
from bot.testing.telegram.state import Call, ChatMessage
from tests.fakes.telegram.server import TelegramServer
from tests.fakes.yandex.server import FakeFoundationModels

TOKEN = "44:TEST"
USER = 4401
API_KEY = "test-api-key"
FOLDER = "b1gtestfolder"


@pytest.fixture
async def tg() -> AsyncIterator[TelegramServer]:
    async with TelegramServer(TOKEN) as server:
        yield server


@pytest.fixture
async def fm() -> AsyncIterator[FakeFoundationModels]:
    async with FakeFoundationModels(api_key=API_KEY, folder_id=FOLDER) as server:
        yield server


def voices(tg: TelegramServer) -> list[ChatMessage]:
    chat = tg.chats.get(USER)
    return [] if chat is None else [m for m in chat.bot_messages if m.voice is not None]


async def pending_reply(tg: TelegramServer, database: Database) -> int:
    """An answer whose text went out and whose voice reply a replica stored a minute ago,
    then died (no voice message out, no lease held)."""
    question = tg.send_user_message(USER, "what is the plan")
    async with database.sessionmaker() as session:
        session.add(Chat(id=USER, type="private"))
        conversation = Conversation(chat_id=USER)
        session.add(conversation)
        await session.flush()
        answer = Message(conversation_id=conversation.id, role=MessageRole.ASSISTANT,
                         status=MessageStatus.COMPLETE, text="The plan is simple.")
        session.add(answer)
        await session.flush()
        row = await VoiceRepository(session).create_reply(
            answer_id=answer.id, chat_id=USER, user_id=USER, reply_to=question,
            thread_id=None, language="en-US",
        )
        assert row is not None
        row.created_at = row.created_at - dt.timedelta(minutes=1)
        await session.commit()
        return row.id


@asynccontextmanager
async def replicas(
    tg: TelegramServer, fm: FakeFoundationModels, database: Database,
    coordinators: Sequence[Coordinator | None],
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> AsyncIterator[list[VoiceReplies]]:
    """A VoiceReplies per coordinator (one replica each, its own Bot and outbox)."""
    made, closers = [], []
    config = VoiceConfig(policy=VoicePolicy(VoiceMode.MIRROR), voice="john")
    for index, coordinator in enumerate(coordinators):
        bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(tg.url)))
        outbox = Outbox(bot)
        synthesizer = SpeechSynthesizer(base_url=fm.url + "/", auth=ApiKeyAuth(API_KEY),
                                        folder_id=FOLDER)
        voice = VoiceReplies(synthesizer=synthesizer, sessionmaker=database.sessionmaker,
                             outbox=outbox, config=config, coordinator=coordinator,
                             owner=f"replica-{index}", sleep=sleep)
        made.append(voice)
        closers += [voice.leases.aclose, synthesizer.aclose, outbox.aclose, bot.session.close]
    try:
        yield made
    finally:
        for close in closers:
            await close()


async def status_of(database: Database, reply_id: int) -> VoiceReplyStatus:
    async with database.sessionmaker() as session:
        row = await session.get(VoiceReply, reply_id)
        assert row is not None
        return row.status


@asynccontextmanager
async def coordinators(url: str, prefix: str, count: int) -> AsyncIterator[list[Coordinator]]:
    clients = [RedisCoordinator.from_url(url, prefix=prefix) for _ in range(count)]
    try:
        yield list(clients)
    finally:
        for client in clients:
            await client.aclose()


@pytest.mark.slow
async def test_a_dead_replicas_pending_voice_reply_is_spoken_once_by_a_live_one(
    tg: TelegramServer, fm: FakeFoundationModels, sqlite_database: Database,
    redis_url: str, redis_prefix: str,
) -> None:
    reply_id = await pending_reply(tg, sqlite_database)
    async with (
        coordinators(redis_url, redis_prefix, 2) as clients,
        replicas(tg, fm, sqlite_database, clients) as both,
    ):
        # Both start (or sweep) at the same moment, as live replicas do.
        await asyncio.gather(*(voice.resume() for voice in both))
        await asyncio.gather(*(voice.leases.wait_idle() for voice in both))
        await asyncio.gather(*(voice.leases.sweep() for voice in both))  # later: none
        await asyncio.gather(*(voice.leases.wait_idle() for voice in both))
    assert len(voices(tg)) == 1
    assert len(fm.tts_requests) == 1, "synthesised once"
    assert await status_of(sqlite_database, reply_id) == VoiceReplyStatus.SENT


async def test_a_reply_whose_replica_is_alive_is_left_to_it(
    tg: TelegramServer, fm: FakeFoundationModels, sqlite_database: Database,
    redis_url: str, redis_prefix: str,
) -> None:
    reply_id = await pending_reply(tg, sqlite_database)
    async with (
        coordinators(redis_url, redis_prefix, 2) as clients,
        replicas(tg, fm, sqlite_database, clients[1:]) as [live],
    ):
        lease = await clients[0].acquire_lease(f"voice:{reply_id}", "replica-alive", 30)
        assert lease is not None
        await live.leases.sweep()
        await live.leases.wait_idle()
        assert voices(tg) == []
        assert await status_of(sqlite_database, reply_id) == VoiceReplyStatus.PENDING
        await clients[0].release_lease(lease)  # its replica died: the lease is free
        await live.leases.sweep()
        await live.leases.wait_idle()
    assert len(voices(tg)) == 1
    assert await status_of(sqlite_database, reply_id) == VoiceReplyStatus.SENT


@pytest.mark.slow
async def test_without_the_lease_each_replica_speaks_it(
    tg: TelegramServer, fm: FakeFoundationModels, sqlite_database: Database
) -> None:
    await pending_reply(tg, sqlite_database)
    async with replicas(tg, fm, sqlite_database, [None, None]) as both:
        await asyncio.gather(*(voice.resume() for voice in both))
    assert len(voices(tg)) == 2


@pytest.mark.slow
async def test_a_kill_inside_send_voice_is_recorded_and_the_message_sent_again(
    tg: TelegramServer, fm: FakeFoundationModels, sqlite_database: Database,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Telegram took the voice, the process died before it heard so: the reply is found
    `sending` (not plain pending), and the restart says it may send that message twice."""
    reply_id = await pending_reply(tg, sqlite_database)
    answered, in_chat = asyncio.Event(), asyncio.Event()

    async def hang(call: Call) -> None:
        if call.method == "sendVoice":
            in_chat.set()
            await answered.wait()  # the voice is in the chat; its answer never arrives

    tg.before_reply = hang
    async with replicas(tg, fm, sqlite_database, [None]) as [dying]:
        speaking = asyncio.create_task(dying.resume())
        await in_chat.wait()
        assert len(voices(tg)) == 1
        speaking.cancel()  # the process is killed
        await asyncio.gather(speaking, return_exceptions=True)
    answered.set()
    tg.before_reply = None
    assert await status_of(sqlite_database, reply_id) == VoiceReplyStatus.SENDING
    async with replicas(tg, fm, sqlite_database, [None]) as [restarted]:
        assert await restarted.resume() == 1
    assert await status_of(sqlite_database, reply_id) == VoiceReplyStatus.SENT
    assert len(voices(tg)) == 2, "at least once: the unsure message is sent again"
    assert any("may arrive twice" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("live", [1, 3])
async def test_the_live_replicas_take_turns_at_the_sweep(
    tg: TelegramServer, fm: FakeFoundationModels, sqlite_database: Database, live: int
) -> None:
    """Each replica sweeps every 3 s times the live replicas (jittered by a quarter), so the
    cluster sweeps about every 3 s however many there are."""
    naps: list[float] = []

    async def nap(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 4:
            raise asyncio.CancelledError  # enough: three sweeps ran in between

    async with replicas(tg, fm, sqlite_database, [None], sleep=nap) as [voice]:
        with pytest.raises(asyncio.CancelledError):
            await voice.leases.sweep_forever(replicas=lambda: live)
    assert len(naps) == 4
    assert all(3.0 * live * 0.75 <= seconds <= 3.0 * live * 1.25 for seconds in naps), naps
