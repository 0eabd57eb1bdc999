"""What the audit views read of the stored tool calls: the newest (`/toolcalls`), a chat's
(the support desk's card), and per-tool figures (`fmbot report`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.tools.storage.models import ToolCall, ToolCallState
from bot.features.tools.storage.rows import ToolStats


class ToolCallAudit:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def recent(self, limit: int = 20, *, name: str | None = None) -> list[ToolCall]:
        """The newest calls, newest first (admins' command)."""
        stmt = select(ToolCall).order_by(ToolCall.id.desc()).limit(limit)
        if name is not None:
            stmt = stmt.where(ToolCall.name == name)
        return list(await self.session.scalars(stmt))

    async def for_chat(self, chat_id: int, limit: int = 50) -> list[ToolCall]:
        """A chat's calls, oldest first (the support-desk card)."""
        rows = await self.session.scalars(
            select(ToolCall)
            .where(ToolCall.chat_id == chat_id)
            .order_by(ToolCall.id.desc())
            .limit(limit)
        )
        return list(reversed(list(rows)))

    async def stats(self, since: dt.datetime | None = None) -> list[ToolStats]:
        """Per tool: calls, failures (failed or timed out), declines, expiries."""
        failed = func.sum(case((ToolCall.state == ToolCallState.FAILED, 1), else_=0))
        declined = func.sum(case((ToolCall.state == ToolCallState.DECLINED, 1), else_=0))
        expired = func.sum(case((ToolCall.state == ToolCallState.EXPIRED, 1), else_=0))
        stmt = (
            select(ToolCall.name, func.count(), failed, declined, expired)
            .group_by(ToolCall.name)
            .order_by(ToolCall.name)
        )
        if since is not None:
            stmt = stmt.where(ToolCall.created_at >= since)
        rows = (await self.session.execute(stmt)).all()
        return [
            ToolStats(name, int(calls), int(f or 0), int(d or 0), int(e or 0))
            for name, calls, f, d, e in rows
        ]
