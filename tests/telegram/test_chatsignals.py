"""Two replicas in one process (two TelegramApps on one database and one LocalCoordinator):
a `/stop` or a stop button that reaches the replica not streaming the chat's answer stops it
on the replica that does, at once (the end-to-end twin, on Redis and real processes, is
tests/e2e/test_replicas_webhook.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from aiogram.methods import SendMessageDraft
from aiogram.types import Chat, MessageGenerationStopped, Update
from sqlalchemy import select

from bot.coordination import Coordinator, LocalCoordinator
from bot.coordination.redisstore import RedisCoordinator
from bot.storage.database import Database
from bot.storage.models import Message as StoredMessage
from bot.storage.models import MessageRole, MessageStatus
from bot.telegram.chatsignals import ChatSignals
from tests.coordination.proxy import TcpProxy
from tests.telegram.harness import ANNA, Harness, running_app

LONG = "word " * 40
# 40 chunks half a second apart: an answer streams for 20 s, so a stop that comes through is
# told from one never heard (the whole answer) by what a shows, not by how soon.
STREAM_INTERVAL = 0.5


@dataclass
class Pair:
    a: Harness  # streams Anna's answer
    b: Harness  # receives what the test sends

    async def deliver(self, to: Harness, update: Update) -> None:
        """What the webhook handler does: store, then route a message to its chat's holder
        or dispatch anything else here."""
        assert await to.app.intake.accept([update])
        assert to.app.leases is not None
        if not to.app.leases.route(update):
            await to.app.dp.feed_update(to.bot, update)

    async def streaming(self, interval: float = STREAM_INTERVAL) -> int:
        """Anna asks through a; once a shows a draft, its id."""
        self.a.fm.queue_reply(LONG, chunks=40, interval=interval)
        await self.deliver(self.a, self.a.update(message=self.a.message("a long story")))
        await self.a.wait_until(lambda: any(d.text for d in self.a.calls(SendMessageDraft)))
        draft_id: int = self.a.calls(SendMessageDraft)[-1].draft_id
        return draft_id

    async def stopped(self) -> str:
        """What a shows once the answer ends, which must be a stop: the answer streams for
        20 s, and a /stop not heard until then would let it complete (COMPLETE, the whole
        text). An order, not a window: a busy machine only makes the stop come later."""
        await self.a.wait_until(lambda: self.a.texts(ANNA.id), within=40 * STREAM_INTERVAL)
        [shown] = self.a.texts(ANNA.id)
        assert shown != LONG.strip()
        async with self.a.db.sessionmaker() as session:
            answers = list(
                await session.scalars(
                    select(StoredMessage).where(StoredMessage.role == MessageRole.ASSISTANT)
                )
            )
        assert [m.status for m in answers] == [MessageStatus.CANCELLED]
        return shown


@asynccontextmanager
async def paired(database: Database, a_to: Coordinator, b_to: Coordinator) -> AsyncIterator[Pair]:
    async with (
        running_app(database, coordinator=a_to, owner="a") as a,
        running_app(database, coordinator=b_to, owner="b") as b,
    ):
        for h in (a, b):
            assert h.app.leases is not None
            h.app.leases.start()
        await asyncio.sleep(0)  # both listen
        yield Pair(a, b)


@pytest.fixture
async def pair(sqlite_database: Database) -> AsyncIterator[Pair]:
    shared = LocalCoordinator()
    async with paired(sqlite_database, shared, shared) as pair:
        yield pair


@pytest.mark.slow
async def test_stop_sent_to_another_replica_stops_the_streaming_answer(pair: Pair) -> None:
    await pair.streaming()
    await pair.deliver(pair.b, pair.a.update(message=pair.a.message("/stop")))
    # Without the wake a would read the /stop when its answer ends, 20 s on, and say
    # "nothing is being written" after the whole answer.
    shown = await pair.stopped()
    assert shown.startswith("word")
    assert shown.endswith("[stopped]")
    assert pair.b.texts(ANNA.id) == []
    # Nothing streams now: one replica says so, once.
    await pair.deliver(pair.b, pair.a.update(message=pair.a.message("/stop")))
    nothing = ["Nothing is being written right now."]
    await pair.a.wait_until(lambda: nothing in (pair.a.texts(ANNA.id)[1:], pair.b.texts(ANNA.id)))
    await asyncio.sleep(0.3)
    assert pair.a.texts(ANNA.id)[1:] + pair.b.texts(ANNA.id) == nothing


@pytest.mark.slow
async def test_stop_button_pressed_through_another_replica_stops_its_draft(pair: Pair) -> None:
    draft_id = await pair.streaming()
    stopped = MessageGenerationStopped(chat=Chat(id=ANNA.id, type="private"), draft_id=draft_id)
    await pair.deliver(pair.b, pair.a.update(stopped_message_generation=stopped))
    shown = await pair.stopped()
    assert shown.endswith("[stopped]")
    assert pair.b.texts(ANNA.id) == []


@pytest.mark.slow
async def test_stop_button_of_another_draft_stops_nothing(pair: Pair) -> None:
    draft_id = await pair.streaming(interval=0.05)  # 2 s: it runs to its end
    other = MessageGenerationStopped(chat=Chat(id=ANNA.id, type="private"), draft_id=draft_id + 1)
    await pair.deliver(pair.b, pair.a.update(stopped_message_generation=other))
    await pair.a.wait_until(lambda: pair.a.texts(ANNA.id), within=30)
    assert pair.a.texts(ANNA.id) == [LONG.strip()]


def test_signals_this_version_does_not_know_are_ignored(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[tuple[int, ...]] = []

    def woken(chat: int) -> bool:
        seen.append((chat,))
        return True

    def stop(chat: int, draft: int) -> bool:
        seen.append((chat, draft))
        return False

    signals = ChatSignals(LocalCoordinator(), on_wake=woken, on_stop=stop, on_gap=lambda: 0)
    with caplog.at_level(logging.WARNING):
        for payload in ("wake 5", "stop 5 9", "", "wake", "wake x", "pause 5", "stop 5"):
            signals.handle(payload)
    assert seen == [(5,), (5, 9)]
    assert len(caplog.records) == 5


@pytest.mark.slow
async def test_wakes_in_quick_succession_lose_no_message(pair: Pair) -> None:
    """Each wake ends the holder's wait for its feeds; a feed still in its middlewares then
    must go on (a `gather` there cancelled it: the message was settled unanswered)."""
    await pair.streaming(interval=0.05)  # 2 s: it runs to its end
    assert pair.a.app.leases is not None
    for i in range(3):
        await pair.deliver(pair.b, pair.a.update(message=pair.a.message(f"question {i}")))
        for _ in range(50):  # as wakes from other replicas for other messages would
            pair.a.app.leases.offer(ANNA.id)
            await asyncio.sleep(0)
    expected = [LONG.strip()] + [f"Echo: question {i}" for i in range(3)]
    await pair.a.wait_until(lambda: len(pair.a.texts(ANNA.id)) == 4, within=30)
    assert pair.a.texts(ANNA.id) == expected


async def test_a_failing_handler_does_not_end_the_listening(
    caplog: pytest.LogCaptureFixture,
) -> None:
    coordinator = LocalCoordinator()
    woken: list[int] = []

    def wake(chat: int) -> bool:
        woken.append(chat)
        return True

    def broken_stop(chat: int, draft: int) -> bool:
        raise RuntimeError("broken")

    signals = ChatSignals(coordinator, on_wake=wake, on_stop=broken_stop, on_gap=lambda: 0)
    listening = asyncio.create_task(signals.listen())
    try:
        await asyncio.sleep(0)
        await signals.stop_draft(1, 2)
        await signals.wake(3)
        async with asyncio.timeout(2):
            while not woken:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        assert woken == [3]
        assert "handling the chat signal 'stop 1 2' failed" in caplog.text
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)
    assert await coordinator.publish("chats", "wake 4") == 0  # unsubscribed on cancel


@pytest.mark.slow
async def test_a_stop_published_while_the_holder_was_not_listening_still_stops_it(
    sqlite_database: Database,
    proxy: TcpProxy,
    through_proxy: RedisCoordinator,
    redis_url: str,
    redis_prefix: str,
) -> None:
    """The holder's connection to Redis blinks while another replica stores a `/stop` and
    publishes its wake: the wake is lost, and the holder, subscribed again, reads the queues
    of the chats it holds anyway (the subscription yields GAP)."""
    direct = RedisCoordinator.from_url(redis_url, prefix=redis_prefix)
    try:
        async with paired(sqlite_database, through_proxy, direct) as pair:
            pair.a.fm.queue_reply(LONG, chunks=40, interval=STREAM_INTERVAL)  # for 20 s
            await pair.deliver(pair.a, pair.a.update(message=pair.a.message("a long story")))
            await pair.a.wait_until(lambda: any(d.text for d in pair.a.calls(SendMessageDraft)))
            await proxy.stop()
            await asyncio.sleep(0.3)  # a's subscription is lost (its lease, 6 s, holds)
            await pair.deliver(pair.b, pair.a.update(message=pair.a.message("/stop")))
            await asyncio.sleep(0.2)  # the wake is published to nobody who holds the chat
            await proxy.start()
            # Without the GAP, a reads the /stop when its answer ends, 20 s on.
            shown = await pair.stopped()
            assert shown.endswith("[stopped]")
            assert pair.b.texts(ANNA.id) == []
    finally:
        await direct.aclose()
