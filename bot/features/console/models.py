"""The console's tables: one-time sign-in links and sessions (stored, so that any replica
honours them and a link is used once among all), and the audit of what was done in it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.plugin.storage import Base, BigIntegerPK, utcnow


class ConsoleLink(Base):
    """A sign-in link sent to an admin: only its token's digest is kept."""

    __tablename__ = "console_links"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()
    used_at: Mapped[dt.datetime | None] = mapped_column()


class ConsoleSession(Base):
    """A signed-in browser: the digest of its cookie, whose admin, its CSRF token."""

    __tablename__ = "console_sessions"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The admin's Telegram id; 0 for one signed in with the company's provider (`identity`).
    user_id: Mapped[int] = mapped_column(BigInteger)
    # Signed in with the company's OpenID Connect provider: the e-mail it vouched for.
    identity: Mapped[str] = mapped_column(String(320), default="")
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()


class ConsoleAudit(Base):
    """One action in the console (signed in, a refused link, a conversation read, signed
    out): who, when, what."""

    __tablename__ = "console_audit"
    __table_args__ = (Index("ix_console_audit_at", "at"),)

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")


class ConsoleVerdict(Base):
    """A lead's own verdict on a conversation (resolved or not), which the console checks the
    conversation scorer against; it goes with the conversation (the foreign key cascades)."""

    __tablename__ = "console_verdicts"

    conversation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True,
        autoincrement=False)
    user_id: Mapped[int] = mapped_column(BigInteger)
    resolved: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
