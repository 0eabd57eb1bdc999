"""Answers' traces: why each answer is what it is (bot/conversation/trace.py), one row per
answer, stored in the answer's transaction. A row goes with its answer (the foreign key
cascades), so /forget and retention erase traces with the conversation."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, Text, literal_column
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models.base import Base, utcnow


class AnswerTrace(Base):
    __tablename__ = "answer_traces"

    answer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True,
        autoincrement=False,
    )
    # The trace's JSON, bounded (TRACE_LIMIT): text, not a JSON column, so that what is
    # stored is exactly what was bounded, on either database.
    data: Mapped[str] = mapped_column(Text)
    # What the answer can be found by, one tag a line with a line break each side
    # ("\ntool:order_status\nnotfound\n"): a reader filters with LIKE '%\ntag\n%' on either
    # database, without reading the JSON.
    tags: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# Answers tagged "not found" (the grounding's tag), as the figures count them per day. The
# pattern is a literal, not a bound parameter: SQLite uses a partial index only when the
# query's WHERE holds the index's own terms, constants included.
NOT_FOUND_TAGGED = AnswerTrace.tags.like(literal_column("'%\nnotfound\n%'"))
# The answers of a period counted from the index alone: the rows hold the traces' JSON,
# which a count need not read.
Index("ix_answer_traces_created_at", AnswerTrace.created_at)
Index("ix_answer_traces_not_found", AnswerTrace.created_at,
      sqlite_where=NOT_FOUND_TAGGED, postgresql_where=NOT_FOUND_TAGGED)
