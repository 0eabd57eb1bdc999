"""The rest of the metrics: the outbox's own JSON calls and 429s, its queue depths, the
knowledge base's searches, answers and embedded passages, the desk's handoffs, relays, endings
and ratings. Real servers on loopback, the real app; the counters read from the registry."""

from __future__ import annotations

import asyncio

import pytest

from bot.features.knowledge import KbMode
from bot.foundation_models.client import FoundationModelsClient
from bot.grounding.turn import grounded_of
from bot.metrics import registry as metrics
from bot.metrics.registry import REGISTRY
from bot.storage.database import Database
from bot.telegram.outbox import Outbox, Pacing, gauges
from bot.telegram.startup import make_bot
from bot.telegram.telemetry import CallMetrics
from tests.conversation.conftest import ANNA, PRIVATE, make_service
from tests.fakes.telegram.server import TelegramServer
from tests.fakes.yandex.server import FakeFoundationModels
from tests.features.desk.harness import OPERATOR, SUPPORT, desk_world
from tests.features.knowledge.conftest import KbFactory, client, docs, fm, make_kb  # noqa: F401

pytestmark = pytest.mark.timeout(120)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.slow
async def test_the_outboxs_own_calls_and_429s_are_counted() -> None:
    async with TelegramServer("4243:outbox") as tg:
        bot = make_bot("4243:outbox", tg.url)  # aiohttp session: the outbox posts JSON itself
        bot.session.middleware(CallMetrics())  # as the running bot has it (telemetry.py)
        outbox = Outbox(bot)  # honours the whole retry_after (1 s)
        tg.add_chat(5, "private")
        calls = sample("fmbot_telegram_calls_total", method="sendMessage")
        floods = sample("fmbot_telegram_429_total", method="sendMessage")
        try:
            await outbox.send_text(5, "one", chat_type="private")
            tg.fail_next("sendMessage", 429, retry_after=1)
            await outbox.send_text(5, "two", chat_type="private")  # 429, then again
        finally:
            await outbox.aclose()
            await bot.session.close()
        assert [m.text for m in tg.chat(5).bot_messages] == ["one", "two"]
        assert sample("fmbot_telegram_calls_total", method="sendMessage") == calls + 3
        assert sample("fmbot_telegram_429_total", method="sendMessage") == floods + 1


@pytest.mark.slow
async def test_outbox_queue_depths_at_scrape_time() -> None:
    async with TelegramServer("4244:depth") as tg:
        bot = make_bot("4244:depth", tg.url)
        # One call a second: the first goes at once, the other two wait for the bot's budget
        # for a whole second each, long enough to read the gauges on a busy machine.
        outbox = Outbox(bot, Pacing(global_rate=1.0, global_window=1.0))
        metrics.queue_depth_from("outbox", lambda: gauges.deliveries(outbox))
        metrics.queue_depth_from("telegram_budget", lambda: gauges.budget_waiters(outbox))
        for chat in (11, 12, 13):
            tg.add_chat(chat, "private")
        try:
            sends = [
                asyncio.create_task(outbox.send_text(chat, "hi", chat_type="private"))
                for chat in (11, 12, 13)
            ]
            # Read the gauges once the first has reached Telegram (not after a guessed sleep).
            await tg.wait_for(lambda: sum(len(tg.chat(c).bot_messages) for c in (11, 12, 13)))
            # ... and its reply has reached the outbox.
            await tg.wait_for(lambda: sample("fmbot_queue_depth", queue="outbox") != 3)
            assert sample("fmbot_queue_depth", queue="outbox") == 2
            assert sample("fmbot_queue_depth", queue="telegram_budget") == 2
            await asyncio.gather(*sends)
            assert sample("fmbot_queue_depth", queue="outbox") == 0
            assert sample("fmbot_queue_depth", queue="telegram_budget") == 0
        finally:
            await outbox.aclose()
            await bot.session.close()


@pytest.mark.slow
async def test_knowledge_base_counters(
    make_kb: KbFactory,  # noqa: F811
    database: Database,
    client: FoundationModelsClient,  # noqa: F811
    fm: FakeFoundationModels,  # noqa: F811
) -> None:
    embedded = sample("fmbot_kb_passages_embedded_total")
    searches = sample("fmbot_kb_searches_total", kind="question")
    covered = sample("fmbot_kb_answers_total", result="covered")
    not_found = sample("fmbot_kb_answers_total", result="not_found")
    kb = make_kb(mode=KbMode.STRICT)
    report = await kb.sync()
    assert report.embedded > 0
    assert sample("fmbot_kb_passages_embedded_total") == embedded + report.embedded
    service = make_service(database, client, knowledge=kb)
    fm.queue_reply("Standard delivery takes 2 to 4 working days [1].")
    result = await service.run_turn(PRIVATE, ANNA, "How long does standard delivery take?")
    assert not grounded_of(result).not_found
    result = await service.run_turn(PRIVATE, ANNA, "Who won the football world cup in 2018?")
    assert grounded_of(result).not_found
    assert sample("fmbot_kb_searches_total", kind="question") >= searches + 2
    assert sample("fmbot_kb_answers_total", result="covered") == covered + 1
    assert sample("fmbot_kb_answers_total", result="not_found") == not_found + 1
    again = await kb.sync()  # nothing changed: nothing embedded
    assert again.embedded == 0
    assert sample("fmbot_kb_passages_embedded_total") == embedded + report.embedded


@pytest.mark.slow
async def test_desk_counters(sqlite_database: Database) -> None:
    before = {
        "handoffs": sample("fmbot_handoffs_total", reason="user_request"),
        "to_topic": sample("fmbot_relays_total", direction="to_topic"),
        "to_user": sample("fmbot_relays_total", direction="to_user"),
        "closed": sample("fmbot_desk_conversations_ended_total", resolution="closed"),
        "rated": sample("fmbot_ratings_total", score="5"),
    }
    async with desk_world(sqlite_database) as w:
        user = 6901
        w.tg.send_user_message(user, "/operator")
        thread = await w.wait_for(lambda: w.topic_of(user))
        await w.wait_for(lambda: w.in_topic(thread))  # the card
        w.tg.send_user_message(user, "my order is late")
        await w.wait_for(lambda: len(w.in_topic(thread)) == 2)
        w.tg.send_user_message(SUPPORT, "Looking into it", user=OPERATOR, thread_id=thread)
        await w.wait_for(lambda: "Looking into it" in w.texts(user))
        rated, case = await w.close_for_rating(user, thread)
        w.tg.send_callback_query(user, rated.message_id, f"csat:{case}:5")
        await w.wait_for(lambda: sample("fmbot_ratings_total", score="5") == before["rated"] + 1)
    assert sample("fmbot_handoffs_total", reason="user_request") == before["handoffs"] + 1
    assert sample("fmbot_relays_total", direction="to_topic") == before["to_topic"] + 1
    assert sample("fmbot_relays_total", direction="to_user") == before["to_user"] + 1
    assert sample("fmbot_desk_conversations_ended_total", resolution="closed") == (
        before["closed"] + 1
    )
