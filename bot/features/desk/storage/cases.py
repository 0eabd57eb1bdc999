"""The support desk's cases, topics and answered turns (relays: desk_relays.py; erasure and
its counts: desk_erasure.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.desk.storage.models import DeskCase, DeskStatus, DeskTopic, DeskTurn
from bot.plugin.storage import Conversation, Message, MessageRole, dialect_name

OWNED = (DeskStatus.WAITING, DeskStatus.WITH_OPERATOR)


class DeskRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_user(self, user_id: int) -> None:
        """On PostgreSQL, wait for and hold until the transaction ends the lock on the user's
        desk state (an advisory lock, so it needs no row: a user may have no case yet).
        Nothing on SQLite, where one process serves the bot and writers queue anyway."""
        if dialect_name(self.session) != "postgresql":
            return
        await self.session.execute(
            select(func.pg_advisory_xact_lock(func.hashtextextended(f"desk-user:{user_id}", 0)))
        )

    # -- cases -----------------------------------------------------------------------------------
    async def current_case(self, user_id: int) -> DeskCase | None:
        """The user's newest case unless it is resolved."""
        case = await self.session.scalar(
            select(DeskCase)
            .where(DeskCase.user_id == user_id)
            .order_by(DeskCase.id.desc())
            .limit(1)
        )
        if case is None or case.status is DeskStatus.RESOLVED:
            return None
        return case

    async def latest_case(self, user_id: int) -> DeskCase | None:
        return await self.session.scalar(
            select(DeskCase)
            .where(DeskCase.user_id == user_id)
            .order_by(DeskCase.id.desc())
            .limit(1)
        )

    async def open_case(
        self, user_id: int, name: str, language: str | None, now: dt.datetime
    ) -> DeskCase:
        case = DeskCase(
            user_id=user_id,
            user_name=name[:256],
            language=language,
            status=DeskStatus.BOT,
            opened_at=now,
            last_user_at=now,
            not_found_streak=0,
            csat_comment_pending=False,
        )
        self.session.add(case)
        await self.session.flush()
        return case

    async def get_case(self, case_id: int) -> DeskCase | None:
        return await self.session.get(DeskCase, case_id)

    async def owned_user_ids(self) -> list[int]:
        rows = await self.session.scalars(
            select(DeskCase.user_id).where(DeskCase.status.in_(OWNED))
        )
        return list(rows)

    async def user_state(self, user_id: int) -> tuple[bool, bool]:
        """(a person owns the user's conversation, the user is to write a rating comment)."""
        owned = select(DeskCase.id).where(DeskCase.user_id == user_id, DeskCase.status.in_(OWNED))
        commenting = select(DeskCase.id).where(
            DeskCase.user_id == user_id, DeskCase.csat_comment_pending.is_(True)
        )
        row = (await self.session.execute(select(owned.exists(), commenting.exists()))).one()
        return bool(row[0]), bool(row[1])

    async def commenting_user_ids(self) -> list[int]:
        rows = await self.session.scalars(
            select(DeskCase.user_id).where(DeskCase.csat_comment_pending.is_(True))
        )
        return list(rows)

    async def cases_without_card(self) -> list[DeskCase]:
        """Handoffs a stop interrupted before their card was posted."""
        rows = await self.session.scalars(
            select(DeskCase).where(DeskCase.status.in_(OWNED), DeskCase.card_message_id.is_(None))
        )
        return list(rows)

    async def pending_comment_case(self, user_id: int) -> DeskCase | None:
        return await self.session.scalar(
            select(DeskCase)
            .where(DeskCase.user_id == user_id, DeskCase.csat_comment_pending.is_(True))
            .order_by(DeskCase.id.desc())
            .limit(1)
        )

    async def rated_without_comment(self, user_id: int) -> DeskCase | None:
        """The user's newest case, when it is rated and has no comment yet."""
        case = await self.session.scalar(
            select(DeskCase)
            .where(DeskCase.user_id == user_id)
            .order_by(DeskCase.id.desc())
            .limit(1)
        )
        if case is None or case.csat_score is None or case.csat_comment is not None:
            return None
        return case

    async def cases_between(self, start: dt.datetime, end: dt.datetime) -> list[DeskCase]:
        rows = await self.session.scalars(
            select(DeskCase)
            .where(DeskCase.opened_at >= start, DeskCase.opened_at <= end)
            .order_by(DeskCase.id)
        )
        return list(rows)

    # -- topics ----------------------------------------------------------------------------------
    async def topic(self, user_id: int) -> DeskTopic | None:
        return await self.session.get(DeskTopic, user_id)

    async def topic_by_thread(self, chat_id: int, thread_id: int) -> DeskTopic | None:
        return await self.session.scalar(
            select(DeskTopic).where(DeskTopic.chat_id == chat_id, DeskTopic.thread_id == thread_id)
        )

    async def set_topic(self, user_id: int, chat_id: int, thread_id: int) -> None:
        topic = await self.session.get(DeskTopic, user_id)
        if topic is None:
            self.session.add(
                DeskTopic(user_id=user_id, chat_id=chat_id, thread_id=thread_id, closed=False)
            )
        else:
            topic.chat_id, topic.thread_id, topic.closed = chat_id, thread_id, False
        await self.session.flush()

    async def drop_topic(self, user_id: int) -> None:
        await self.session.execute(delete(DeskTopic).where(DeskTopic.user_id == user_id))

    # -- turns -----------------------------------------------------------------------------------
    async def add_turn(
        self,
        case: DeskCase,
        question: str,
        not_found: bool,
        sources: Sequence[str],
        answer_message_id: int | None,
        now: dt.datetime,
        question_message_id: int | None = None,
    ) -> DeskTurn:
        turn = DeskTurn(
            case_id=case.id,
            question=question,
            not_found=not_found,
            sources=list(sources),
            answer_message_id=answer_message_id,
            question_message_id=question_message_id,
            created_at=now,
        )
        self.session.add(turn)
        await self.session.flush()
        return turn

    async def first_questions(self, case_ids: Sequence[int]) -> dict[int, int]:
        """Each case's first answered question (its message id): where its dialogue starts."""
        if not case_ids:
            return {}
        rows = await self.session.execute(
            select(DeskTurn.case_id, func.min(DeskTurn.question_message_id))
            .where(DeskTurn.case_id.in_(list(case_ids)),
                   DeskTurn.question_message_id.is_not(None))
            .group_by(DeskTurn.case_id)
        )
        return {int(case): int(first) for case, first in rows.all() if first is not None}

    async def turn_for_question(self, case_id: int, question_message_id: int) -> DeskTurn | None:
        return await self.session.scalar(
            select(DeskTurn).where(
                DeskTurn.case_id == case_id, DeskTurn.question_message_id == question_message_id
            )
        )

    async def get_turn(self, turn_id: int) -> DeskTurn | None:
        return await self.session.get(DeskTurn, turn_id)

    async def turns_of(self, case_ids: Sequence[int]) -> list[DeskTurn]:
        if not case_ids:
            return []
        rows = await self.session.scalars(
            select(DeskTurn).where(DeskTurn.case_id.in_(case_ids)).order_by(DeskTurn.id)
        )
        return list(rows)

    async def recent_dialogue(
        self, user_id: int, limit: int, *, before: dt.datetime | None = None,
        from_id: int | None = None, below_id: int | None = None,
    ) -> list[tuple[str, str]]:
        """The last ``limit`` messages of the user's private chat (stored before `before`,
        and from the message `from_id` up to below `below_id`, when given), oldest first:
        (role, text); role "operator" for what a person answered (an assistant message with
        an author)."""
        query = (
            select(Message.role, Message.text, Message.author_user_id)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Conversation.chat_id == user_id, Message.role != MessageRole.SYSTEM)
        )
        if before is not None:
            query = query.where(Message.created_at < before)
        if from_id is not None:
            query = query.where(Message.id >= from_id)
        if below_id is not None:
            query = query.where(Message.id < below_id)
        rows = (await self.session.execute(query.order_by(Message.id.desc()).limit(limit))).all()
        return [
            ("operator" if role is MessageRole.ASSISTANT and author else str(role), text)
            for role, text, author in reversed(rows)
        ]

    async def question_of(self, message_id: int) -> str:
        return (
            await self.session.scalar(select(Message.text).where(Message.id == message_id)) or ""
        )
