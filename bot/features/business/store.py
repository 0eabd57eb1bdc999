"""What chat automation keeps in the database: connections, customers' chats (each with its
own conversation), the owner's messages as history, and suggestions waiting for a press.

Every change is one short transaction; a press on "Send" claims its suggestion with one
conditional UPDATE, so it is posted once however many presses (or replicas) race for it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import case, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.features.business.models import (
    BusinessChat,
    BusinessConnection,
    BusinessSuggestion,
    SuggestionStatus,
)
from bot.plugin.storage import (
    ChatRepository,
    ConversationRepository,
    MessageRepository,
    MessageRole,
    MessageStatus,
    UsageRepository,
    utcnow,
)

# The chats table's type for a customer's chat with a connected account: Telegram calls it
# private, but the bot is not a party to it (nothing but this feature sends there).
CHAT_TYPE = "business"


@dataclass(frozen=True, slots=True)
class Connection:
    id: str
    owner_user_id: int
    owner_name: str
    owner_language: str
    user_chat_id: int
    can_reply: bool
    enabled: bool
    paused: bool
    usage_day: dt.date | None = None
    usage_tokens: int = 0

    @property
    def answers(self) -> bool:
        """Whether the bot may answer in its chats now (a model call is worth making)."""
        return self.enabled and self.can_reply and not self.paused


@dataclass(frozen=True, slots=True)
class CustomerChat:
    id: int
    connection_id: str
    chat_id: int  # Telegram's
    customer_name: str
    paused: bool
    owner_wrote_at: dt.datetime | None
    conversation_chat_id: int
    customer_username: str = ""
    last_said: str = ""

    @property
    def label(self) -> str:
        """The customer as /business names them: the name, and the @username or else the
        start of their last message (two customers may share a name)."""
        name = self.customer_name or str(self.chat_id)
        if self.customer_username:
            return f"{name} @{self.customer_username}"
        return f"{name} · {self.last_said}" if self.last_said else name


@dataclass(frozen=True, slots=True)
class Suggestion:
    id: int
    chat: CustomerChat
    answer_id: int | None
    question: str
    answer: str
    status: SuggestionStatus
    card_message_id: int | None


def _connection(row: BusinessConnection) -> Connection:
    return Connection(row.id, row.owner_user_id, row.owner_name, row.owner_language,
                      row.user_chat_id, row.can_reply, row.enabled, row.paused,
                      row.usage_day, int(row.usage_tokens or 0))


def _start_of(text: str, limit: int = 24) -> str:
    """The first words of `text` on one line, for a button."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _chat(row: BusinessChat) -> CustomerChat:
    return CustomerChat(row.id, row.connection_id, row.chat_id, row.customer_name, row.paused,
                        row.owner_wrote_at, row.conversation_chat_id,
                        row.customer_username or "", row.last_said or "")


class BusinessStore:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    # -- connections ---------------------------------------------------------------------------

    async def save_connection(
        self,
        connection_id: str,
        *,
        owner_user_id: int,
        owner_name: str,
        owner_language: str,
        user_chat_id: int,
        can_reply: bool,
        enabled: bool,
    ) -> tuple[Connection | None, Connection]:
        """Store what Telegram says of a connection; (before, after). The owner's pause stays."""
        async with self._sessionmaker() as session:
            row = await session.get(BusinessConnection, connection_id)
            before = _connection(row) if row is not None else None
            if row is None:
                row = BusinessConnection(id=connection_id, paused=False)
                session.add(row)
            row.owner_user_id, row.owner_name = owner_user_id, owner_name[:256]
            row.owner_language = owner_language[:16]
            row.user_chat_id, row.can_reply, row.enabled = user_chat_id, can_reply, enabled
            row.updated_at = utcnow()
            await session.flush()
            after = _connection(row)
            await session.commit()
        return before, after

    async def connection(self, connection_id: str) -> Connection | None:
        async with self._sessionmaker() as session:
            row = await session.get(BusinessConnection, connection_id)
            return _connection(row) if row is not None else None

    async def charge(self, connection_id: str, day: dt.date, tokens: int) -> None:
        """Add `tokens` to the connection's count for `day` (started afresh on a new day), in
        one statement: answers in its chats run side by side."""
        row = BusinessConnection
        async with self._sessionmaker() as session:
            await session.execute(
                update(row).where(row.id == connection_id).values(
                    usage_tokens=case((row.usage_day == day, row.usage_tokens + tokens),
                                      else_=tokens),
                    usage_day=day,
                ).execution_options(synchronize_session=False)
            )
            await session.commit()

    async def reserve(self, connection_id: str, day: dt.date, tokens: int, limit: int) -> bool:
        """Add `tokens` to the connection's count for `day` if the count stays within `limit`;
        whether it did. One conditional UPDATE: answers in its chats run side by side, on one
        replica or several (the row is the shared count), and two reservations never both take
        the last of the budget."""
        row = BusinessConnection
        used = case((row.usage_day == day, row.usage_tokens), else_=0)
        async with self._sessionmaker() as session:
            reserved = (await session.execute(
                update(row).where(row.id == connection_id, used + tokens <= limit)
                .values(usage_tokens=used + tokens, usage_day=day)
                .returning(row.id).execution_options(synchronize_session=False)
            )).first()
            await session.commit()
        return reserved is not None

    async def settle(self, connection_id: str, day: dt.date, reserved: int, spent: int) -> None:
        """Replace a reservation of `reserved` tokens on `day` by what was `spent` (0: released).
        A count that has moved on to a later day is left alone: that day owes nothing."""
        if spent == reserved:
            return
        row = BusinessConnection
        settled = row.usage_tokens + (spent - reserved)
        async with self._sessionmaker() as session:
            await session.execute(
                update(row).where(row.id == connection_id, row.usage_day == day)
                .values(usage_tokens=case((settled < 0, 0), else_=settled))
                .execution_options(synchronize_session=False)
            )
            await session.commit()

    async def tokens_of(self, user_id: int, day: dt.date) -> int:
        """Tokens the user's answers spent on `day` (DAILY_TOKEN_LIMIT's count)."""
        async with self._sessionmaker() as session:
            usage = await UsageRepository(session).for_user(user_id, day)
            await session.commit()
        return usage.tokens

    async def owned_by(self, user_id: int) -> list[Connection]:
        async with self._sessionmaker() as session:
            rows = await session.scalars(
                select(BusinessConnection)
                .where(BusinessConnection.owner_user_id == user_id)
                .order_by(BusinessConnection.created_at)
            )
            return [_connection(row) for row in rows]

    async def pause(self, connection_id: str, paused: bool) -> None:
        async with self._sessionmaker() as session:
            await session.execute(
                update(BusinessConnection)
                .where(BusinessConnection.id == connection_id)
                .values(paused=paused, updated_at=utcnow())
            )
            await session.commit()

    # -- customers' chats ----------------------------------------------------------------------

    async def chat(self, connection_id: str, chat_id: int, customer_name: str,
                   username: str = "", said: str = "") -> CustomerChat:
        """The customer's chat, stored (with its conversation's chat row) on first sight;
        `said`: the start of what the customer just wrote (empty: the owner wrote)."""
        async with self._sessionmaker() as session:
            row = await session.scalar(
                select(BusinessChat).where(BusinessChat.connection_id == connection_id,
                                           BusinessChat.chat_id == chat_id)
            )
            if row is None:
                row = BusinessChat(connection_id=connection_id, chat_id=chat_id,
                                   customer_name=customer_name[:256], paused=False)
                session.add(row)
                await session.flush()
                await ChatRepository(session).upsert(row.conversation_chat_id, CHAT_TYPE,
                                                     customer_name[:256] or None)
            elif customer_name and row.customer_name != customer_name[:256]:
                row.customer_name = customer_name[:256]
            if username and row.customer_username != username[:64]:
                row.customer_username = username[:64]
            if said:
                row.last_said = _start_of(said)
            found = _chat(row)
            await session.commit()
        return found

    async def chat_by_id(self, chat_row_id: int) -> CustomerChat | None:
        async with self._sessionmaker() as session:
            row = await session.get(BusinessChat, chat_row_id)
            return _chat(row) if row is not None else None

    async def chats_of(self, connection_id: str, limit: int = 8) -> list[CustomerChat]:
        """The connection's chats, the most recently active first."""
        async with self._sessionmaker() as session:
            rows = await session.scalars(
                select(BusinessChat)
                .where(BusinessChat.connection_id == connection_id)
                .order_by(BusinessChat.updated_at.desc(), BusinessChat.id.desc())
                .limit(limit)
            )
            return [_chat(row) for row in rows]

    async def pause_chat(self, chat_row_id: int, paused: bool) -> None:
        async with self._sessionmaker() as session:
            await session.execute(
                update(BusinessChat).where(BusinessChat.id == chat_row_id).values(paused=paused)
            )
            await session.commit()

    async def note(
        self,
        chat: CustomerChat,
        role: MessageRole,
        text: str,
        *,
        author_user_id: int,
        author_name: str,
        telegram_message_id: int,
        owner: bool = False,
    ) -> None:
        """A message of the chat that no turn stores: the owner's own (history as the
        account's side; the takeover starts) or a customer's the bot does not answer."""
        async with self._sessionmaker() as session:
            conversation = await ConversationRepository(session).current(
                chat.conversation_chat_id
            )
            await MessageRepository(session).insert(
                conversation.id, role, text, author_user_id=author_user_id,
                author_name=author_name, telegram_message_ids=[telegram_message_id],
            )
            values: dict[str, object] = {"updated_at": utcnow()}
            if owner:
                values["owner_wrote_at"] = utcnow()
            await session.execute(
                update(BusinessChat).where(BusinessChat.id == chat.id).values(**values)
            )
            await session.commit()

    async def touch(self, chat: CustomerChat) -> None:
        async with self._sessionmaker() as session:
            await session.execute(
                update(BusinessChat).where(BusinessChat.id == chat.id)
                .values(updated_at=utcnow())
            )
            await session.commit()

    # -- suggestions (approve mode) ------------------------------------------------------------

    async def suggest(
        self, chat: CustomerChat, answer_id: int, question: str, answer: str
    ) -> int:
        """Store a suggested answer; the stored answer leaves the prompts until it is sent
        (the model must not take for said what the customer never saw)."""
        async with self._sessionmaker() as session:
            await MessageRepository(session).update(answer_id, status=MessageStatus.CANCELLED)
            row = BusinessSuggestion(chat_id=chat.id, answer_id=answer_id, question=question,
                                     answer=answer, status=SuggestionStatus.PENDING)
            session.add(row)
            await session.flush()
            suggestion_id = row.id
            await session.commit()
        return suggestion_id

    async def set_card(self, suggestion_id: int, message_id: int) -> None:
        async with self._sessionmaker() as session:
            await session.execute(
                update(BusinessSuggestion).where(BusinessSuggestion.id == suggestion_id)
                .values(card_message_id=message_id)
            )
            await session.commit()

    async def suggestion(self, suggestion_id: int) -> Suggestion | None:
        async with self._sessionmaker() as session:
            row = await session.get(BusinessSuggestion, suggestion_id)
            if row is None:
                return None
            chat = await session.get(BusinessChat, row.chat_id)
            if chat is None:
                return None
            return Suggestion(row.id, _chat(chat), row.answer_id, row.question, row.answer,
                              row.status, row.card_message_id)

    async def move(
        self, suggestion_id: int, before: Sequence[SuggestionStatus], after: SuggestionStatus
    ) -> bool:
        """Move the suggestion from one of `before` to `after`; False when it was not in one
        (pressed already, by this replica or another)."""
        async with self._sessionmaker() as session:
            result = await session.execute(
                update(BusinessSuggestion)
                .where(BusinessSuggestion.id == suggestion_id,
                       BusinessSuggestion.status.in_(list(before)))
                .values(status=after, updated_at=utcnow())
            )
            moved = bool(getattr(result, "rowcount", 0))
            if moved and after is SuggestionStatus.SENT:
                row = await session.get(BusinessSuggestion, suggestion_id)
                if row is not None and row.answer_id is not None:  # in the history now
                    await MessageRepository(session).update(
                        row.answer_id, status=MessageStatus.COMPLETE
                    )
            await session.commit()
        return moved
