"""Documents sent in chat: stored per conversation, newest last."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.documents.models import ChatDocument
from bot.plugin.storage import Conversation


@dataclass(frozen=True, slots=True)
class StoredChatDocument:
    id: int
    file_name: str
    pages: int | None
    passages: list[tuple[str, str]]  # (heading, text)


class ChatDocumentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        conversation_id: int,
        *,
        author_user_id: int | None,
        file_name: str,
        file_unique_id: str,
        pages: int | None,
        passages: Sequence[tuple[str, str]],
        truncated: bool,
        keep: int,
    ) -> int:
        """Store a document; the same file (by `file_unique_id`) in the conversation is
        replaced, and only the newest `keep` documents of the conversation stay."""
        if file_unique_id:
            await self.session.execute(
                delete(ChatDocument).where(
                    ChatDocument.conversation_id == conversation_id,
                    ChatDocument.file_unique_id == file_unique_id,
                )
            )
        row = ChatDocument(
            conversation_id=conversation_id, author_user_id=author_user_id,
            file_name=file_name[:256], file_unique_id=file_unique_id, pages=pages,
            chars=sum(len(text) for _, text in passages), truncated=truncated,
            passages=[[heading, text] for heading, text in passages],
        )
        self.session.add(row)
        await self.session.flush()
        older = (
            select(ChatDocument.id)
            .where(ChatDocument.conversation_id == conversation_id)
            .order_by(ChatDocument.id.desc())
            .offset(keep)
        )
        await self.session.execute(delete(ChatDocument).where(ChatDocument.id.in_(older)))
        return row.id

    async def for_conversation(self, conversation_id: int) -> list[StoredChatDocument]:
        rows = await self.session.execute(
            select(ChatDocument.id, ChatDocument.file_name, ChatDocument.pages,
                   ChatDocument.passages)
            .where(ChatDocument.conversation_id == conversation_id)
            .order_by(ChatDocument.id)
        )
        return [
            StoredChatDocument(id_, name, pages, [(str(h), str(t)) for h, t in passages])
            for id_, name, pages, passages in rows
        ]

    async def any_in(self, conversation_id: int) -> bool:
        found = await self.session.scalar(
            select(ChatDocument.id).where(ChatDocument.conversation_id == conversation_id)
            .limit(1)
        )
        return found is not None

    async def delete_for_chat(self, chat_id: int) -> int:
        """Every document of the chat's conversations (/reset)."""
        conversations = select(Conversation.id).where(Conversation.chat_id == chat_id)
        result = await self.session.execute(
            delete(ChatDocument).where(ChatDocument.conversation_id.in_(conversations))
        )
        return int(getattr(result, "rowcount", 0) or 0)
