"""The schema's foundation: the declarative base, its naming convention, UTC timestamps,
enums stored as short strings, and the enums the chat tables use.

Portable between SQLite and PostgreSQL: enums are stored as short strings (no native enum
types, so adding a value never needs a migration on either database), timestamps are stored
as UTC and always come back timezone-aware, and every constraint is named through the
metadata's naming convention so Alembic batch mode can rebuild SQLite tables.

Telegram ids (users, chats, messages) are 64-bit. Surrogate keys use `BigIntegerPK`, which is
BIGINT on PostgreSQL and INTEGER on SQLite, where only `INTEGER PRIMARY KEY` is the rowid
alias that auto-increments.
"""
from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    Enum,
    Integer,
    MetaData,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

BigIntegerPK = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def utc_today() -> dt.date:
    """Today in UTC: the day daily budgets and usage count in."""
    return dt.datetime.now(dt.UTC).date()


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite drops the offset on its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use an aware datetime")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class MessageRole(StrEnum):
    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"


class MessageStatus(StrEnum):
    COMPLETE = "complete"
    STREAMING = "streaming"
    CANCELLED = "cancelled"
    FAILED = "failed"
    TRUNCATED = "truncated"
    # Tools: the turn waits for the user's press on a call to confirm; the press
    # (or the call's expiry) carries it on. Not in prompts, not swept as unfinished.
    WAITING = "waiting"


class UserRole(StrEnum):
    USER = "user"
    ADMIN = "admin"


def string_enum(cls: type[StrEnum]) -> Enum:
    # Stored by value ("complete"), as VARCHAR(32) without a CHECK constraint: a new member is
    # a code change only, never a table rebuild.
    return Enum(
        cls,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dt.datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
