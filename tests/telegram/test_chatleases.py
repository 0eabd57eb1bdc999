"""Two replicas in one process (two TelegramApps on one database and one coordinator): a
message stored by the replica that does not hold its chat's lease is answered by the holder,
in order, after what the holder is answering; the other replica never dispatches it."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from aiogram.types import Update

from bot.coordination import LocalCoordinator
from bot.storage.database import Database
from bot.storage.repositories import UpdateRepository
from tests.telegram.harness import ANNA, Harness, running_app


async def receive(h: Harness, update: Update) -> None:
    """What the webhook handler does: store the update, then route it to the chat's holder.
    (The replica's fake Telegram takes it in first, as Telegram has it: the chat exists.)"""
    h.telegram.record(update)
    assert await h.app.intake.accept([update], dispatch_here=False)
    assert h.app.leases is not None
    assert h.app.leases.route(update)


@pytest.mark.slow
async def test_the_lease_holder_answers_what_another_replica_stored(
    sqlite_database: Database,
) -> None:
    shared = LocalCoordinator()
    async with (
        running_app(sqlite_database, coordinator=shared, owner="a") as a,
        running_app(sqlite_database, coordinator=shared, owner="b") as b,
    ):
        a.fm.queue_reply("First answer, slowly.", chunks=6, interval=0.1)
        first = a.update(message=a.message("first question"))
        await receive(a, first)
        await a.wait_until(lambda: a.app.queues.is_busy(ANNA.id), within=5)
        # The second message reaches b while a streams the first: b cannot get the lease and
        # leaves it queued; a reads the chat's queue again when its answer is done.
        second = a.update(message=a.message("second question"))
        await receive(b, second)
        await asyncio.sleep(0.05)
        assert not b.app.queues.is_busy(ANNA.id)
        await a.wait_until(lambda: a.texts(ANNA.id), within=10)
        # Without b's wake (the listeners are not started here), by a's read of the queue
        # after its release, which goes with its lease group's next renewal (ttl / 3 = 2 s);
        # not by a sweep (none runs here either).
        assert a.app.leases is not None
        await a.wait_until(lambda: len(a.texts(ANNA.id)) == 2,
                           within=a.app.leases.renewals.renew_every + 1.5)
        assert a.texts(ANNA.id) == ["First answer, slowly.", "Echo: second question"]
        assert b.texts(ANNA.id) == []
        assert b.completions() == []
        async with sqlite_database.session() as session:
            assert await UpdateRepository(session, a.bot.id).pending() == []
        # Both released the chat, and a has read its queue after the release (until then,
        # a message stored now would be a's to run): the next message is b's to answer.
        third = a.update(message=a.message("third question"))
        leases = a.app.leases
        await a.wait_until(lambda: not leases.working_on(ANNA.id), within=5)
        async with asyncio.timeout(5):
            while await shared.lease_token(f"chat:{ANNA.id}") is not None:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        await receive(b, third)
        await b.wait_until(lambda: b.texts(ANNA.id) == ["Echo: third question"], within=10)


async def test_a_closed_replica_takes_no_chat_and_leaves_the_message_queued(
    sqlite_database: Database,
) -> None:
    """Shutting down, a replica's chat leases are closed first; a sweep or a request still
    under way then offers nothing more: the message stays queued for another replica."""
    shared = LocalCoordinator()
    async with (
        running_app(sqlite_database, coordinator=shared, owner="a") as a,
        running_app(sqlite_database, coordinator=shared, owner="b") as b,
    ):
        assert a.app.leases is not None
        await a.app.leases.aclose()
        await receive(a, a.update(message=a.message("asked as a shuts down")))
        await asyncio.sleep(0.1)
        assert await shared.lease_token(f"chat:{ANNA.id}") is None
        assert a.completions() == []
        assert b.app.leases is not None
        await b.app.leases.sweep(grace=dt.timedelta(0))
        await b.wait_until(lambda: b.texts(ANNA.id) == ["Echo: asked as a shuts down"], within=10)
        assert a.texts(ANNA.id) == []


@pytest.mark.slow
async def test_a_message_stored_while_the_holder_answers_is_answered_even_if_no_wake_came(
    sqlite_database: Database,
) -> None:
    """The wake is a pub/sub message, delivered at most once: a message stored by another
    replica whose wake was lost is read by the holder right after it releases the chat, and
    answered (here the sweeps, which would find it too, only look at hour-old updates)."""
    shared = LocalCoordinator()
    async with (
        running_app(sqlite_database, coordinator=shared, owner="a") as a,
        running_app(sqlite_database, coordinator=shared, owner="b") as b,
    ):
        for replica in (a, b):
            assert replica.app.leases is not None
            replica.app.leases.grace = dt.timedelta(hours=1)
        a.fm.queue_reply("First answer, slowly.", chunks=6, interval=0.1)
        await receive(a, a.update(message=a.message("first question")))
        await a.wait_until(lambda: a.app.queues.is_busy(ANNA.id), within=5)
        # Stored by b, never offered: as if b's offer found the lease held and its wake to a
        # was lost.
        assert await b.app.intake.accept(
            [a.update(message=a.message("second question"))], dispatch_here=False
        )
        await a.wait_until(lambda: len(a.texts(ANNA.id)) == 2, within=20)
        assert a.texts(ANNA.id) == ["First answer, slowly.", "Echo: second question"]
        assert b.texts(ANNA.id) == []
        async with sqlite_database.session() as session:
            assert await UpdateRepository(session, a.bot.id).pending() == []


@pytest.mark.slow
async def test_a_holder_whose_lease_the_store_lost_runs_nothing_on_a_wake(
    sqlite_database: Database,
) -> None:
    """Redis comes back empty while a holds the chat idle (its lease group's next renewal,
    which would tell it, is far off here): b takes the chat for the next message; a woken by
    the message after must confirm its lease before reading the queue, find it gone, and leave
    the chat to b. Every question is answered once, and b's prompts hold the stored history."""
    shared = LocalCoordinator()
    async with (
        running_app(sqlite_database, coordinator=shared, owner="a") as a,
        running_app(sqlite_database, coordinator=shared, owner="b") as b,
    ):
        assert a.app.leases is not None
        a.app.leases.renewals.renew_every = 60.0  # a learns nothing from its renewals
        await receive(a, a.update(message=a.message("first question")))
        await a.wait_until(lambda: a.texts(ANNA.id) == ["Echo: first question"], within=10)
        await a.wait_until(lambda: not a.app.queues.is_busy(ANNA.id), within=5)
        assert a.app.leases.working_on(ANNA.id)  # idle, its lease not given back yet
        shared._leases.clear()  # Redis back empty
        b.fm.queue_reply("Second answer, slowly.", chunks=6, interval=0.1)
        await receive(b, a.update(message=a.message("second question")))
        await b.wait_until(lambda: b.app.queues.is_busy(ANNA.id), within=5)
        # The third message reaches a, which still thinks it holds the chat.
        await receive(a, a.update(message=a.message("third question")))
        await b.wait_until(lambda: len(b.texts(ANNA.id)) == 2, within=15)
        await asyncio.sleep(0.3)
        assert a.texts(ANNA.id) == ["Echo: first question"]
        assert b.texts(ANNA.id) == ["Second answer, slowly.", "Echo: third question"]
        assert len(a.completions()) == 1
        last = [m["text"] for m in b.completions()[-1]["messages"]]
        assert last[-5:] == ["first question", "Echo: first question", "second question",
                             "Second answer, slowly.", "third question"]
        async with sqlite_database.session() as session:
            assert await UpdateRepository(session, a.bot.id).pending() == []
