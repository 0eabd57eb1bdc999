"""Dialect-aware INSERT ... ON CONFLICT for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import bindparam
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
    return _insert(dialect_name(session), table)


_PREBUILT: dict[tuple[str, str], Any] = {}


def prebuilt(session: AsyncSession, key: str, build: Callable[[Callable[[Any], Any]], Any]) -> Any:
    """A statement built once per dialect: `build(insert)` gets `insert_for` for the session's
    dialect and should use bind parameters for the values. Statements run on every update
    are built once instead of per call (construction and coercion cost more than the cached
    compilation)."""
    name = dialect_name(session)
    stmt = _PREBUILT.get((key, name))
    if stmt is None:
        stmt = _PREBUILT[(key, name)] = build(lambda table: _insert(name, table))
    return stmt


def _insert(name: str, table: Any) -> Any:
    if name == "sqlite":
        return sqlite.insert(table)
    if name == "postgresql":
        return postgresql.insert(table)
    raise NotImplementedError(f"fmbot storage supports sqlite and postgresql, not {name}")


def excluded(stmt: Insert) -> Any:
    """The EXCLUDED pseudo-row of an upsert (the values that were proposed)."""
    return stmt.excluded  # type: ignore[attr-defined]


def summing(
    insert: Callable[[Any], Any], table: Any, keys: Sequence[str], counters: Sequence[str],
    prefix: str,
) -> Any:
    """An upsert of one row of counters: inserted as given, or each counter added to the row
    of the same `keys`. Every column is a bind parameter named `prefix` + its name. Built on
    the table, not the mapped class: a Core statement skips the ORM's bulk-insert layer."""
    stmt = insert(table).values(
        {name: bindparam(prefix + name) for name in (*keys, *counters)})
    new = excluded(stmt)
    return stmt.on_conflict_do_update(
        index_elements=[table.c[name] for name in keys],
        set_={name: table.c[name] + new[name] for name in counters},
    )
