"""Housekeeping: retention (RETENTION_DAYS), old update claims, answers a crash cut short."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, Select, bindparam, select, union
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from bot.storage.models import (
    UNFINISHED_ANSWER,
    Chat,
    Conversation,
    Message,
    MessageRole,
    User,
    UserRole,
)
from bot.storage.repositories import PrivacyRepository, UpdateRepository

log = logging.getLogger(__name__)

# Telegram keeps an undelivered update for 24 hours; claims older than that guard nothing.
CLAIM_TTL = dt.timedelta(days=2)


async def purge_once(sessionmaker: async_sessionmaker[AsyncSession], days: int) -> None:
    async with sessionmaker() as session:
        report = await PrivacyRepository(session).purge_older_than(days)
        await session.commit()
    features = ", ".join(f"{count} {table}" for table, count in report.features.items() if count)
    if report.messages or report.conversations or features:
        log.info(
            "retention: removed %d conversations, %d messages%s older than %d days",
            report.conversations,
            report.messages,
            f" and rows of the features' tables ({features})" if features else "",
            days,
        )


async def purge_forever(
    sessionmaker: async_sessionmaker[AsyncSession], days: int, interval: float = 3600.0
) -> None:
    while True:
        try:
            await purge_once(sessionmaker, days)
        except Exception:
            log.exception("retention purge failed; retrying in %.0f s", interval)
        await asyncio.sleep(interval)


async def prune_updates_forever(
    sessionmaker: async_sessionmaker[AsyncSession], bot_id: int, interval: float = 3600.0
) -> None:
    while True:
        try:
            async with sessionmaker() as session:
                removed = await UpdateRepository(session, bot_id).prune(CLAIM_TTL)
                await session.commit()
            log.debug("forgot %d old update claims", removed)
        except Exception:
            log.exception("pruning update claims failed; retrying in %.0f s", interval)
        await asyncio.sleep(interval)


@dataclass(frozen=True, slots=True)
class InterruptedTurn:
    """An answer a killed process left `streaming`: who asked what, where."""

    chat_id: int
    chat_type: str
    author_id: int
    author_name: str
    language: str | None
    question_telegram_id: int | None
    # Messages that showed the partial answer (groups stream into a real message).
    stale_message_ids: tuple[int, ...] = ()
    asked_at: dt.datetime | None = None
    # The asker's stored admin role: the resumed turn is judged by the one rule again
    # (AccessPolicy.is_admin), as the update that asked was.
    stored_admin: bool = False


# Built once: building a statement costs more CPU than PostgreSQL spends running this one.
_UNFINISHED_IN_CHAT = (
    select(Message.id)
    .join(Conversation, Conversation.id == Message.conversation_id)
    .where(UNFINISHED_ANSWER, Conversation.chat_id == bindparam("chat_id"))
    .limit(1)
)


async def has_unfinished(session: AsyncSession, chat_id: int) -> bool:
    """Whether the chat has an answer left `streaming` or undelivered (almost never: only
    after a replica died mid-answer), before the costlier reads that recover it."""
    found = await session.execute(_UNFINISHED_IN_CHAT, {"chat_id": chat_id})
    return found.first() is not None


OWN_CHAT_TYPES = ("private", "group", "supergroup")


async def interrupted_turns(
    session: AsyncSession, chat_id: int | None = None
) -> list[InterruptedTurn]:
    """Answers left `streaming` in open conversations, one per chat (the newest); with
    `chat_id`, that chat's only (read by the holder of its lease, see chatleases.py).

    Read before `MessageRepository.fail_streaming()` marks them failed (in the same
    transaction: bot/telegram/backlog.py), so they can be answered again.
    """
    question = aliased(Message)
    stmt = (
        select(
            Conversation.chat_id,
            Chat.type,
            question.author_user_id,
            question.author_name,
            User.language,
            question.telegram_message_ids,
            Message.telegram_message_ids,
            question.created_at,
            User.role,
        )
        .select_from(Message)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .join(Chat, Chat.id == Conversation.chat_id)
        .join(question, question.id == Message.reply_to_id)
        .outerjoin(User, User.id == question.author_user_id)
        .where(
            UNFINISHED_ANSWER,
            Message.role == MessageRole.ASSISTANT,
            Conversation.closed_at.is_(None),
            # Only chats the bot itself talks in: a chat kept under another type (a connected
            # account's, answered as its owner) is no place to answer again unasked.
            Chat.type.in_(OWN_CHAT_TYPES),
        )
        .order_by(Message.id.desc())
    )
    if chat_id is not None:
        stmt = stmt.where(Conversation.chat_id == chat_id)
    rows = (await session.execute(stmt)).all()
    turns: dict[int, InterruptedTurn] = {}
    for (chat_id, chat_type, author_id, name, language, telegram_ids, shown_in, asked,
         role) in rows:
        if chat_id in turns or author_id is None:
            continue
        first_id = telegram_ids[0] if telegram_ids else None
        turns[chat_id] = InterruptedTurn(
            chat_id,
            chat_type,
            author_id,
            name or "",
            language,
            first_id,
            tuple(shown_in or ()),
            asked,
            role == UserRole.ADMIN,
        )
    return list(turns.values())


def streaming_chats_query(updated_before: dt.datetime | BindParameter[Any]) -> Select[int]:
    """The query `streaming_chats` runs (its plan is tested: it reads the partial index of
    unfinished answers, not the messages table)."""
    return (
        select(Conversation.chat_id)
        .select_from(Message)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(UNFINISHED_ANSWER, Message.updated_at < updated_before)
        .distinct()
    )


def _left_undone() -> Any:
    # Built once: the sweep runs every second across the cluster, and building this union
    # cost more CPU than running it (py-spy over idle replicas).
    pending = UpdateRepository.pending_chats_query_for(bindparam("sweep_bot_id"),
                                                       bindparam("sweep_before"))
    return union(pending, streaming_chats_query(bindparam("sweep_before")))


_LEFT_UNDONE = _left_undone()


async def chats_left_undone(session: AsyncSession, bot_id: int, before: dt.datetime) -> list[int]:
    """Chats with updates queued or an answer unfinished since before `before`
    (`UpdateRepository.pending_chats_query_for` and `streaming_chats` together): the
    replicas' sweep, in one statement."""
    params = {"sweep_bot_id": bot_id, "sweep_before": before}
    return list(await session.scalars(_LEFT_UNDONE, params))


async def streaming_chats(session: AsyncSession, updated_before: dt.datetime) -> list[int]:
    """Chats with an answer `streaming` (or stored but not delivered) since before
    `updated_before`: with several replicas, those whose lease is free were left by a replica
    that died (chatleases.py sweeps them)."""
    rows = (await session.execute(streaming_chats_query(updated_before))).all()
    return [row[0] for row in rows]
