"""The images a user message carried, stored by their Telegram file (loaded for the schema by
bot/features/installed.py); they go with their message (/forget, retention: the foreign key)."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.plugin.storage import Base, BigIntegerPK


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
