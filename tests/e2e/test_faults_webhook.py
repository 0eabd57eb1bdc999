"""Fault suite, webhook mode: Telegram retrying deliveries (the same update twice, deliveries
refused and retried) and SIGTERM during a stream.

One bot (TELEGRAM_MODE=webhook) for the module; the tests are steps of one story, in order.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio

from bot.testing.yandex.scripts import Reply
from tests.e2e.faults_table import scenario
from tests.e2e.faults_world import KeyedModel, Script
from tests.e2e.harness import E2E, WEBHOOK_SECRET, webhook_update

# The tests are steps of one story on one bot (a module fixture): one pytest-xdist worker
# runs them all, in order (--dist loadgroup).
pytestmark = [pytest.mark.process, pytest.mark.asyncio(loop_scope="module"),
              pytest.mark.timeout(180), pytest.mark.xdist_group("webhook-story")]

OK = [("user", "complete"), ("assistant", "complete")]
ANSWER = "Webhooks are HTTP callbacks: Telegram posts each update to the bot's URL."


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def hooked(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[E2E, KeyedModel]]:
    failed = request.session.testsfailed
    async with E2E(tmp_path_factory.mktemp("webhook"), mode="webhook") as e2e:
        model = KeyedModel(e2e.fm)
        await e2e.start_bot()
        yield e2e, model
        if request.session.testsfailed > failed:
            print(f"--- bot log, last lines:\n{e2e.bot.log_tail(80)}")


@scenario("webhook: the same update delivered again and again is answered once")
async def test_webhook_same_update_twice(hooked: tuple[E2E, KeyedModel]) -> None:
    e2e, model = hooked
    chat = 6101
    model.scripts["(case 6101)"] = Script(Reply(ANSWER, chunks=3, interval=0.1))
    e2e.tg.add_chat(chat, "private", user={"id": chat, "first_name": "Hook"})
    body = webhook_update(777_001, chat, "What is a webhook? (case 6101)")
    headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
    hook = e2e.tg.updates.webhook
    assert hook is not None
    assert (hook.url, hook.secret_token) == (e2e.webhook_url, WEBHOOK_SECRET), "from the settings"
    async with aiohttp.ClientSession() as http:
        # A forged update (no secret, a wrong one) is refused before anything reads it.
        forged = webhook_update(777_000, 6100, "forged")
        for wrong in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
            async with http.post(e2e.webhook_url, json=forged, headers=wrong) as resp:
                assert resp.status == 401

        async def deliver() -> int:
            async with http.post(e2e.webhook_url, json=body, headers=headers) as resp:
                return resp.status

        # Two at once (a retry racing the original), then a late one.
        assert list(await asyncio.gather(deliver(), deliver())) == [200, 200]
        await e2e.wait_for(lambda: e2e.texts(chat) == [ANSWER], 30)
        assert await deliver() == 200
    # And once more through Telegram itself (the fake queues the same update id again).
    e2e.tg.send_update(body)
    await e2e.wait_for(lambda: not e2e.tg.updates.pending, 30)
    await asyncio.sleep(1.0)
    assert e2e.texts(chat) == [ANSWER]
    assert e2e.roles(chat) == OK
    assert model.served["(case 6101)"] == 1
    assert e2e.tg.calls_for(chat_id=6100) == [], "the forged update is never answered"


@scenario("webhook: deliveries refused for a while are retried by Telegram, answered once")
async def test_webhook_deliveries_retried(hooked: tuple[E2E, KeyedModel]) -> None:
    e2e, model = hooked
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
    assert model.served["(case 6102)"] == 1


@scenario("webhook: SIGTERM during a stream: answer finished, clean exit, consistent store")
async def test_webhook_sigterm_during_stream(hooked: tuple[E2E, KeyedModel]) -> None:
    e2e, model = hooked
    chat = 6103
    model.scripts["(case 6103)"] = Script(Reply(ANSWER, chunks=8, interval=0.4))
    e2e.tg.send_user_message(chat, "Explain webhooks slowly (case 6103)")
    private = e2e.tg.chat(chat)
    await e2e.wait_for(lambda: [d for d in private.drafts if d.text], 30)
    assert await e2e.bot.terminate(within=40) == 0
    assert e2e.texts(chat) == [ANSWER]
    assert e2e.roles(chat) == OK
    for earlier, count in ((6101, 1), (6102, 1)):
        assert len(e2e.texts(earlier)) == count, e2e.texts(earlier)
    assert e2e.db.check_consistency() == []
    assert e2e.tg.count_flood_429 == 0
