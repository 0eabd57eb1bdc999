"""Voice replies, users' /voice choices and the characters synthesised per user per day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, and_, bindparam, cast, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.voice.models import (
    SpokenQuestion,
    VoicePreference,
    VoiceReply,
    VoiceReplyStatus,
    VoiceUsage,
)
from bot.plugin.storage import Conversation, Message, excluded, insert_for, utcnow


@dataclass(frozen=True, slots=True)
class VoiceDay:
    chars: int = 0
    replies: int = 0
    failures: int = 0
    notified: bool = False


_PENDING_IDS = (
    select(VoiceReply.id)
    .where(
        VoiceReply.status.in_((VoiceReplyStatus.PENDING, VoiceReplyStatus.SENDING)),
        VoiceReply.created_at < bindparam("pending_before"),
    )
    .order_by(VoiceReply.id)
)


def _voice_facts() -> Any:
    # Built once (every answer asks it). The question's Telegram id is the first of its
    # stored ids (a JSON list).
    first_id = cast(Message.telegram_message_ids[0].as_string(), BigInteger)
    spoken = (
        select(SpokenQuestion.message_id)
        .select_from(Message)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .join(
            SpokenQuestion,
            and_(
                SpokenQuestion.chat_id == Conversation.chat_id,
                SpokenQuestion.message_id == first_id,
            ),
        )
        .where(Message.id == bindparam("facts_question"))
        .scalar_subquery()
    )
    choice = (
        select(VoicePreference.enabled)
        .where(VoicePreference.user_id == bindparam("facts_user"))
        .scalar_subquery()
    )
    return select(spoken, choice)


_VOICE_FACTS = _voice_facts()


class VoiceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- the user's choice ----------------------------------------------------------------
    async def preference(self, user_id: int) -> bool | None:
        """The user's /voice on (True) or off (False); None: never chosen."""
        row = await self.session.get(VoicePreference, user_id)
        return None if row is None else row.enabled

    async def set_preference(self, user_id: int, enabled: bool) -> None:
        table = VoicePreference.__table__
        now = dt.datetime.now(dt.UTC)
        stmt = insert_for(self.session, table).values(
            user_id=user_id, enabled=enabled, created_at=now, updated_at=now
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c.user_id],
            set_={"enabled": excluded(stmt).enabled, "updated_at": now},
        )
        await self.session.execute(stmt)

    # --- daily budget -----------------------------------------------------------------------
    async def add_usage(
        self, user_id: int, day: dt.date, *, chars: int = 0, replies: int = 0, failures: int = 0
    ) -> None:
        table = VoiceUsage.__table__
        stmt = insert_for(self.session, table).values(
            user_id=user_id, day=day, chars=chars, replies=replies, failures=failures,
            notified=False,
        )
        new = excluded(stmt)
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c.user_id, table.c.day],
            set_={"chars": table.c.chars + new.chars, "replies": table.c.replies + new.replies,
                  "failures": table.c.failures + new.failures},
        )
        await self.session.execute(stmt)

    async def day(self, user_id: int, day: dt.date) -> VoiceDay:
        row = await self.session.get(VoiceUsage, (user_id, day))
        if row is None:
            return VoiceDay()
        return VoiceDay(row.chars, row.replies, row.failures, row.notified)

    async def claim_notice(self, user_id: int, day: dt.date) -> bool:
        """True once per user and day: the caller may tell the user voice failed."""
        await self.add_usage(user_id, day)
        result = await self.session.execute(
            update(VoiceUsage)
            .where(VoiceUsage.user_id == user_id, VoiceUsage.day == day,
                   VoiceUsage.notified.is_(False))
            .values(notified=True)
        )
        return bool(getattr(result, "rowcount", 0))

    async def totals(self, day: dt.date, until: dt.date | None = None) -> VoiceDay:
        """All users' counters from ``day`` to ``until`` (that day alone when None)."""
        last = until or day
        row = (
            await self.session.execute(
                select(
                    func.coalesce(func.sum(VoiceUsage.chars), 0),
                    func.coalesce(func.sum(VoiceUsage.replies), 0),
                    func.coalesce(func.sum(VoiceUsage.failures), 0),
                ).where(VoiceUsage.day >= day, VoiceUsage.day <= last)
            )
        ).one()
        return VoiceDay(int(row[0]), int(row[1]), int(row[2]))

    async def users_at_budget(self, day: dt.date, until: dt.date, budget: int) -> int:
        """Users who reached ``budget`` characters on some day of the period."""
        count = await self.session.scalar(
            select(func.count(func.distinct(VoiceUsage.user_id))).where(
                VoiceUsage.day >= day, VoiceUsage.day <= until, VoiceUsage.chars >= budget
            )
        )
        return int(count or 0)

    # --- the replies ------------------------------------------------------------------------
    async def reply_for(self, answer_id: int) -> VoiceReply | None:
        return (
            await self.session.execute(select(VoiceReply).where(VoiceReply.answer_id == answer_id))
        ).scalar_one_or_none()

    async def create_reply(
        self, *, answer_id: int, chat_id: int, user_id: int, reply_to: int | None,
        thread_id: int | None, language: str,
    ) -> VoiceReply | None:
        """A pending reply for the answer; None when it has one already (made or making)."""
        table = VoiceReply.__table__
        now = dt.datetime.now(dt.UTC)
        stmt = insert_for(self.session, table).values(
            answer_id=answer_id, chat_id=chat_id, user_id=user_id, reply_to=reply_to,
            thread_id=thread_id, language=language, status=VoiceReplyStatus.PENDING.value,
            chars=0, file_ids=[], message_ids=[], created_at=now, updated_at=now,
        ).on_conflict_do_nothing(index_elements=[table.c.answer_id])
        result = await self.session.execute(stmt)
        if not getattr(result, "rowcount", 0):
            return None
        return await self.reply_for(answer_id)

    async def pending(self, *, before: dt.datetime | None = None) -> list[VoiceReply]:
        """Replies not finished (stored before ``before`` when given), oldest first."""
        unfinished = (VoiceReplyStatus.PENDING, VoiceReplyStatus.SENDING)
        stmt = select(VoiceReply).where(VoiceReply.status.in_(unfinished))
        if before is not None:
            stmt = stmt.where(VoiceReply.created_at < before)
        return list((await self.session.execute(stmt.order_by(VoiceReply.id))).scalars())

    async def pending_ids(self, *, before: dt.datetime) -> list[int]:
        """The ids of the replies not finished that were stored before ``before`` (the
        replicas' sweep, every few seconds: a statement built once)."""
        return list(await self.session.scalars(_PENDING_IDS, {"pending_before": before}))

    async def note_sending(self, reply_id: int) -> None:
        """A voice message of the reply is about to be sent (committed before the call)."""
        await self.session.execute(
            update(VoiceReply).where(VoiceReply.id == reply_id)
            .values(status=VoiceReplyStatus.SENDING, updated_at=dt.datetime.now(dt.UTC))
        )

    async def note_sent(self, reply_id: int, file_id: str, message_id: int) -> None:
        """One more voice message of the reply is out (so a restart does not send it again)."""
        row = await self.session.get(VoiceReply, reply_id)
        if row is not None:
            row.status = VoiceReplyStatus.PENDING
            row.file_ids = [*row.file_ids, file_id]
            row.message_ids = [*row.message_ids, message_id]

    async def finish(
        self, reply_id: int, status: VoiceReplyStatus, *, chars: int = 0, error: str | None = None
    ) -> None:
        await self.session.execute(
            update(VoiceReply).where(VoiceReply.id == reply_id)
            .values(status=status, chars=chars, error=error, updated_at=dt.datetime.now(dt.UTC))
        )

    # --- questions asked by voice -----------------------------------------------------------
    async def note_spoken_question(self, chat_id: int, message_id: int, user_id: int) -> None:
        """The voice note `message_id` is a question (a replayed update: noted once)."""
        table = SpokenQuestion.__table__
        stmt = insert_for(self.session, table).values(
            chat_id=chat_id, message_id=message_id, user_id=user_id, created_at=utcnow()
        )
        await self.session.execute(
            stmt.on_conflict_do_nothing(index_elements=[table.c.chat_id, table.c.message_id])
        )

    async def voice_facts(
        self, question_id: int, user_id: int | None
    ) -> tuple[int | None, bool | None]:
        """What decides whether an answer is spoken, asked after every answer in one
        statement: the Telegram id of the stored question `question_id` when it was asked by
        voice (None: typed, or 0), and the user's /voice (`preference`)."""
        params = {"facts_question": question_id, "facts_user": user_id}
        row = (await self.session.execute(_VOICE_FACTS, params)).one()
        return row[0], row[1]
