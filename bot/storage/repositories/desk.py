"""The support desk's tables: cases, topics, relays, turns, erasure counts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, Executable, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import (
    Conversation,
    DeskCase,
    DeskErasure,
    DeskRelay,
    DeskStatus,
    DeskTopic,
    DeskTurn,
    FaqDraft,
    FaqDraftStatus,
    Message,
    MessageRole,
    RelayDirection,
    RelayState,
)
from bot.storage.repositories._upsert import dialect_name

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

    # -- relays ----------------------------------------------------------------------------------
    async def add_relay(
        self,
        case: DeskCase,
        direction: RelayDirection,
        source: tuple[int, int],
        target_chat_id: int,
        thread_id: int | None,
        now: dt.datetime,
    ) -> DeskRelay | None:
        """A pending relay; None when that source message was relayed (or queued) already."""
        known = await self.session.scalar(
            select(DeskRelay.id).where(
                DeskRelay.source_chat_id == source[0], DeskRelay.source_message_id == source[1]
            )
        )
        if known is not None:
            return None
        relay = DeskRelay(
            case_id=case.id,
            user_id=case.user_id,
            direction=direction,
            source_chat_id=source[0],
            source_message_id=source[1],
            target_chat_id=target_chat_id,
            thread_id=thread_id,
            state=RelayState.PENDING,
            created_at=now,
        )
        self.session.add(relay)
        await self.session.flush()
        return relay

    async def relay_by_source(self, chat_id: int, message_id: int) -> DeskRelay | None:
        return await self.session.scalar(
            select(DeskRelay).where(
                DeskRelay.source_chat_id == chat_id, DeskRelay.source_message_id == message_id
            )
        )

    async def relay_by_target(self, chat_id: int, message_id: int) -> DeskRelay | None:
        return await self.session.scalar(
            select(DeskRelay).where(
                DeskRelay.target_chat_id == chat_id, DeskRelay.target_message_id == message_id
            )
        )

    async def pending_relays(self) -> list[DeskRelay]:
        rows = await self.session.scalars(
            select(DeskRelay).where(DeskRelay.state == RelayState.PENDING).order_by(DeskRelay.id)
        )
        return list(rows)

    async def still_pending(self, ids: Sequence[int]) -> set[int]:
        rows = await self.session.scalars(
            select(DeskRelay.id).where(
                DeskRelay.id.in_(ids), DeskRelay.state == RelayState.PENDING
            )
        )
        return set(rows)

    async def finish_relays(self, done: Sequence[tuple[int, int]], now: dt.datetime) -> None:
        """``done``: (relay id, the copy's message id) pairs."""
        for relay_id, target in done:
            await self.session.execute(
                update(DeskRelay)
                .where(DeskRelay.id == relay_id)
                .values(target_message_id=target, state=RelayState.DONE, done_at=now)
            )

    async def fail_relays(self, ids: Sequence[int], error: str, now: dt.datetime) -> None:
        await self.session.execute(
            update(DeskRelay)
            .where(DeskRelay.id.in_(ids))
            .values(state=RelayState.FAILED, error=error[:1000], done_at=now)
        )

    async def relay_count(self, case_id: int, direction: RelayDirection) -> int:
        return int(
            await self.session.scalar(
                select(func.count(DeskRelay.id)).where(
                    DeskRelay.case_id == case_id, DeskRelay.direction == direction
                )
            )
            or 0
        )

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

    async def relays_of(self, case_id: int) -> list[DeskRelay]:
        rows = await self.session.scalars(
            select(DeskRelay).where(DeskRelay.case_id == case_id).order_by(DeskRelay.id)
        )
        return list(rows)

    async def recent_dialogue(
        self, user_id: int, limit: int, *, before: dt.datetime | None = None
    ) -> list[tuple[str, str]]:
        """The last ``limit`` messages of the user's private chat (stored before `before`, when
        given), oldest first: (role, text); role "operator" for what a person answered (an
        assistant message with an author)."""
        query = (
            select(Message.role, Message.text, Message.author_user_id)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Conversation.chat_id == user_id, Message.role != MessageRole.SYSTEM)
        )
        if before is not None:
            query = query.where(Message.created_at < before)
        rows = (await self.session.execute(query.order_by(Message.id.desc()).limit(limit))).all()
        return [
            ("operator" if role is MessageRole.ASSISTANT and author else str(role), text)
            for role, text, author in reversed(rows)
        ]

    async def question_of(self, message_id: int) -> str:
        return (
            await self.session.scalar(select(Message.text).where(Message.id == message_id)) or ""
        )

    # -- erasure ---------------------------------------------------------------------------------
    async def erase_cases(self, condition: Any) -> tuple[int, set[int]]:
        """Delete matching cases (with their relays and turns), counting them per opening day;
        returns (how many, their users)."""
        rows = (
            await self.session.execute(
                select(DeskCase.opened_at, DeskCase.user_id).where(condition)
            )
        ).all()
        if not rows:
            return 0, set()
        per_day: dict[dt.date, int] = {}
        for opened_at, _ in rows:
            per_day[opened_at.date()] = per_day.get(opened_at.date(), 0) + 1
        for day, count in per_day.items():
            row = await self.session.get(DeskErasure, day)
            if row is None:
                self.session.add(DeskErasure(day=day, conversations=count))
            else:
                row.conversations += count
        ids = select(DeskCase.id).where(condition)
        # Issue 26: FAQ drafts nobody reviewed go with their case; reviewed ones were unlinked
        # from it at review. Summaries, tags and jobs go with the case (ON DELETE CASCADE).
        await self._run(
            delete(FaqDraft).where(
                FaqDraft.case_id.in_(ids), FaqDraft.status == FaqDraftStatus.PENDING
            )
        )
        await self._run(delete(DeskRelay).where(DeskRelay.case_id.in_(ids)))
        await self._run(delete(DeskTurn).where(DeskTurn.case_id.in_(ids)))
        await self._run(delete(DeskCase).where(condition))
        await self.session.flush()
        return len(rows), {user for _, user in rows}

    async def support_messages(self, condition: Any) -> list[tuple[int, int]]:
        """(user, message id) of what matching cases left in the support chat: the cards, the
        copies of users' messages and the operators' messages relayed to users."""
        cases = select(DeskCase.id).where(condition)
        rows = (
            await self.session.execute(
                select(DeskRelay.user_id, DeskRelay.direction, DeskRelay.source_message_id,
                       DeskRelay.target_message_id)
                .where(DeskRelay.case_id.in_(cases))
            )
        ).all()  # fmt: skip
        out = []
        for user, direction, source, target in rows:
            message = target if direction is RelayDirection.TO_TOPIC else source
            if message is not None:
                out.append((user, message))
        cards = await self.session.execute(
            select(DeskCase.user_id, DeskCase.card_message_id).where(
                condition, DeskCase.card_message_id.is_not(None)
            )
        )
        out += [(user, card) for user, card in cards.all() if card is not None]
        return out

    async def draft_messages(self, condition: Any) -> list[int]:
        """The "Knowledge base" topic's messages of the matching cases' unreviewed FAQ drafts
       : they go with the drafts."""
        cases = select(DeskCase.id).where(condition)
        rows = await self.session.scalars(
            select(FaqDraft.message_id).where(
                FaqDraft.case_id.in_(cases), FaqDraft.status == FaqDraftStatus.PENDING,
                FaqDraft.message_id.is_not(None),
            )
        )
        return [int(m) for m in rows if m is not None]

    async def users_with_cases(self, users: set[int]) -> set[int]:
        if not users:
            return set()
        rows = await self.session.scalars(
            select(DeskCase.user_id).where(DeskCase.user_id.in_(users)).distinct()
        )
        return set(rows)

    async def erased_between(self, start: dt.date, end: dt.date) -> int:
        return int(
            await self.session.scalar(
                select(func.coalesce(func.sum(DeskErasure.conversations), 0)).where(
                    DeskErasure.day >= start, DeskErasure.day < end
                )
            )
            or 0
        )

    async def _run(self, statement: Executable) -> int:
        result = await self.session.execute(
            statement, execution_options={"synchronize_session": False}
        )
        return cast(CursorResult[Any], result).rowcount
