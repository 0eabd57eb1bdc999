"""The fake Bot API's bot-wide limit is a rolling window (30 in any second, not a bucket with a
burst on top), its 429s are counted by method, and with ``parallel`` it delivers to a webhook
over several connections at once, one update of a chat at a time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramRetryAfter
from aiohttp import web

from bot.testing.telegram.flood import FloodLimits
from tests.fakes.telegram.server import TelegramServer
from tests.testing.telegram.botapi import FAKE_TOKEN as TOKEN
from tests.testing.telegram.botapi import make_bot


@pytest.fixture
async def tg() -> AsyncIterator[TelegramServer]:
    # Private chats unlimited here: only the bot-wide window speaks.
    async with TelegramServer(TOKEN, limits=FloodLimits(private_burst=1000)) as fake:
        yield fake


@pytest.mark.slow
async def test_the_bot_wide_limit_is_30_in_any_rolling_window(tg: TelegramServer) -> None:
    # The fake's limits read a clock this test moves: the 30 sends happen at one instant
    # however slow the machine is, and "a moment later" is exactly 0.3 s.
    now = [1_000.0]
    tg.flood.clock = lambda: now[0]
    bot = make_bot(tg.url)
    try:
        for chat in range(1, 41):
            tg.send_user_message(chat, "hi")
        await asyncio.gather(*(bot.send_message(chat, "in the window") for chat in range(1, 31)))
        with pytest.raises(TelegramRetryAfter):  # the 31st in that window
            await bot.send_message(31, "one too many")
        # A moment later the window still holds the 30 (a bucket of 30 a window would have
        # refilled some tokens by then: 9 in 0.3 s).
        now[0] += 0.3
        with pytest.raises(TelegramRetryAfter):
            await bot.send_message(32, "still too many")
        now[0] += 1.0  # the first 30 have left the window
        await bot.send_message(33, "a window later")
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{tg.url}/_control/stats") as resp,
        ):
            stats = await resp.json()
        assert stats["count_429_by_method"] == {"sendMessage": 2}
    finally:
        await bot.session.close()


@pytest.mark.slow
async def test_parallel_webhook_delivery_keeps_each_chats_order(tg: TelegramServer) -> None:
    seen: list[tuple[int, str]] = []
    active = 0
    most = 0

    async def hook(request: web.Request) -> web.Response:
        nonlocal active, most
        update: dict[str, Any] = await request.json()
        active += 1
        most = max(most, active)
        await asyncio.sleep(0.05)
        message = update["message"]
        seen.append((message["chat"]["id"], message["text"]))
        active -= 1
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    bot: Bot = make_bot(tg.url)
    tg.updates.parallel = True
    try:
        await bot.set_webhook(url, max_connections=10)
        for n in range(3):
            for chat in range(1, 21):
                tg.send_user_message(chat, f"{chat}:{n}")
        for _ in range(100):
            if len(seen) == 60:
                break
            await asyncio.sleep(0.05)
        assert len(seen) == 60
        assert 2 < most <= 10  # several at once, never above max_connections
        for chat in range(1, 21):  # one update of a chat at a time, in order
            assert [text for c, text in seen if c == chat] == [f"{chat}:{n}" for n in range(3)]
    finally:
        await bot.session.close()
        await runner.cleanup()
