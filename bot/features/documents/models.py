"""The documents sent in chat: one row per document, its passages kept for its conversation
(loaded for the schema by bot/features/installed.py). A personal table: its rows go with their
author on /forget and with retention (bot/storage/personal.py)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.plugin.storage import Base, BigIntegerPK, PersonalTable, register_personal, utcnow


class ChatDocument(Base):
    """A document (PDF, DOCX, text) a user sent in a chat, read and kept for its conversation:
    its passages, searched for each question (bot/features/documents/chat.py). Gone with the
    conversation (/reset, retention) and with its author (/forget)."""

    __tablename__ = "chat_documents"

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    author_user_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    file_name: Mapped[str] = mapped_column(String(256))
    # Telegram's id of the file's content: the same file sent again (or replayed) replaces it.
    file_unique_id: Mapped[str] = mapped_column(String(128), default="")
    pages: Mapped[int | None] = mapped_column(Integer)
    chars: Mapped[int] = mapped_column(Integer, default=0)  # of the passages kept
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)  # over the budget: cut
    # [[heading, text], ...]: the document's passages in reading order.
    passages: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# Documents a user sent in groups go with them on /forget (their private chat's go with its
# conversations); retention removes those older than the cutoff in conversations still open.
register_personal(
    PersonalTable(
        ChatDocument,
        expired=lambda cutoff: ChatDocument.created_at < cutoff,
        owner="author_user_id",
    ),
)
