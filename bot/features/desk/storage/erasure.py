"""Erasing the support desk's conversations (/forget, retention) and counting what was
erased per day, for the report."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import CursorResult, Executable, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.desk.storage.insights_models import DeskScore, FaqDraft, FaqDraftStatus
from bot.features.desk.storage.models import (
    DeskCase,
    DeskErasure,
    DeskNote,
    DeskRelay,
    DeskTurn,
    RelayDirection,
)


class DeskErasureRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

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
        # FAQ drafts nobody reviewed go with their case; reviewed ones were unlinked
        # from it at review. Summaries, tags and jobs go with the case (ON DELETE CASCADE);
        # scores too, deleted here as well so that no database without enforced foreign keys
        # keeps a verdict (and its evidence line) of a forgotten conversation.
        await self._run(delete(DeskScore).where(DeskScore.case_id.in_(ids)))
        await self._run(
            delete(FaqDraft).where(
                FaqDraft.case_id.in_(ids), FaqDraft.status == FaqDraftStatus.PENDING
            )
        )
        await self._run(delete(DeskRelay).where(DeskRelay.case_id.in_(ids)))
        await self._run(delete(DeskNote).where(DeskNote.case_id.in_(ids)))
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
        ).all()
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
