"""The support desk's relays: copies of messages between a user and their topic, pending
until sent (recorded before the send, so a restart sends each once)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.desk.storage.models import DeskCase, DeskRelay, RelayDirection, RelayState


class DeskRelayRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

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

    async def relays_of(self, case_id: int) -> list[DeskRelay]:
        rows = await self.session.scalars(
            select(DeskRelay).where(DeskRelay.case_id == case_id).order_by(DeskRelay.id)
        )
        return list(rows)
