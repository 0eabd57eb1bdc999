"""Erasure (/forget) and retention. Both run inside the caller's single transaction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Executable, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import (
    Chat,
    Conversation,
    DailyCount,
    DailyUsage,
    Message,
    ProcessedUpdate,
    User,
    utcnow,
)
from bot.storage.personal import personal_tables


@dataclass(frozen=True, slots=True)
class ForgetReport:
    messages: int
    conversations: int
    usage_days: int
    user: bool
    # Rows removed from the features' personal tables (bot/storage/personal.py), by table.
    features: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PurgeReport:
    conversations: int
    messages: int
    # Rows removed from the features' personal tables (bot/storage/personal.py), by table.
    features: dict[str, int] = field(default_factory=dict)


class PrivacyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def forget_user(self, user_id: int) -> ForgetReport:
        """Delete everything stored about a user; commit once to make it one transaction.

        Removes the messages they wrote in any chat and the answers to them, their private
        chat (its conversations and all their messages), their usage counters, their rows in
        the features' personal tables (image jobs, ...) and their user row.
        """
        messages = await self._delete_messages(Message.author_user_id == user_id)
        # A private chat's id is the user's id (group ids are negative, so never collide).
        private = select(Conversation.id).where(Conversation.chat_id == user_id)
        messages += await self._delete_messages(Message.conversation_id.in_(private))
        conversations = await self._count(
            delete(Conversation).where(Conversation.chat_id == user_id)
        )
        await self._count(delete(Chat).where(Chat.id == user_id))
        usage_days = await self._count(delete(DailyUsage).where(DailyUsage.user_id == user_id))
        # The features' daily counts (pictures, photos, seconds heard, web searches...).
        await self._count(delete(DailyCount).where(DailyCount.user_id == user_id))
        # The features' own tables (images: the jobs; voice: the transcripts of long notes,
        # the /voice choice, the spoken characters; the documents sent in chat;
        # bot/storage/personal.py).
        features: dict[str, int] = {}
        for table in personal_tables():
            features[table.name] = await self._count(
                delete(table.model).where(table.owned_by(user_id))
            )
        user = await self._count(delete(User).where(User.id == user_id))
        # Messages of the private chat still waiting in the durable queue go too.
        await self.session.execute(
            update(ProcessedUpdate)
            .where(ProcessedUpdate.chat_id == user_id, ProcessedUpdate.payload.is_not(None))
            .values(payload=None)
        )
        return ForgetReport(messages, conversations, usage_days, user > 0, features)

    async def purge_older_than(self, days: int, *, now: dt.datetime | None = None) -> PurgeReport:
        """Retention: remove data older than `days`.

        Closed conversations closed before the cutoff go with all their messages; in open
        conversations, messages created before the cutoff go (with the answers to them);
        the features' personal tables remove their expired rows (images: finished jobs older
        than the cutoff; unfinished jobs are kept).
        """
        if days <= 0:
            raise ValueError("retention must be a positive number of days")
        cutoff = (now or utcnow()) - dt.timedelta(days=days)
        old = select(Conversation.id).where(
            Conversation.closed_at.is_not(None), Conversation.closed_at < cutoff
        )
        messages = await self._delete_messages(Message.conversation_id.in_(old))
        conversations = await self._count(
            delete(Conversation).where(
                Conversation.closed_at.is_not(None), Conversation.closed_at < cutoff
            )
        )
        messages += await self._delete_messages(Message.created_at < cutoff)
        # The features' rows retention removes (images: finished jobs; voice: long notes'
        # transcripts once their question is stored or refused, the marks of spoken
        # questions; documents sent in chat older than the cutoff, in conversations still
        # open).
        features: dict[str, int] = {}
        for table in personal_tables():
            if table.expired is not None:
                features[table.name] = await self._count(
                    delete(table.model).where(table.expired(cutoff))
                )
        return PurgeReport(conversations, messages, features)

    async def _delete_messages(self, condition: ColumnElement[bool]) -> int:
        """Delete matching messages and the answers to them; return how many went.

        Answers go first: a question's deletion would cascade to its answer, and a cascaded
        row is not in the statement's row count.
        """
        matching = select(Message.id).where(condition)
        count = await self._count(delete(Message).where(Message.reply_to_id.in_(matching)))
        return count + await self._count(delete(Message).where(condition))

    async def _count(self, statement: Executable) -> int:
        result = await self.session.execute(
            statement, execution_options={"synchronize_session": "fetch"}
        )
        return cast(CursorResult[Any], result).rowcount
