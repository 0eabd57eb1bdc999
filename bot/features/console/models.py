"""The console's tables: one-time sign-in links and sessions (stored, so that any replica
honours them and a link is used once among all), the audit of what was done in it, the
lead's verdicts and the eval cases being drafted."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from bot.plugin.storage import Base, BigIntegerPK, utcnow

# A draft still to be made: one per conversation at most.
UNFINISHED = text("status IN ('pending', 'running')")


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


class DraftStatus(StrEnum):
    PENDING = "pending"  # stored; not submitted yet (or to be submitted again after a retry)
    RUNNING = "running"  # submitted: `operation_id` is Yandex's operation, polled
    DONE = "done"
    FAILED = "failed"


class ConsoleCaseDraft(Base):
    """A press of "make an eval case": who asked, the criteria typed, where the case goes,
    and the drafting's state (durable: a restart resumes polling `operation_id`, never
    submits again once it is known). Whoever drafts holds the row's lease (`owner`,
    `lease_until`), taken by one conditional UPDATE. At most one unfinished per conversation
    (a partial unique index); it goes with the conversation (the foreign key cascades)."""

    __tablename__ = "console_case_drafts"
    __table_args__ = (
        Index("uq_console_case_drafts_unfinished", "conversation_id", unique=True,
              sqlite_where=UNFINISHED, postgresql_where=UNFINISHED),
        Index("ix_console_case_drafts_status", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(BigInteger)  # the admin (0: signed in by provider)
    identity: Mapped[str] = mapped_column(String(320), default="")
    criteria: Mapped[str] = mapped_column(Text, default="")
    to_file: Mapped[bool] = mapped_column(Boolean)  # EVAL_CASES_FILE; else downloaded
    status: Mapped[str] = mapped_column(String(16), default=DraftStatus.PENDING.value)
    operation_id: Mapped[str | None] = mapped_column(String(128))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[dt.datetime | None] = mapped_column()
    case_text: Mapped[str] = mapped_column(Text, default="")
    written: Mapped[str] = mapped_column(String(1000), default="")  # the file's path
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column()
