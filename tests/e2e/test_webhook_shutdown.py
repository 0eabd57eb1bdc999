"""Webhook mode, SIGTERM with connections still open: a load balancer (and Telegram) keep
their connections to the bot alive, so closing the listening socket does not stop updates
from coming. After the signal the bot reads nothing more from any connection: idle ones are
closed at once, and a request whose body was still coming is dropped unanswered within 5 s
(it does not hold the exit for aiohttp's 60 s). Telegram delivers both again; nothing of
them is run by a bot that is shutting down. (A request read in full just before that is
stored and left queued, or refused: tests/telegram/test_intake.py.)"""

from __future__ import annotations

import asyncio
import json
import signal
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest

from bot.testing.yandex.scripts import Reply
from tests.e2e.faults_world import KeyedModel, Script
from tests.e2e.harness import E2E, WEBHOOK_SECRET, webhook_update
from tests.ports import free_port

pytestmark = [pytest.mark.process, pytest.mark.timeout(180)]

ANSWER = "Webhooks are HTTP callbacks: Telegram posts each update to the bot's URL."
OK = [("user", "complete"), ("assistant", "complete")]
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}


async def open_request(url: str, body: bytes, sent: int) -> tuple[Any, Any]:
    """A POST of `body` on a connection of its own, of which only `sent` bytes went out."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    writer.write(
        f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"X-Telegram-Bot-Api-Secret-Token: {WEBHOOK_SECRET}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body[:sent]
    )
    await writer.drain()
    return reader, writer


async def test_sigterm_reads_nothing_more_from_open_connections_and_exits_promptly(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    metrics = f"127.0.0.1:{free_port()}"
    workdir = tmp_path_factory.mktemp("webhook-shutdown")
    async with E2E(workdir, mode="webhook", extra_env={"METRICS_LISTEN": metrics}) as e2e:
        model = KeyedModel(e2e.fm)
        await e2e.start_bot()
        chat, cut_chat, idle_chat = 6201, 6202, 6203
        for c in (chat, cut_chat, idle_chat):
            e2e.tg.add_chat(c, "private", user={"id": c, "first_name": "Hook"})
        # Streams for about 3 s: the shutdown drains it while the rest of the test runs.
        model.scripts["(case 6201)"] = Script(Reply(ANSWER, chunks=8, interval=0.4))
        model.scripts["(case 6202)"] = Script(Reply("Answered when delivered again."))
        model.scripts["(case 6203)"] = Script(Reply("Answered when delivered again."))
        async with aiohttp.ClientSession() as http:  # one kept-alive connection, as a balancer
            first = webhook_update(778_001, chat, "Explain webhooks slowly (case 6201)")
            async with http.post(e2e.webhook_url, json=first, headers=HEADERS) as resp:
                assert resp.status == 200
            await e2e.wait_for(lambda: [d for d in e2e.tg.chat(chat).drafts if d.text], 30)
            # A request under way at the signal: its body's end comes after it.
            message = webhook_update(778_002, cut_chat, "Hello? (case 6202)")
            body = json.dumps(message).encode()
            reader, writer = await open_request(e2e.webhook_url, body, sent=10)
            await asyncio.sleep(0.2)
            assert e2e.bot.proc is not None
            e2e.bot.proc.send_signal(signal.SIGTERM)
            # Logged once it reads no more; then it drains the streaming answer.
            await e2e.wait_for(lambda: "finishing answers" in e2e.bot.log_text(), 10)
            async with http.get(f"http://{metrics}/readyz") as resp:  # for the balancer
                assert resp.status == 503
                assert (await resp.text()).startswith("shutdown: shutting down")
            idle = webhook_update(778_003, idle_chat, "Still there? (case 6203)")
            try:
                async with http.post(e2e.webhook_url, json=idle, headers=HEADERS) as resp:
                    status = resp.status
            except aiohttp.ClientConnectionError:
                status = 0  # the idle connection was closed at once
            assert status in (0, 200)
            writer.write(body[10:])
            await writer.drain()
            # Closed unanswered once the answer is drained (3 s) and the 5 s are up.
            assert await asyncio.wait_for(reader.read(), 15) == b""
            assert await e2e.bot.wait(within=5) == 0
            writer.close()
        assert e2e.texts(chat) == [ANSWER]
        assert e2e.roles(chat) == OK
        assert e2e.db.count("processed_updates", "update_id = ?", (778_002,)) == 0
        # Never read, or stored and left queued: not answered while closing either way.
        assert e2e.db.count("processed_updates", "update_id = ?", (778_003,)) == status // 200
        assert e2e.texts(cut_chat) == e2e.texts(idle_chat) == []
        await e2e.start_bot()
        e2e.tg.send_update(message)  # Telegram delivers both again: each answered once
        e2e.tg.send_update(idle)
        await e2e.wait_for(lambda: e2e.texts(cut_chat) == ["Answered when delivered again."], 30)
        await e2e.wait_for(lambda: e2e.texts(idle_chat) == ["Answered when delivered again."], 30)
        await asyncio.sleep(1.0)
        assert e2e.texts(cut_chat) == e2e.texts(idle_chat) == ["Answered when delivered again."]
        assert e2e.db.check_consistency() == []
