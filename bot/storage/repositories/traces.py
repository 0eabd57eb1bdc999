"""Answers' traces (bot/storage/models/traces.py): stored with the answer, read by answer."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import AnswerTrace, utcnow
from bot.storage.repositories._upsert import excluded, prebuilt
from bot.storage.repositories.batch import Statement


def _upsert(insert: Any) -> Any:
    # On the table, not the mapped class: a Core statement skips the ORM's bulk-insert layer
    # (about 0.1 ms of CPU an answer on SQLite, bench/bench_turn_sql.py).
    table = AnswerTrace.__table__
    stmt = insert(table).values(
        answer_id=bindparam("answer_id"), data=bindparam("data"), tags=bindparam("tags"),
        created_at=bindparam("created_at"))
    row = excluded(stmt)
    return stmt.on_conflict_do_update(
        index_elements=[table.c.answer_id],
        set_={"data": row.data, "tags": row.tags, "created_at": row.created_at})


class TraceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def save(self, answer_id: int, data: str, tags: Iterable[str] = ()) -> None:
        """Store the answer's trace (`data`: JSON, already bounded) and its `tags`, replacing
        one stored before (an answer carried on after a press keeps its id): one statement,
        built once per dialect, as it runs with every answer."""
        await self.session.execute(*self.save_statement(answer_id, data, tags))

    def save_statement(self, answer_id: int, data: str, tags: Iterable[str] = ()) -> Statement:
        """`save` as a statement to run (batch.py)."""
        return prebuilt(self.session, "trace_save", _upsert), {
            "answer_id": answer_id, "data": data, "tags": joined_tags(tags),
            "created_at": utcnow()}

    async def of_answers(self, answer_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """The traces of `answer_ids` that have one, parsed, by answer id."""
        ids = list(answer_ids)
        if not ids:
            return {}
        rows = await self.session.execute(
            select(AnswerTrace.answer_id, AnswerTrace.data).where(AnswerTrace.answer_id.in_(ids))
        )
        return {answer_id: json.loads(data) for answer_id, data in rows}


def joined_tags(tags: Iterable[str]) -> str:
    """Tags as stored: each on its own line, a line break before the first and after the
    last; a tag's own line breaks are spaces."""
    kept = sorted({" ".join(tag.split())[:200] for tag in tags if tag.strip()})
    return "\n" + "\n".join(kept) + "\n" if kept else ""
