"""The durable intake at the wire: nothing is acknowledged to Telegram before it is stored.

Polling: a getUpdates answer whose updates cannot be stored fails the call, so aiogram asks
again at the same offset and Telegram keeps the updates. Webhook: such a request is answered
503, and Telegram delivers it again. The database here really fails (its schema is missing)
and is then repaired by migrating it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiogram.dispatcher.dispatcher import Dispatcher
from aiogram.methods import GetUpdates
from aiogram.types import Update
from aiohttp import web
from sqlalchemy.exc import OperationalError

from bot.storage.database import Database
from bot.storage.migrations import migrate
from bot.storage.repositories import UpdateRepository
from bot.telegram.intake import DurablePolling, DurableWebhookHandler, Intake
from bot.telegram.startup import make_bot
from tests.fakes.telegram.server import TelegramServer

TOKEN = "4242:INTAKE-test"


@pytest.fixture
async def telegram() -> AsyncIterator[TelegramServer]:
    async with TelegramServer(TOKEN) as fake:
        yield fake


@pytest.fixture
async def unmigrated(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    yield database
    await database.dispose()


async def stored(database: Database, bot_id: int) -> list[int]:
    async with database.session() as session:
        return [row.update_id for row in await UpdateRepository(session, bot_id).pending()]


async def test_polling_acknowledges_nothing_it_could_not_store(
    telegram: TelegramServer, unmigrated: Database
) -> None:
    bot = make_bot(TOKEN, telegram.url)
    intake = Intake(unmigrated.sessionmaker, bot.id)
    bot.session.middleware(DurablePolling(intake))
    try:
        first = telegram.send_user_message(5, "hello")
        with pytest.raises(OperationalError):
            await bot(GetUpdates(timeout=0))
        assert [u["update_id"] for u in telegram.updates.pending] == [first]
        await migrate(unmigrated.url)  # the database is back
        updates = await bot(GetUpdates(timeout=0))
        assert [u.update_id for u in updates] == [first]
        assert await stored(unmigrated, bot.id) == [first]
        assert intake.take(first) is not None
        # aiogram's next call confirms the offset; the update is ours now.
        await bot(GetUpdates(offset=first + 1, timeout=0))
        assert telegram.updates.pending == []
    finally:
        await bot.session.close()


async def test_webhook_answers_503_until_the_update_is_stored(
    telegram: TelegramServer, unmigrated: Database
) -> None:
    bot = make_bot(TOKEN, telegram.url)
    intake = Intake(unmigrated.sessionmaker, bot.id)
    handled: list[int] = []
    dp = Dispatcher(disable_fsm=True)

    @dp.update.outer_middleware()
    async def record(handler, update, data):  # type: ignore[no-untyped-def]
        handled.append(update.update_id)

    handler = DurableWebhookHandler(dp, bot, secret_token="s", intake=intake)
    app = web.Application()
    handler.register(app, path="/hook")
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    update = {
        "update_id": 900,
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": 5, "type": "private", "first_name": "A"},
            "from": {"id": 5, "is_bot": False, "first_name": "A"},
            "text": "hi",
        },
    }
    try:
        async with aiohttp.ClientSession() as http:

            async def post(body: object) -> int:
                headers = {"X-Telegram-Bot-Api-Secret-Token": "s"}
                async with http.post(
                    f"http://127.0.0.1:{port}/hook", json=body, headers=headers
                ) as resp:
                    return resp.status

            assert await post(update) == 503
            assert await post({"not": "an update"}) == 400
            await migrate(unmigrated.url)
            assert await post(update) == 200
            assert await stored(unmigrated, bot.id) == [900]
            assert await post(update) == 200  # Telegram retrying: accepted, not handled again
            # Shutting down: on a connection still open a message is stored and left queued,
            # not handled here; any other update is refused (Telegram delivers it again).
            handler.stop_dispatching()
            assert await post({**update, "update_id": 901}) == 200
            press = {"update_id": 902, "callback_query": {
                "id": "7", "chat_instance": "1", "data": "x",
                "from": {"id": 5, "is_bot": False, "first_name": "A"}}}
            assert await post(press) == 503
            assert await stored(unmigrated, bot.id) == [900, 901]
            await asyncio.sleep(0.1)
        assert handled == [900]  # the repeated delivery is not dispatched again
        arrival = intake.take(900)
        assert arrival is not None
        assert arrival.receipt is not None
        assert arrival.receipt.update_id == 900
    finally:
        await runner.cleanup()


async def test_a_message_for_the_chat_holder_is_registered_by_the_holder_alone(
    unmigrated: Database,
) -> None:
    """With several replicas the webhook stores a message without registering it for a
    dispatch here (`dispatch_here=False`): the chat's lease holder registers it when it reads
    the chat's queue, and nothing the webhook does after can take the holder's copy away (the
    old "register, then take back" dropped it when the holder read in between)."""
    await migrate(unmigrated.url)
    intake = Intake(unmigrated.sessionmaker, 4242)
    bot = make_bot(TOKEN, "http://127.0.0.1:9")
    message = {"message_id": 1, "date": 1_700_000_000, "text": "hi",
               "chat": {"id": 5, "type": "private", "first_name": "A"},
               "from": {"id": 5, "is_bot": False, "first_name": "A"}}
    update = Update.model_validate({"update_id": 901, "message": message})
    button = Update.model_validate({"update_id": 902, "callback_query": {
        "id": "q", "chat_instance": "c", "data": "x", "from": message["from"]}})
    try:
        assert await intake.accept([update, button], dispatch_here=False) == 2
        held = await intake.pending(bot, 5)  # the holder reads the chat's queue
        assert [u.update_id for u, _, _ in held] == [901]
        assert await intake.accept([update], dispatch_here=False) == 0  # Telegram repeating
        assert intake.take(901) is not None  # the holder's dispatch finds its copy
        assert intake.take(902) is not None  # not a message: dispatched where it arrived
    finally:
        await bot.session.close()
