"""The console's reads on both databases (issue 80): a day's conversations filtered by the
traces' tags and a text search, a transcript with its traces, the answers counted per day."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import insert

from bot.features.console.figures import answers_per_day
from bot.features.console.queries import Filters, conversations
from bot.features.console.transcript import transcript
from bot.storage.database import Database
from bot.storage.models import AnswerTrace, Chat, Conversation, Message, User
from bot.storage.repositories.traces import joined_tags

DAY = dt.date(2026, 11, 20)
T0 = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)


async def fill(db: Database) -> None:
    rows = []
    traces = []
    for n, (question, tags) in enumerate([
        ("Where is order A-1? 100% sure_it_shipped", {"tool:order_status"}),
        ("Do you sell <b>kettles</b>?", {"notfound"}),
        ("How long is delivery?", {"doc:shop/shipping.md"}),
    ], start=1):
        at = T0 + dt.timedelta(hours=n)
        rows += [
            {"id": n * 10, "conversation_id": n, "role": "user", "status": "complete",
             "author_user_id": n, "text": question, "created_at": at, "updated_at": at,
             "telegram_message_ids": []},
            {"id": n * 10 + 1, "conversation_id": n, "role": "assistant", "status": "complete",
             "reply_to_id": n * 10, "text": "An answer.", "created_at": at, "updated_at": at,
             "telegram_message_ids": []},
        ]
        traces.append({"answer_id": n * 10 + 1, "data": json.dumps({"model": {"model": "m"}}),
                       "tags": joined_tags(tags), "created_at": at})
    yesterday = T0 - dt.timedelta(days=1)
    rows.append({"id": 99, "conversation_id": 1, "role": "user", "status": "complete",
                 "text": "Yesterday's question", "created_at": yesterday,
                 "updated_at": yesterday, "telegram_message_ids": []})
    async with db.sessionmaker() as session:
        await session.execute(insert(User), [{"id": n, "first_name": f"User {n}"}
                                             for n in (1, 2, 3)])
        await session.execute(insert(Chat), [{"id": n, "type": "private"} for n in (1, 2, 3)])
        await session.execute(insert(Conversation), [
            {"id": n, "chat_id": n, "opened_at": yesterday} for n in (1, 2, 3)])
        await session.execute(insert(Message), rows)
        await session.execute(insert(AnswerTrace), traces)
        await session.commit()


async def listed(db: Database, **query: str) -> list[int]:
    async with db.sessionmaker() as session:
        found = await conversations(session, Filters.read({"day": DAY.isoformat(), **query},
                                                          DAY), None)
    return [row.conversation_id for row in found.rows]


async def test_the_day_filters_and_search(database: Database) -> None:
    await fill(database)
    assert await listed(database) == [3, 2, 1]
    assert await listed(database, tool="order_status") == [1]
    assert await listed(database, not_found="yes") == [2]
    assert await listed(database, not_found="no") == [3, 1]
    assert await listed(database, document="SHIPPING") == [3]
    assert await listed(database, q="KETTLES") == [2]
    assert await listed(database, q="100%") == [1]  # LIKE's wildcards are the text's own
    assert await listed(database, q="0%") == [1]
    assert await listed(database, q="e_i") == [1]
    assert await listed(database, q="e%i") == []
    assert await listed(database, q="s_re") == []
    # The search reads the whole conversation of a day's row, earlier days' messages too.
    assert await listed(database, q="yesterday") == [1]
    async with database.sessionmaker() as session:
        whole = await conversations(session, Filters.read({"day": DAY.isoformat()}, DAY), None)
    first = whole.rows[-1]
    assert (first.who, first.opening, first.messages) == (
        "User 1", "Where is order A-1? 100% sure_it_shipped", 2)


async def test_a_transcript_and_the_answers_per_day(database: Database) -> None:
    await fill(database)
    async with database.sessionmaker() as session:
        shown = await transcript(session, 1, None)
        counted = await answers_per_day(session, DAY - dt.timedelta(days=1), DAY)
    assert shown is not None
    assert [(m.who, m.text) for m in shown.said] == [
        ("customer", "Where is order A-1? 100% sure_it_shipped"), ("bot", "An answer."),
        ("customer", "Yesterday's question")]
    assert shown.said[1].trace == {"model": {"model": "m"}}
    assert counted[DAY].answers == 3
    assert counted[DAY].not_found == 1
    assert DAY - dt.timedelta(days=1) not in counted
