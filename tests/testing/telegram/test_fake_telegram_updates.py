"""The fake Bot API: update delivery (long polling, webhook), dispatcher, process mode."""

from __future__ import annotations

import asyncio
import gc
import sys

import aiohttp
import pytest
from aiogram import Bot, Dispatcher
from aiogram.exceptions import (
    TelegramConflictError,
    TelegramRetryAfter,
)
from aiogram.types import Message
from aiohttp import web

from bot.testing.telegram.flood import FloodLimits
from tests.conftest import REPO_ROOT
from tests.fakes.telegram.server import TelegramServer
from tests.testing.telegram.botapi import FAKE_TOKEN as TOKEN
from tests.testing.telegram.botapi import make_bot


@pytest.mark.slow
async def test_get_updates_long_polls_and_confirms_by_offset(tg: TelegramServer, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.2)
    assert not poll.done()
    update_id = tg.send_user_message(1, "/start", language_code="ru")
    # Answered with the update as it came, not empty at the poll's 5 s timeout.
    [update] = await poll
    assert update.update_id == update_id
    assert update.message is not None
    assert update.message.text == "/start"
    assert update.message.from_user is not None
    assert update.message.from_user.language_code == "ru"
    assert update.message.entities is not None
    assert update.message.entities[0].type == "bot_command"
    again = await bot.get_updates(timeout=0)  # not confirmed yet: delivered again
    assert [u.update_id for u in again] == [update_id]
    assert await bot.get_updates(offset=update_id + 1, timeout=0) == []
    tg.fail_get_updates(1)
    with pytest.raises(Exception, match="Bad Gateway"):
        await bot.get_updates(timeout=0)


@pytest.mark.slow
async def test_webhook_delivery_with_secret_and_retries(tg: TelegramServer, bot: Bot) -> None:
    received: list[tuple[str | None, dict[str, object]]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        return web.Response(status=500 if len(received) == 1 else 200)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret")
        with pytest.raises(TelegramConflictError):
            await bot.get_updates(timeout=0)
        update_id = tg.send_user_message(1, "hi")
        await tg.wait_for(lambda: len(received) >= 2, timeout=5)
        assert [secret for secret, _ in received] == ["s3cret", "s3cret"]
        assert all(body["update_id"] == update_id for _, body in received)
        info = await bot.get_webhook_info()
        assert info.url.endswith("/hook")
        assert info.pending_update_count == 0
        assert (
            info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
        )
        await bot.delete_webhook()
        assert await bot.get_updates(timeout=0) == []
    finally:
        await runner.cleanup()


async def test_dispatcher_polling_against_the_fake(tg: TelegramServer, bot: Bot) -> None:
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        await message.answer(f"echo: {message.text}")

    polling = asyncio.create_task(
        dp.start_polling(bot, polling_timeout=1, handle_signals=False, close_bot_session=False)
    )
    try:
        tg.send_user_message(5, "ping")
        await tg.wait_for(lambda: tg.chat(5).bot_messages, timeout=5)
        assert tg.chat(5).bot_messages[0].text == "echo: ping"
    finally:
        await dp.stop_polling()
        await asyncio.wait_for(polling, 5)


@pytest.mark.slow
async def test_runs_as_a_process_with_control_api() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.telegram",
        "--port",
        "0",
        "--token",
        "7:T",
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()
        assert line.startswith("LISTENING http://127.0.0.1:")
        url = line.split()[1]
        async with aiohttp.ClientSession() as http:
            async with http.post(
                f"{url}/_control/user_message", json={"chat_id": 3, "text": "hey"}
            ) as resp:
                assert (await resp.json())["update_id"] > 0
            remote = make_bot(url, "7:T")
            try:
                [update] = await remote.get_updates(timeout=1)
                assert update.message is not None
                assert update.message.text == "hey"
                await remote.send_message(3, "hello")
            finally:
                await remote.session.close()
            async with http.get(f"{url}/_control/chat/3") as resp:
                state = await resp.json()
            assert [m["text"] for m in state["messages"]] == ["hey", "hello"]
            async with http.get(f"{url}/_control/stats") as resp:
                stats = await resp.json()
            assert stats["count_429"] == 0
            assert stats["calls"]["sendMessage"] == 1
            version = stats["version"]
            waiter = asyncio.create_task(http.get(f"{url}/_control/wait?version={version}"))
            await asyncio.sleep(0.1)
            assert not waiter.done()
            fault = {"method": "sendMessage", "status": 403}
            async with http.post(f"{url}/_control/fail_next", json=fault) as resp:
                assert resp.status == 200
            raw = {"update": {"message": {"text": "raw"}}}
            async with http.post(f"{url}/_control/update", json=raw) as resp:
                assert resp.status == 200
            async with await asyncio.wait_for(waiter, 5) as resp:
                assert (await resp.json())["version"] > version
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 10) == 0


@pytest.mark.slow
async def test_concurrent_get_updates_conflict_and_global_limit(bot: Bot) -> None:
    limits = FloodLimits(global_rate=2, private_burst=10)
    async with TelegramServer(TOKEN, limits=limits) as tg:
        await bot.session.close()
        other = make_bot(tg.url)
        try:
            first = asyncio.create_task(other.get_updates(timeout=5))
            await asyncio.sleep(0.2)
            assert await other.get_updates(timeout=0) == []
            with pytest.raises(TelegramConflictError, match="terminated by other getUpdates"):
                await first
            for chat_id in (1, 2, 3):
                tg.send_user_message(chat_id, "hi")
            await other.send_message(1, "a")
            await other.send_message(2, "b")
            with pytest.raises(TelegramRetryAfter):  # 30/s for the whole bot, here 2
                await other.send_message(3, "c")
        finally:
            await other.session.close()


@pytest.mark.slow
async def test_a_conflict_tells_a_hung_up_poll_from_a_live_one(tg: TelegramServer) -> None:
    """A poller that stops cancels its long poll; the fake, which cannot answer it, ends it
    with 409 at the next call as for a live one, and records that nobody read that answer."""
    stopped, live, other = make_bot(tg.url), make_bot(tg.url), make_bot(tg.url)
    try:
        gone = asyncio.create_task(stopped.get_updates(timeout=5))
        await asyncio.sleep(0.2)
        gone.cancel()  # as aiogram's stop_polling does; the session stays open
        await asyncio.sleep(0.2)
        first = asyncio.create_task(live.get_updates(timeout=5))
        await asyncio.sleep(0.2)
        assert await other.get_updates(timeout=0) == []
        with pytest.raises(TelegramConflictError):
            await first
        conflicts = [(c.status, c.unread) for c in tg.calls if c.method == "getUpdates"]
        assert conflicts == [(409, True), (409, False), (200, False)]
    finally:
        for bot in (stopped, live, other):
            await bot.session.close()


@pytest.mark.slow
async def test_webhook_with_a_wrong_secret_is_retried_and_reported(tg: TelegramServer) -> None:
    secrets: list[str | None] = []

    async def hook(request: web.Request) -> web.Response:
        secrets.append(request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        ok = request.headers.get("X-Telegram-Bot-Api-Secret-Token") == "right"
        return web.Response(status=200 if ok else 401)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    bot = make_bot(tg.url)
    try:
        await bot.set_webhook(f"http://127.0.0.1:{runner.addresses[0][1]}/hook",
                              secret_token="right")
        tg.updates.secret_override = "forged"
        tg.send_user_message(1, "hi")
        await tg.wait_for(lambda: len(secrets) >= 2, timeout=5)
        info = await bot.get_webhook_info()
        assert info.pending_update_count == 1
        assert info.last_error_message == "Wrong response from the webhook: 401 Unauthorized"
        tg.updates.secret_override = None
        await tg.wait_for(lambda: not tg.updates.pending, timeout=5)
        assert secrets[-1] == "right"
    finally:
        await bot.session.close()
        await runner.cleanup()


async def test_the_in_memory_telegram_closes_its_webhook_client_when_done() -> None:
    """A webhook set on the in-memory Telegram is delivered to over HTTP; `aclose` ends the
    deliveries and closes their client (it was left to the garbage collector: "Unclosed
    client session" at a worker's exit)."""
    from bot.testing.telegram import FakeTelegram

    received: list[int] = []
    delivered = asyncio.Event()

    async def hook(request: web.Request) -> web.Response:
        received.append((await request.json())["update_id"])
        delivered.set()
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    before = {id(s) for s in gc.get_objects() if isinstance(s, aiohttp.ClientSession)}
    telegram = FakeTelegram()
    bot = telegram.make_bot()
    try:
        await bot.set_webhook(f"http://127.0.0.1:{runner.addresses[0][1]}/hook")
        update_id = telegram.state.send_user_message(1, "hi")
        await asyncio.wait_for(delivered.wait(), 10)  # by the webhook's task, over HTTP
        assert received == [update_id]
        opened = [s for s in gc.get_objects()
                  if isinstance(s, aiohttp.ClientSession) and id(s) not in before]
        assert opened
        assert not any(s.closed for s in opened)
        await telegram.aclose()
        assert all(s.closed for s in opened)
    finally:
        await runner.cleanup()
