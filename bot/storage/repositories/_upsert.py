"""Dialect-aware INSERT ... ON CONFLICT for SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert


def dialect_name(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def insert_for(session: AsyncSession, table: Any) -> Any:
    """An INSERT construct that has on_conflict_do_nothing/update for this session's dialect.

    Returns `sqlite.Insert` or `postgresql.Insert` (same API); raises for other backends, which
    fmbot does not support.
    """
    name = dialect_name(session)
    if name == "sqlite":
        return sqlite.insert(table)
    if name == "postgresql":
        return postgresql.insert(table)
    raise NotImplementedError(f"fmbot storage supports sqlite and postgresql, not {name}")


def excluded(stmt: Insert) -> Any:
    """The EXCLUDED pseudo-row of an upsert (the values that were proposed)."""
    return stmt.excluded  # type: ignore[attr-defined]
