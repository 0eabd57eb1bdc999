"""The conversation core riding out a database outage (bot/storage/outage.py), on PostgreSQL
reached through a loopback proxy that cuts every connection and refuses new ones: a turn that
cannot start waits for the database instead of failing; an answer that ends while it is away
comes back with its text and is stored once it is back, before the chat's next turn reads its
history; an error of the statement itself is not waited on. Skipped without PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import make_url, text

from bot.foundation_models.client import FoundationModelsClient
from bot.storage.database import Database
from bot.storage.models import MessageStatus
from bot.storage.outage import Outage, outage_of, watch_outages
from tests.conversation.conftest import ANNA, PRIVATE, make_service
from tests.conversation.helpers import assistant, prompts, stored, user, wait_for
from tests.coordination.proxy import TcpProxy
from tests.fakes.yandex.server import FakeFoundationModels
from tests.ports import free_port

pytestmark = pytest.mark.postgres


@pytest.fixture
async def proxy(postgres_url: str) -> AsyncIterator[TcpProxy]:
    url = make_url(postgres_url)
    cut = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    cut.port = free_port()
    await cut.start()
    try:
        yield cut
    finally:
        await cut.stop()


@pytest.fixture
async def db(proxy: TcpProxy, postgres_url: str) -> AsyncIterator[Database]:
    through = make_url(postgres_url).set(host="127.0.0.1", port=proxy.port)
    database = Database(through.render_as_string(hide_password=False))
    try:
        yield database
    finally:
        await database.dispose()


def outage_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "bot.storage.outage"]


@pytest.mark.slow
async def test_a_turn_waits_for_the_database_and_an_answer_ended_meanwhile_is_stored_later(
    fm: FakeFoundationModels, client: FoundationModelsClient, db: Database, proxy: TcpProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.storage.outage")
    service = make_service(db, client)
    fm.queue_reply("first answer in four chunks", chunks=4, interval=0.3)
    first = asyncio.create_task(service.run_turn(PRIVATE, ANNA, "first"))
    await wait_for(lambda: fm.active_generations == 1)
    await proxy.stop()  # the answer streams on; its store finds the database away
    result = await first
    assert result.text == "first answer in four chunks"
    assert result.status is MessageStatus.COMPLETE
    assert result.saving is not None
    assert not result.saving.done()
    # The next turn cannot start: it waits (its chat's history must hold the first answer).
    fm.queue_reply("second answer")
    second = asyncio.create_task(service.run_turn(PRIVATE, ANNA, "second"))
    await asyncio.sleep(1.0)
    assert not second.done()
    assert outage_of(db.sessionmaker).down
    await proxy.start()
    answered = await asyncio.wait_for(second, 30)  # a liveness bound
    assert result.saving.done()
    assert answered.text == "second answer"
    assert prompts(fm)[-1][-3:] == [
        user("first"), assistant("first answer in four chunks"), user("second")
    ]
    rows = await stored(db, PRIVATE.chat_id)
    assert [(m.role.value, m.text, m.status) for m in rows] == [
        ("user", "first", MessageStatus.COMPLETE),
        ("assistant", "first answer in four chunks", MessageStatus.COMPLETE),
        ("user", "second", MessageStatus.COMPLETE),
        ("assistant", "second answer", MessageStatus.COMPLETE),
    ]
    lines = outage_lines(caplog)
    assert [line.split(" (")[0].split(" after")[0] for line in lines] == [
        "database unreachable", "database is back"
    ], lines


async def test_an_error_of_the_statement_is_not_waited_on(db: Database) -> None:
    async def broken() -> None:
        async with db.sessionmaker() as session:
            await session.execute(text("SELECT * FROM no_such_table"))

    with pytest.raises(Exception, match="no_such_table"):
        await asyncio.wait_for(outage_of(db.sessionmaker).ride("a broken read", broken), 10)
    assert not outage_of(db.sessionmaker).down


@pytest.mark.slow
@pytest.mark.usefixtures("virtual_clock")
async def test_past_the_grace_each_waiting_chat_is_handed_over_once(
    db: Database, proxy: TcpProxy
) -> None:
    outage = watch_outages(db.sessionmaker, Outage(grace=0.5))
    told: list[tuple[int, str | None]] = []
    outage.on_past_grace(lambda chat, language, _thread: told.append((chat, language)))

    async def read() -> int:
        async with db.sessionmaker() as session:
            return int((await session.execute(text("SELECT 1"))).scalar_one())

    await proxy.stop()
    waiting = [
        asyncio.create_task(outage.ride("a read", read, chat=chat, language="ru"))
        for chat in (1, 2, 2)
    ]
    await wait_for(lambda: outage.down, 10)
    outage.wait(3, "en")  # a refused update's chat (the webhook found the database away)
    await wait_for(lambda: len(told) == 3, 10)
    await asyncio.sleep(0.6)  # nobody is told twice
    assert sorted(told) == [(1, "ru"), (2, "ru"), (3, "en")]
    await proxy.start()
    assert [await asyncio.wait_for(task, 30) for task in waiting] == [1, 1, 1]
    assert not outage.down
