"""A chat's short replies (`say`: a sticker's note, an unknown command's, a refusal) come in
the order of the messages they answer, however the handlers' tasks interleave: aiogram runs
each update as a task of its own, and a later message's middlewares may finish first."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.storage.database import Database
from bot.telegram.chatqueue import ChatQueues
from bot.telegram.deps import Deps, say
from tests.telegram.harness import ANNA, Harness, running_app


async def test_a_reply_waits_for_the_handlers_of_earlier_updates() -> None:
    queues = ChatQueues()
    first, second = queues.take(1), queues.take(1)
    elsewhere = queues.take(2)
    waiting = asyncio.create_task(queues.in_turn(second))
    await queues.in_turn(elsewhere)  # another chat's reply waits for nothing
    await queues.in_turn(first)  # nor does the first update's
    assert not waiting.done()
    first.release()
    await waiting
    second.release()
    elsewhere.release()
    await queues.wait_idle()


async def test_a_reply_does_not_wait_for_a_job_still_running_ahead() -> None:
    queues = ChatQueues()
    hold = asyncio.Event()
    first, second = queues.take(1), queues.take(1)

    async def streaming() -> None:  # an answer still streaming
        await hold.wait()

    first.submit(streaming)
    await queues.in_turn(second)
    second.release()
    hold.set()
    await queues.wait_idle()


class Gate:
    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.quick_reached = asyncio.Event()


@pytest.fixture
def gate() -> Gate:
    return Gate()


@pytest.fixture
async def h(sqlite_database: Database, gate: Gate) -> AsyncIterator[Harness]:
    router = Router(name="order")

    @router.message(Command("slow"))
    async def slow(message: Message, deps: Deps) -> None:
        await gate.open.wait()  # its middlewares or its own work took long
        await say(deps, message, "slow")

    @router.message(Command("quick"))
    async def quick(message: Message, deps: Deps) -> None:
        gate.quick_reached.set()
        await say(deps, message, "quick")

    async with running_app(sqlite_database, allowed_users=[ANNA.id], routers=[router]) as h:
        yield h


async def test_short_replies_come_in_the_order_of_the_messages(h: Harness, gate: Gate) -> None:
    slow = asyncio.create_task(h.send("/slow"))
    quick = asyncio.create_task(h.send("/quick"))
    await gate.quick_reached.wait()  # the later message's handler is saying its reply
    await asyncio.sleep(0)
    gate.open.set()
    await asyncio.gather(slow, quick)
    await h.settle()
    assert h.texts(ANNA.id) == ["slow", "quick"]
