"""Images stored with questions (by Telegram file id) and documents sent in chat."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models.base import (
    Base,
    BigIntegerPK,
    utcnow,
)


class MessageImage(Base):
    """An image a user message carried, by its Telegram file: the bytes stay with Telegram and
    are fetched again (by `file_id`) when a later turn shows the image to the model again."""

    __tablename__ = "message_images"

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)  # order within the message
    file_id: Mapped[str] = mapped_column(String(256))
    file_unique_id: Mapped[str] = mapped_column(String(128), default="")
    width: Mapped[int] = mapped_column(Integer, default=0)  # as sent to the model
    height: Mapped[int] = mapped_column(Integer, default=0)
    token_count: Mapped[int] = mapped_column(Integer, default=0)  # its cost in a prompt




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
