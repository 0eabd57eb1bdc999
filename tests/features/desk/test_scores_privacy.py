"""A conversation's score goes with it (issue 66): /forget and retention leave no verdict
and no evidence line behind, and no scoring job with its transcript."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.storage.database import Database
from tests.features.desk.harness import DeskWorld, desk_world
from tests.features.desk.scoring import a_day_later, cases_of, qa_jobs, scores

pytestmark = pytest.mark.timeout(120)
MODEL = "yandexgpt/latest"


async def scored(w: DeskWorld, user: int, question: str) -> int:
    """The user's conversation with the bot, over and scored: its case id."""
    w.tg.send_user_message(user, question)
    await w.wait_for(lambda: any(t.startswith("Echo") for t in w.texts(user)))
    await w.settle()
    await a_day_later(w)
    [case] = await cases_of(w.db, user)
    assert case.id in await scores(w.db)
    return case.id


async def test_forget_removes_the_conversations_score(sqlite_database: Database) -> None:
    async with desk_world(sqlite_database, insights=MODEL) as w:
        user, other = 8101, 8102
        mine = await scored(w, user, "My e-mail is anna@example.com, where is my order?")
        kept = await scored(w, other, "How do I change my delivery address?")
        w.tg.send_user_message(user, "/forget")
        ask = await w.wait_for(lambda: [
            m for m in w.tg.chat(user).bot_messages if "forget:yes" in str(m.reply_markup)])
        w.tg.send_callback_query(user, ask[0].message_id, f"forget:yes:{user}")
        await w.wait_for(lambda: w.tg.callback_answers and all(w.tg.callback_answers.values()))
        await w.settle()
        left = await scores(w.db)
        assert mine not in left
        assert kept in left  # only the user's own
        assert [j.case_id for j in await qa_jobs(w.db)] == [kept]


async def test_retention_removes_the_scores_of_old_conversations(
    sqlite_database: Database,
) -> None:
    async with desk_world(sqlite_database, insights=MODEL) as w:
        old = await scored(w, 8201, "How do I change my delivery address?")
        recent = await scored(w, 8202, "Can I pay by card?")
        # Forty days on, the retention of thirty days purges both (the bot's last message
        # was then over a month ago); five days on, neither.
        service = w.desk.service
        now = dt.datetime.now(dt.UTC)
        service.clock = lambda: now + dt.timedelta(days=5)
        await w.desk.purge(30)
        assert set(await scores(w.db)) == {old, recent}
        service.clock = lambda: now + dt.timedelta(days=40)
        await w.desk.purge(30)
        assert await scores(w.db) == {}
        assert await qa_jobs(w.db) == []
