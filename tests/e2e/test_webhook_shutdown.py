"""Webhook mode, SIGTERM with connections still open: a load balancer (and Telegram) keep
their connections to the bot alive, so closing the listening socket does not stop updates
from coming. What arrives after the signal is refused (Telegram delivers it again, to another
replica or to this bot after its restart), never stored and half handled by a bot that is
shutting down; and a request that never finishes does not hold the exit."""

from __future__ import annotations

import asyncio
import signal
from urllib.parse import urlsplit

import aiohttp
import pytest

from tests.e2e.faults_world import KeyedModel, Script
from tests.e2e.harness import E2E, WEBHOOK_SECRET, webhook_update
from tests.fakes.fm_scripts import Reply

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

ANSWER = "Webhooks are HTTP callbacks: Telegram posts each update to the bot's URL."
OK = [("user", "complete"), ("assistant", "complete")]
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}


async def test_sigterm_refuses_what_comes_on_open_connections_and_exits_promptly(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    async with E2E(tmp_path_factory.mktemp("webhook-shutdown"), mode="webhook") as e2e:
        model = KeyedModel(e2e.fm)
        await e2e.start_bot()
        chat, late_chat = 6201, 6202
        for c in (chat, late_chat):
            e2e.tg.add_chat(c, "private", user={"id": c, "first_name": "Hook"})
        # Streams for about 3 s: the shutdown drains it while the rest of the test runs.
        model.scripts["(case 6201)"] = Script(Reply(ANSWER, chunks=8, interval=0.4))
        model.scripts["(case 6202)"] = Script(Reply("Answered after the restart."))
        url = urlsplit(e2e.webhook_url)
        async with aiohttp.ClientSession() as http:  # one kept-alive connection, as a balancer
            first = webhook_update(778_001, chat, "Explain webhooks slowly (case 6201)")
            async with http.post(e2e.webhook_url, json=first, headers=HEADERS) as resp:
                assert resp.status == 200
            await e2e.wait_for(lambda: [d for d in e2e.tg.chat(chat).drafts if d.text], 30)
            # A request whose body never comes, opened before the signal.
            _, stuck = await asyncio.open_connection(url.hostname, url.port)
            stuck.write(
                f"POST {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\n"
                f"X-Telegram-Bot-Api-Secret-Token: {WEBHOOK_SECRET}\r\n"
                "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{".encode()
            )
            await stuck.drain()
            await asyncio.sleep(0.2)
            assert e2e.bot.proc is not None
            e2e.bot.proc.send_signal(signal.SIGTERM)
            # Logged once it refuses; then it drains the streaming answer.
            await e2e.wait_for(lambda: "finishing answers" in e2e.bot.log_text(), 10)
            late = webhook_update(778_002, late_chat, "Still there? (case 6202)")
            try:
                async with http.post(e2e.webhook_url, json=late, headers=HEADERS) as resp:
                    status = resp.status
            except aiohttp.ClientConnectionError:
                status = 0  # closed at once while idle (the refusal on a busy one: test_intake)
            assert status in (0, 503)
            # Exits once the answer is finished: the stuck request does not hold it.
            assert await e2e.bot.wait(within=15) == 0
            stuck.close()
        assert e2e.texts(chat) == [ANSWER]
        assert e2e.roles(chat) == OK
        assert e2e.db.count("processed_updates", "update_id = ?", (778_002,)) == 0
        assert e2e.texts(late_chat) == []
        # Telegram delivers the refused update again once the bot is back: answered once.
        await e2e.start_bot()
        e2e.tg.send_update(late)
        await e2e.wait_for(lambda: e2e.texts(late_chat) == ["Answered after the restart."], 30)
        assert e2e.db.check_consistency() == []
