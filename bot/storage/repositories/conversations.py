"""Conversations: a chat's thread, its state, and starting a new one (the messages are in
messages.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import (
    Chat,
    Conversation,
    Message,
    utcnow,
)
from bot.storage.repositories._upsert import insert_for, prebuilt
from bot.storage.repositories.window import (
    PROMPT_STATUSES,
    HistoryEntry,
    chars_as_tokens,
)

__all__ = [
    "PROMPT_STATUSES",
    "ChatState",
    "ConversationRepository",
    "HistoryEntry",
    "Turn",
    "chars_as_tokens",
]


@dataclass(frozen=True, slots=True)
class Turn:
    """The newest user message of a conversation and the answer stored after it, if any."""

    user: Message
    answer: Message | None


@dataclass(frozen=True, slots=True)
class ChatState:
    """A stored chat as a turn needs it: its row and its open conversation (None if none)."""

    type: str
    title: str | None
    model: str | None
    system_prompt: str | None
    conversation_id: int | None


# The hot path of a turn runs prebuilt Core statements on the tables (not ORM units of work):
# SQLAlchemy then only looks the compiled form up in its cache, and no ORM flush machinery
# runs. Bound parameter names differ from the column names (SQLAlchemy reserves those in SET).
_messages = cast(Table, Message.__table__)
_conversations = cast(Table, Conversation.__table__)
_chats = cast(Table, Chat.__table__)

_CHAT_STATE = (
    select(
        _chats.c.type,
        _chats.c.title,
        _chats.c.model,
        _chats.c.system_prompt,
        _conversations.c.id,
    )
    .select_from(
        _chats.outerjoin(
            _conversations,
            and_(_conversations.c.chat_id == _chats.c.id, _conversations.c.closed_at.is_(None)),
        )
    )
    .where(_chats.c.id == bindparam("chat_id"))
)


def _open_conversation(insert: Any) -> Any:
    return (
        insert(_conversations)
        .values(chat_id=bindparam("open_chat_id"), opened_at=bindparam("open_at"))
        .on_conflict_do_nothing(
            index_elements=[_conversations.c.chat_id],
            index_where=_conversations.c.closed_at.is_(None),
        )
        .returning(_conversations.c.id)
    )


class ConversationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def chat_state(self, chat_id: int) -> ChatState | None:
        """The chat's type, title and settings with its open conversation's id, in one read;
        None when the chat is not stored."""
        row = (await self.session.execute(_CHAT_STATE, {"chat_id": chat_id})).first()
        return None if row is None else ChatState(*row)

    async def current(self, chat_id: int) -> Conversation:
        """The chat's open conversation, opened now if there is none.

        The chat row must exist (ChatRepository.upsert). Race-safe: a partial unique index
        allows one open conversation per chat and the insert is ON CONFLICT DO NOTHING.
        """
        found = await self._open(chat_id)
        if found is not None:
            return found
        stmt = insert_for(self.session, Conversation).values(chat_id=chat_id, opened_at=utcnow())
        stmt = stmt.on_conflict_do_nothing(
            index_elements=[Conversation.chat_id], index_where=Conversation.closed_at.is_(None)
        )
        await self.session.execute(stmt)
        opened = await self._open(chat_id)
        assert opened is not None, "the open conversation vanished inside our transaction"
        return opened

    async def open_id(self, chat_id: int) -> int:
        """The id of the chat's open conversation, opened now if there is none: for a caller
        that read none a moment ago, one INSERT ... RETURNING (`current` reads, inserts and
        reads again); a conversation another transaction opened since is read. The chat row
        must exist."""
        opened = await self.session.scalar(
            prebuilt(self.session, "open_conversation", _open_conversation),
            {"open_chat_id": chat_id, "open_at": utcnow()},
        )
        if opened is not None:
            return int(opened)
        return (await self.current(chat_id)).id

    async def reset(self, chat_id: int) -> Conversation:
        """Close the chat's open conversation (kept for the record) and open a new one."""
        await self.close_open(chat_id)
        return await self.current(chat_id)

    async def close_open(self, chat_id: int) -> None:
        await self.session.execute(
            update(Conversation)
            .where(Conversation.chat_id == chat_id, Conversation.closed_at.is_(None))
            .values(closed_at=utcnow())
        )

    async def get(self, conversation_id: int) -> Conversation | None:
        return await self.session.get(Conversation, conversation_id)

    async def for_chat(self, chat_id: int) -> list[Conversation]:
        """All of a chat's conversations, oldest first."""
        rows = await self.session.scalars(
            select(Conversation).where(Conversation.chat_id == chat_id).order_by(Conversation.id)
        )
        return list(rows)

    async def _open(self, chat_id: int) -> Conversation | None:
        return await self.session.scalar(
            select(Conversation)
            .where(Conversation.chat_id == chat_id, Conversation.closed_at.is_(None))
            .execution_options(populate_existing=True)
        )
