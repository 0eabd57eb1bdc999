"""Fault suite, the durable queue: messages waiting behind an answer survive SIGKILL.

Three users send three questions each at once; the bot is killed (SIGKILL, no cleanup) while
the first answers stream, so Telegram has been told of all nine (getUpdates offset or webhook
200) while six of them wait in memory behind the answers. After the restart every question
is answered, in order, once, and the database is consistent with nothing left queued.
"""

from __future__ import annotations

import pytest

from bot.testing.yandex.scripts import Reply
from tests.e2e.faults_table import scenario
from tests.e2e.faults_world import KeyedModel, Script
from tests.e2e.harness import E2E

pytestmark = [pytest.mark.process, pytest.mark.timeout(180)]

USERS = (7201, 7202, 7203)
QUESTIONS = 3


def tag(chat: int, n: int) -> str:
    return f"(queue {chat}-{n})"


def answer(chat: int, n: int) -> str:
    return f"Answer {n} for {chat}: the keeper lit the lamp at dusk and trimmed it at midnight."


async def three_users_three_questions_then_kill(e2e: E2E) -> KeyedModel:
    model = KeyedModel(e2e.fm)
    for chat in USERS:
        for n in range(1, QUESTIONS + 1):
            # The first answers stream slowly, so the kill finds them mid-stream.
            chunks, interval = (8, 0.5) if n == 1 else (3, 0.1)
            model.scripts[tag(chat, n)] = Script(Reply(answer(chat, n), chunks, interval))
    await e2e.start_bot()
    for n in range(1, QUESTIONS + 1):
        for chat in USERS:
            e2e.tg.send_user_message(chat, f"Question {n} about lighthouses {tag(chat, n)}")
    for chat in USERS:
        await e2e.wait_for(lambda chat=chat: [d for d in e2e.tg.chat(chat).drafts if d.text], 30)
    # Telegram was told of all nine; six wait behind the answers, kept only in the queue.
    queued = await e2e.wait_for(
        lambda: len(e2e.db.query("SELECT 1 FROM processed_updates WHERE payload IS NOT NULL"))
        == len(USERS) * (QUESTIONS - 1),
        20,
    )
    assert queued
    assert not e2e.tg.updates.pending, "Telegram considers every update delivered"
    await e2e.bot.kill()
    assert all(e2e.texts(chat) == [] for chat in USERS), "only drafts were shown"
    await e2e.start_bot()
    return model


async def all_answered_in_order_once(e2e: E2E, model: KeyedModel) -> None:
    for chat in USERS:
        expected = [answer(chat, n) for n in range(1, QUESTIONS + 1)]
        await e2e.wait_for(lambda chat=chat, expected=expected: e2e.texts(chat) == expected, 60)
    for chat in USERS:
        rows = e2e.db.messages(chat)
        assert [(m["role"], m["status"]) for m in rows] == [
            ("user", "complete"),
            ("assistant", "complete"),
        ] * QUESTIONS
        questions = [m["text"] for m in rows if m["role"] == "user"]
        assert questions == [
            f"Question {n} about lighthouses {tag(chat, n)}" for n in range(1, QUESTIONS + 1)
        ]
        assert model.served[tag(chat, 1)] == 2, "asked before the kill and again after"
        assert [model.served[tag(chat, n)] for n in range(2, QUESTIONS + 1)] == [1] * (
            QUESTIONS - 1
        )
        assert len(e2e.tg.chat(chat).bot_messages) == QUESTIONS
    assert e2e.db.check_consistency() == []
    assert e2e.db.count("processed_updates", "payload IS NOT NULL") == 0
    assert e2e.tg.count_flood_429 == 0


@scenario("SIGKILL with 6 questions queued behind 3 answers (polling): all 9 answered, in order")
async def test_queue_survives_sigkill_polling(tmp_path_factory: pytest.TempPathFactory) -> None:
    async with E2E(tmp_path_factory.mktemp("queue-polling")) as e2e:
        model = await three_users_three_questions_then_kill(e2e)
        await all_answered_in_order_once(e2e, model)


@scenario("SIGKILL with 6 questions queued behind 3 answers (webhook): all 9 answered, in order")
async def test_queue_survives_sigkill_webhook(tmp_path_factory: pytest.TempPathFactory) -> None:
    async with E2E(tmp_path_factory.mktemp("queue-webhook"), mode="webhook") as e2e:
        model = await three_users_three_questions_then_kill(e2e)
        await all_answered_in_order_once(e2e, model)
