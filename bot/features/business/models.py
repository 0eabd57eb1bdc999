"""Chat automation (Bot API business connections): the accounts connected to the bot, the
customers' chats it answers in, and the answers waiting for the owner's press (approve mode).

A business chat's conversation is stored like any other, under its own chat id
(`BusinessChat.conversation_chat_id`): Telegram gives the customer's chat with the owner the
customer's user id, the same id as the customer's own private chat with the bot, and the two
histories must never mix."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.plugin.storage import Base, BigIntegerPK, TimestampMixin, string_enum

# Conversation chat ids of business chats: below every id Telegram gives (they fit in 52 bits
# and a sign: core.telegram.org/bots/api#chat), so they never meet a real chat's.
BUSINESS_CHAT_IDS_BELOW = -(2**53)


class BusinessConnection(TimestampMixin, Base):
    """A connection as Telegram last described it (`business_connection` updates, or
    getBusinessConnection), and the owner's /business pause."""

    __tablename__ = "business_connections"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    owner_user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    owner_name: Mapped[str] = mapped_column(String(256), default="")
    owner_language: Mapped[str] = mapped_column(String(16), default="")  # for what they are told
    # The owner's private chat with the bot: suggestions and notices go there.
    user_chat_id: Mapped[int] = mapped_column(BigInteger)
    can_reply: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    # Tokens the connection's customers' answers spent on `usage_day` (UTC), as a whole:
    # BUSINESS_DAILY_TOKEN_LIMIT is checked against it.
    usage_day: Mapped[dt.date | None] = mapped_column(Date, default=None)
    usage_tokens: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class BusinessChat(TimestampMixin, Base):
    """One customer's chat with a connected account."""

    __tablename__ = "business_chats"
    __table_args__ = (
        Index("uq_business_chats_connection_chat", "connection_id", "chat_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    connection_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("business_connections.id", ondelete="CASCADE")
    )
    chat_id: Mapped[int] = mapped_column(BigInteger)  # Telegram's: the customer's user id
    customer_name: Mapped[str] = mapped_column(String(256), default="")
    # The customer's @username (empty without one) and the start of their last message: how
    # /business tells two customers of one name apart.
    customer_username: Mapped[str] = mapped_column(String(64), default="", server_default="")
    last_said: Mapped[str] = mapped_column(String(64), default="", server_default="")
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    # The owner's last message in the chat: the bot keeps silent until the takeover ends.
    owner_wrote_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    @property
    def conversation_chat_id(self) -> int:
        return BUSINESS_CHAT_IDS_BELOW - self.id


class SuggestionStatus(enum.StrEnum):
    PENDING = "pending"  # with the owner, waiting for a press
    SENDING = "sending"  # "Send" pressed: being posted (never posted twice)
    SENT = "sent"
    DISCARDED = "discarded"


class BusinessSuggestion(TimestampMixin, Base):
    """An answer the owner approves before it reaches the customer (BUSINESS_REPLIES=approve)."""

    __tablename__ = "business_suggestions"
    __table_args__ = (Index("ix_business_suggestions_status", "status"),)

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    chat_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("business_chats.id", ondelete="CASCADE"), index=True
    )
    # The stored answer (kept out of prompts until it is sent).
    answer_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("messages.id", ondelete="SET NULL")
    )
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    status: Mapped[SuggestionStatus] = mapped_column(
        string_enum(SuggestionStatus), default=SuggestionStatus.PENDING
    )
    # The card in the owner's chat with the bot.
    card_message_id: Mapped[int | None] = mapped_column(BigInteger)
