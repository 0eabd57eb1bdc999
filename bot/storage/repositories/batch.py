"""Statements run back to back, then the commit, in one pass through SQLAlchemy's greenlet.

Every awaited `AsyncSession` call (`execute`, `commit`, `close`) starts a greenlet of its own
to run the synchronous Session (https://docs.sqlalchemy.org/en/20/orm/extensions/asyncio.html,
"Running Synchronous Methods and Functions under asyncio"); statements that need nothing
awaited between them can share one, through the public `AsyncSession.run_sync`. A turn's
units of work end so: the answer's trace, the question's count and the day's usage, then the
commit (bench/bench_turn_sql.py measures what it saves).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Executable, Result
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

Statement = tuple[Executable, Mapping[str, Any]]
"""A statement and its parameters, as `AsyncSession.execute` takes them."""


async def commit_with(session: AsyncSession, statements: Sequence[Statement]) -> list[Result[Any]]:
    """Execute `statements` in order in the session's transaction, then commit; their results,
    in order. A statement that fails raises as `execute` would: nothing is committed, and the
    transaction is left for the caller to roll back (closing the session does)."""

    def run(sync: Session) -> list[Result[Any]]:
        results = [sync.execute(statement, params) for statement, params in statements]
        sync.commit()
        return results

    return await session.run_sync(run)
