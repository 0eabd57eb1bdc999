"""Fault suite: a flood of draft 429s with long retry_after values (Telegram documents no limit
for sendMessageDraft but answers floods of drafts this way in practice).

Its own bot, in the test's process (the flood is bot-wide, it would disturb the shared
scenarios): eight private chats
stream at once while the fake Bot API allows 3 drafts a second for the whole bot and answers
more with retry_after 10. The final messages must not wait for any of it; the chats that got
a 429 send no draft inside their penalty window; the bot-wide draft rate falls, and once the
flood is over it climbs back (TELEGRAM_DRAFT_RECOVERY=4) and drafts flow again.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.e2e.faults_table import scenario
from tests.e2e.harness import E2E

pytestmark = [pytest.mark.asyncio(loop_scope="module"),
              pytest.mark.timeout(180), pytest.mark.xdist_group("draft-flood")]

CHATS = [6101 + i for i in range(8)]
AFTER = [6201, 6202]
RETRY_AFTER = 10


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def flood(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[E2E, dict[int, float]]]:
    """The chats asked during the flood, and when each user wrote."""
    failed = request.session.testsfailed
    env = {
        "TELEGRAM_DRAFT_INTERVAL": "0.3",
        "TELEGRAM_DRAFT_RATE": "50",
        "TELEGRAM_DRAFT_RATE_FLOOR": "2",
        "TELEGRAM_DRAFT_RECOVERY": "4",
    }
    async with E2E(tmp_path_factory.mktemp("draft-flood"), extra_env=env, in_process=True) as e2e:
        e2e.fm.default_chunks, e2e.fm.default_interval = 12, 0.25
        await e2e.start_bot()
        e2e.tg.flood.limits.draft_global_rate = 3
        e2e.tg.flood.limits.draft_retry_after = RETRY_AFTER
        asked = {}
        for chat in CHATS:
            asked[chat] = time.time()
            e2e.tg.send_user_message(chat, f"Tell me about tides, please ({chat})")
        await e2e.wait_for(lambda: all(e2e.texts(chat) for chat in CHATS), 60)
        yield e2e, asked
        if request.session.testsfailed > failed:
            print(f"--- bot log, last lines:\n{e2e.bot.log_tail(80)}")


@scenario("flood of draft 429s (retry_after 10): every final on time, exact, never a 429")
async def test_draft_flood_delays_no_final(flood: tuple[E2E, dict[int, float]]) -> None:
    e2e, _ = flood
    tg = e2e.tg
    refused = [c for c in tg.calls if c.status == 429]
    assert refused, "the fake refused no draft: the scenario did not happen"
    assert {c.method for c in refused} == {"sendMessageDraft"}
    penalised = 0
    for chat in CHATS:
        assert e2e.texts(chat) == [f"Echo: Tell me about tides, please ({chat})"]
        [message] = tg.chat(chat).bot_messages
        before = [c.at for c in refused if c.chat_id == chat and c.at < message.sent_at]
        if not before:
            continue
        penalised += 1
        # Causal, not a time budget: the final went out while the chat's draft penalty (as
        # the fake Bot API set it) was still in force, so it did not wait for the penalty.
        # The answer streams for 3 s inside a 10 s penalty: a final held back by it could
        # only come after its end.
        assert message.sent_at < max(before) + RETRY_AFTER, (
            f"chat {chat}: the final waited for the drafts' retry_after")
    assert penalised, "no chat's final came after one of its drafts was refused"


@scenario("flood of draft 429s: drafts wait out retry_after in that chat only")
async def test_draft_retry_after_is_honoured_per_chat(
    flood: tuple[E2E, dict[int, float]],
) -> None:
    e2e, _ = flood
    calls = e2e.tg.calls
    for chat in CHATS:
        drafts = [c for c in calls if c.chat_id == chat and c.method == "sendMessageDraft"]
        for refused in [c for c in drafts if c.status == 429]:
            inside = [c for c in drafts if refused.at < c.at < refused.at + RETRY_AFTER - 0.5]
            assert inside == [], f"chat {chat}: drafts inside the penalty window"


@scenario("flood of draft 429s: the bot-wide draft rate falls, then recovers")
async def test_bot_wide_draft_rate_recovers(flood: tuple[E2E, dict[int, float]]) -> None:
    e2e, _ = flood
    records = e2e.bot.log_records()
    lowered = [r for r in records if "bot-wide draft rate 50.0 ->" in str(r.get("message"))]
    assert lowered, "no draft 429 lowered the bot-wide rate"
    e2e.tg.flood.limits.draft_global_rate = 0  # the flood is over
    since = time.time()
    for chat in AFTER:
        e2e.tg.send_user_message(chat, f"And about comets? ({chat})")
    await e2e.wait_for(lambda: all(e2e.texts(chat) for chat in AFTER), 60)
    # Held for the retry_after (10 s), then 4 s back to the ceiling: logged when reached.
    await e2e.wait_for(
        lambda: any(
            "bot-wide draft rate recovered to 50.0/s" in str(r.get("message"))
            for r in e2e.bot.log_records()
        ),
        40,
    )
    for chat in AFTER:
        e2e.tg.send_user_message(chat, f"One more about comets ({chat})")
    await e2e.wait_for(lambda: all(len(e2e.texts(chat)) == 2 for chat in AFTER), 60)
    late = [c for c in e2e.tg.calls if c.at > since and c.chat_id in AFTER]
    shown = [c for c in late if c.method == "sendMessageDraft" and c.status == 200]
    assert len(shown) >= 2 * 4, "drafts flow again after the recovery"
    assert [c for c in late if c.status == 429] == []
