"""The application around the handlers: webhook runner, graceful shutdown, start-up work."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram.methods import SendMessageDraft, SetWebhook
from sqlalchemy import select

from bot.storage.database import Database
from bot.storage.models import Message as StoredMessage
from bot.storage.models import MessageRole, MessageStatus
from bot.telegram import maintenance
from tests.ports import free_port
from tests.telegram.harness import ANNA, Harness, running_app


@pytest.fixture
async def h(sqlite_database: Database) -> AsyncIterator[Harness]:
    async with running_app(sqlite_database) as harness:
        yield harness


async def answers(h: Harness) -> list[StoredMessage]:
    async with h.db.sessionmaker() as session:
        rows = await session.scalars(
            select(StoredMessage)
            .where(StoredMessage.role == MessageRole.ASSISTANT)
            .order_by(StoredMessage.id)
        )
        return list(rows)


async def test_webhook_checks_the_secret_and_answers(h: Harness) -> None:
    port = free_port()
    runner = asyncio.create_task(
        h.app.run_webhook(
            url="https://bot.example.org/tg/hook",
            secret="s3cret-token",
            host="127.0.0.1",
            port=port,
        )
    )
    await h.wait_until(lambda: h.calls(SetWebhook))
    registered = h.calls(SetWebhook)[-1]
    assert registered.url == "https://bot.example.org/tg/hook"
    assert registered.secret_token == "s3cret-token"
    assert "stopped_message_generation" in registered.allowed_updates
    update = h.update(message=h.message("via webhook")).model_dump(mode="json", exclude_none=True)
    url = f"http://127.0.0.1:{port}/tg/hook"
    async with aiohttp.ClientSession() as http:
        for secret in (None, "wrong"):
            headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
            async with http.post(url, json=update, headers=headers) as response:
                assert response.status == 401
        good = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"}
        async with http.post(url, json=update, headers=good) as response:
            assert response.status == 200
        async with http.post(url, json=update, headers=good) as response:  # Telegram retries
            assert response.status == 200
    await h.wait_until(lambda: h.texts(ANNA.id))
    await h.settle()
    assert h.texts(ANNA.id) == ["Echo: via webhook"]
    os.kill(os.getpid(), signal.SIGTERM)  # the runner's own signal handler stops it
    await asyncio.wait_for(runner, 15)


async def test_shutdown_lets_a_short_answer_finish(h: Harness) -> None:
    h.fm.queue_reply("a short answer", chunks=4, interval=0.05)
    await h.send("quick one")
    await h.wait_until(lambda: h.app.queues.is_busy(ANNA.id))
    await h.app.shutdown()
    assert h.texts(ANNA.id) == ["a short answer"]
    assert (await answers(h))[-1].status is MessageStatus.COMPLETE


async def test_shutdown_cancels_a_long_answer_after_the_grace(h: Harness) -> None:
    h.app.shutdown_grace = 0.3
    h.fm.queue_reply("word " * 100, chunks=100, interval=0.05)
    await h.send("a long story")
    await h.wait_until(lambda: any(d.text for d in h.calls(SendMessageDraft)))
    await h.app.shutdown()
    shown = h.texts(ANNA.id)
    assert len(shown) == 1
    assert shown[0].startswith("word")
    assert shown[0].endswith("[stopped]")
    answer = (await answers(h))[-1]
    assert answer.status is MessageStatus.CANCELLED
    assert answer.text.startswith("word")


async def test_an_answer_cut_short_by_a_crash_is_given_again(h: Harness) -> None:
    h.fm.queue_reply("the first, lost answer")
    await h.send("what is up?")
    await h.settle()
    async with h.db.sessionmaker() as session:
        row = (await answers(h))[-1]
        stored = await session.get(StoredMessage, row.id)
        assert stored is not None
        stored.status = MessageStatus.STREAMING  # as a killed process leaves it
        await session.commit()
    h.fm.queue_reply("the answer after the restart")
    await h.app.startup()
    await h.settle()
    assert h.texts(ANNA.id)[-1] == "the answer after the restart"
    rows = await answers(h)
    assert [(r.text, r.status) for r in rows] == [
        ("the answer after the restart", MessageStatus.COMPLETE)
    ]


async def test_retention_purges_old_conversations(h: Harness) -> None:
    await h.send("an old message")
    await h.settle()
    async with h.db.sessionmaker() as session:
        for row in await session.scalars(select(StoredMessage)):
            row.created_at = row.created_at - dt.timedelta(days=40)
        await session.commit()
    await h.send("a new message")
    await h.settle()
    await maintenance.purge_once(h.db.sessionmaker, days=30)
    async with h.db.sessionmaker() as session:
        left = [m.text for m in await session.scalars(select(StoredMessage))]
    assert left == ["a new message", "Echo: a new message"]


async def test_the_webhook_server_serves_what_the_features_add(
    sqlite_database: Database,
) -> None:
    """In webhook mode the bot's web server is the webhook's: a feature's pages (the
    console's) are served beside the webhook's path, under their own security headers."""
    from bot.features.console.auth import Access, Keys
    from bot.features.console.web import Console
    from bot.telegram.featureparts import FrontParts, TelegramPart

    access = Access(sqlite_database.sessionmaker, Keys("1:TEST"), 3600, frozenset({1}))
    console = Console(access, sqlite_database.sessionmaker, None, path="/console",
                      public_url="https://bot.example.org", secure=True)

    def console_part(front: FrontParts) -> TelegramPart:
        return TelegramPart(web=[console.mount])

    async with running_app(sqlite_database,
                           parts=lambda bot, url: {"features": [console_part]}) as h:
        port, stop = free_port(), asyncio.Event()
        runner = asyncio.create_task(h.app.run_webhook(
            url="https://bot.example.org/tg/hook", secret="s3cret-token", host="127.0.0.1",
            port=port, stop=stop))
        await h.wait_until(lambda: h.calls(SetWebhook))
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/console/") as page:
                assert page.status == 401
                assert "Sign in" in await page.text()
                assert "default-src 'none'" in page.headers["Content-Security-Policy"]
            async with http.post(f"http://127.0.0.1:{port}/tg/hook", json={}) as hook:
                assert hook.status == 401  # the webhook is still the webhook
        stop.set()
        await asyncio.wait_for(runner, 15)
