"""The bot as a webhook server (`python -m bot run`, TELEGRAM_MODE=webhook) on the Responses
wire (TEXT_API=responses, the most stateful), one story in steps on one bot: the process and
its HTTP server are the subject. (test_faults_process.py is the same on long polling and the
native wire.)

1. Telegram retrying deliveries: a forged update refused, the same update delivered again and
   again answered once, deliveries refused for a while (a stale secret) retried and answered
   once.
2. SIGKILL with work in flight: nine questions (three users, six of them queued behind the
   first three answers, acknowledged to Telegram with a 200) and a picture on Alice AI ART
   (the synchronous Images API) whose request is in flight. After one restart: all nine
   answered in order, once (the three killed mid-stream asked again on the Responses wire,
   once); the picture asked for once more, never a third time, and
   delivered once.
3. SIGTERM with connections still open: a load balancer (and Telegram) keep their
   connections to the bot alive, so closing the listening socket does not stop updates from
   coming. After the signal the bot reads nothing more from any connection: idle ones are
   closed at once, and a request whose body was still coming is dropped unanswered within
   5 s (it does not hold the exit for aiohttp's 60 s). The answer streaming at the signal is
   finished, the exit is clean; Telegram delivers both again to the next start, each answered
   once. (A request read in full just before that is stored and left queued, or refused:
   tests/telegram/test_intake.py.)
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest

from bot.testing.yandex import payloads as p
from bot.testing.yandex.images import IMAGES_PATH
from bot.testing.yandex.scripts import Reply
from tests.e2e import durable_queue
from tests.e2e.faults_table import scenario
from tests.e2e.faults_world import KeyedModel, Script
from tests.e2e.harness import E2E, WEBHOOK_SECRET, webhook_update
from tests.ports import free_port

# On one of the process step's workers with the database failover (test_db_failover.py).
pytestmark = [pytest.mark.process, pytest.mark.timeout(300),
              pytest.mark.xdist_group("failover-and-stories")]

OK = [("user", "complete"), ("assistant", "complete")]
ANSWER = "Webhooks are HTTP callbacks: Telegram posts each update to the bot's URL."
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
QUEUE_USERS = (7211, 7212, 7213)
PICTURE = 1011  # a chat asking Alice AI ART for a picture
RESPONSES, COMPLETION = "/v1/responses", "/foundationModels/v1/completion"


@pytest.fixture
async def hooked(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[E2E]:
    metrics = f"127.0.0.1:{free_port()}"
    env = {"METRICS_LISTEN": metrics, "IMAGE_MODEL": "aliceai-image-art-3.0",
           "TEXT_API": "responses"}
    async with E2E(tmp_path, mode="webhook", extra_env=env) as e2e:
        e2e.fm.images_api_bytes = p.tiny_jpeg(200)  # not YandexART's picture
        yield e2e
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            print(f"--- bot log, last lines:\n{e2e.bot.log_tail(80)}")


@scenario(
    "webhook: the same update delivered again and again is answered once",
    "webhook: deliveries refused for a while are retried by Telegram, answered once",
    "SIGKILL with 6 questions queued behind 3 answers (webhook, Responses wire): all 9 "
    "answered, in order",
    "SIGKILL with an Alice AI ART request in flight: asked again once, one photo",
    "webhook: SIGTERM during a stream and with open connections: answer finished, clean exit",
)
async def test_a_webhook_bot_through_retries_a_kill_and_a_stop(hooked: E2E) -> None:
    e2e = hooked
    model = KeyedModel(e2e.fm)
    await e2e.start_bot()
    await same_update_again_and_again(e2e, model)
    await deliveries_refused_then_retried(e2e, model)
    await killed_with_work_in_flight(e2e, model)
    await sigterm_with_connections_open(e2e, model)


async def same_update_again_and_again(e2e: E2E, model: KeyedModel) -> None:
    """Step 1a."""
    chat = 6101
    model.scripts["(case 6101)"] = Script(Reply(ANSWER, chunks=3, interval=0.1))
    e2e.tg.add_chat(chat, "private", user={"id": chat, "first_name": "Hook"})
    body = webhook_update(777_001, chat, "What is a webhook? (case 6101)")
    hook = e2e.tg.updates.webhook
    assert hook is not None
    assert (hook.url, hook.secret_token) == (e2e.webhook_url, WEBHOOK_SECRET), "from the settings"
    async with aiohttp.ClientSession() as http:
        # A forged update (no secret, a wrong one) is refused before anything reads it.
        forged = webhook_update(777_000, 6100, "forged")
        for wrong in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
            async with http.post(e2e.webhook_url, json=forged, headers=wrong) as resp:
                assert resp.status == 401, "step 1: a forged update is refused"

        async def deliver() -> int:
            async with http.post(e2e.webhook_url, json=body, headers=HEADERS) as resp:
                return resp.status

        # Two at once (a retry racing the original), then a late one.
        assert list(await asyncio.gather(deliver(), deliver())) == [200, 200]
        await e2e.wait_for(lambda: e2e.texts(chat) == [ANSWER], 30)
        assert await deliver() == 200
    # And once more through Telegram itself (the fake queues the same update id again).
    e2e.tg.send_update(body)
    await e2e.wait_for(lambda: not e2e.tg.updates.pending, 30)
    await asyncio.sleep(1.0)  # a second answer would show by now
    assert e2e.texts(chat) == [ANSWER], "step 1: the same update answered more than once"
    assert e2e.roles(chat) == OK
    assert model.served["(case 6101)"] == 1, "step 1: the model was asked more than once"
    assert e2e.tg.calls_for(chat_id=6100) == [], "step 1: the forged update is never answered"


async def deliveries_refused_then_retried(e2e: E2E, model: KeyedModel) -> None:
    """Step 1b."""
    chat = 6102
    hook = e2e.tg.updates.webhook
    assert hook is not None
    failures = hook.failures
    model.scripts["(case 6102)"] = Script(Reply("Got it, eventually."))
    e2e.tg.updates.secret_override = "stale-secret"  # the bot answers 401 to these
    try:
        e2e.tg.send_user_message(chat, "Hello? (case 6102)")
        await e2e.wait_for(lambda: hook.failures >= failures + 2, 30)
    finally:
        e2e.tg.updates.secret_override = None
    await e2e.wait_for(lambda: e2e.texts(chat) == ["Got it, eventually."], 30)
    await e2e.wait_for(lambda: e2e.roles(chat) == OK, 20)
    assert model.served["(case 6102)"] == 1, "step 1: a retried delivery was answered twice"


async def killed_with_work_in_flight(e2e: E2E, model: KeyedModel) -> None:
    """Step 2."""
    e2e.fm.images_api_gate = asyncio.Event()
    e2e.tg.send_user_message(PICTURE, "/image 16:9 a lighthouse at night")
    await e2e.wait_for(lambda: e2e.fm.images_api_held.is_set(), 30)
    [job] = e2e.db.image_jobs()
    assert job["status"] == "running"
    assert job["requests"] == 1, "picture: the request is counted before it is sent"
    durable_queue.ask_nine(e2e, model, QUEUE_USERS)
    await durable_queue.queued_behind_the_answers(e2e, QUEUE_USERS)
    await e2e.bot.kill()
    assert all(e2e.texts(chat) == [] for chat in QUEUE_USERS), "queue: only drafts were shown"
    assert e2e.photos(PICTURE) == []

    e2e.fm.images_api_gate.set()  # the next request is answered at once
    await e2e.start_bot()
    await durable_queue.all_answered_in_order_once(e2e, model, QUEUE_USERS)
    [photo] = await e2e.wait_for(lambda: e2e.photos(PICTURE), 60)
    assert photo == e2e.fm.images_api_bytes, "picture: exactly the bytes in data[0].b64_json"
    await e2e.wait_for(lambda: [j["status"] for j in e2e.db.image_jobs()] == ["delivered"], 10)
    await asyncio.sleep(1.0)  # nothing is asked or delivered again
    assert len(e2e.photos(PICTURE)) == 1, "picture: delivered more than once"
    sent = [r.json for r in e2e.fm.requests if r.path == IMAGES_PATH]
    assert len(sent) == 2, "picture: asked once more after the restart, never a third time"
    assert {r["size"] for r in sent} == {"16x9"}
    assert not any(r.path.endswith("imageGenerationAsync") for r in e2e.fm.requests)
    assert "TEXT_API=responses" in e2e.bot.log_text(), "step 2: the wire named at start"
    wires = {r.path for r in e2e.fm.requests if r.path in (RESPONSES, COMPLETION)}
    assert wires == {RESPONSES}, f"step 2: every answer on the Responses wire, not {wires}"
    assert e2e.db.check_consistency() == [], "step 2: the store after the restart"
    assert e2e.tg.count_flood_429 == 0


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


async def sigterm_with_connections_open(e2e: E2E, model: KeyedModel) -> None:
    """Step 3."""
    metrics = e2e.bot.env["METRICS_LISTEN"]
    chat, cut_chat, idle_chat = 6201, 6202, 6203
    for c in (chat, cut_chat, idle_chat):
        e2e.tg.add_chat(c, "private", user={"id": c, "first_name": "Hook"})
    # Streams for about 3 s: the shutdown drains it while the rest of the step runs.
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
            assert resp.status == 503, "step 3: /readyz while shutting down"
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
        assert await asyncio.wait_for(reader.read(), 15) == b"", "step 3: the cut request"
        assert await e2e.bot.wait(within=5) == 0, "step 3: a clean exit after SIGTERM"
        writer.close()
    assert e2e.texts(chat) == [ANSWER], "step 3: the answer streaming at SIGTERM is finished"
    assert e2e.roles(chat) == OK
    for earlier in (6101, 6102, *QUEUE_USERS, PICTURE):
        count = durable_queue.QUESTIONS if earlier in QUEUE_USERS else 1
        assert len(e2e.tg.chat(earlier).bot_messages) == count, (earlier, e2e.texts(earlier))
    assert e2e.db.count("processed_updates", "update_id = ?", (778_002,)) == 0
    # Never read, or stored and left queued: not answered while closing either way.
    assert e2e.db.count("processed_updates", "update_id = ?", (778_003,)) == status // 200
    assert e2e.texts(cut_chat) == e2e.texts(idle_chat) == []
    assert e2e.db.check_consistency() == [], "step 3: the store after SIGTERM"
    await e2e.start_bot()
    e2e.tg.send_update(message)  # Telegram delivers both again: each answered once
    e2e.tg.send_update(idle)
    await e2e.wait_for(lambda: e2e.texts(cut_chat) == ["Answered when delivered again."], 30)
    await e2e.wait_for(lambda: e2e.texts(idle_chat) == ["Answered when delivered again."], 30)
    await asyncio.sleep(1.0)  # a second answer would show by now
    assert e2e.texts(cut_chat) == e2e.texts(idle_chat) == ["Answered when delivered again."]
    assert await e2e.bot.terminate() == 0
    assert e2e.db.check_consistency() == [], "step 3: the store after the redeliveries"
    assert e2e.tg.count_flood_429 == 0
