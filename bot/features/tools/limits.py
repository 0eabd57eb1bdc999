"""Per-user limits on tool calls: at most N calls an hour and M writes a day (rolling windows,
across replicas: counted from the stored calls). Past a limit the call is not made; the model
is told "limit reached" and the turn carries a notice the front end shows in the user's
language. Admins are exempt. 0 turns a limit off."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.features.tools import ToolOutcome, ToolRunResult
from bot.features.tools.storage.limits import LIMITED, ToolLimitRepository

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class ToolLimits:
    calls_per_hour: int = 60
    writes_per_day: int = 20

    async def refusal(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        user_id: int,
        call_id: int,
        writes: bool,
    ) -> tuple[str, ToolRunResult] | None:
        """(which limit, what the model is told) when this call is over a limit, else None."""
        if not self.calls_per_hour and not (writes and self.writes_per_day):
            return None
        now = dt.datetime.now(dt.UTC)
        async with sessionmaker() as session:
            repo = ToolLimitRepository(session)
            over = None
            if writes and self.writes_per_day:
                done = await repo.started_up_to(user_id, call_id, now - DAY, writes=True)
                if done > self.writes_per_day:
                    over = ("writes_per_day", f"{self.writes_per_day} changes a day")
            if over is None and self.calls_per_hour:
                done = await repo.started_up_to(user_id, call_id, now - HOUR)
                if done > self.calls_per_hour:
                    over = ("calls_per_hour", f"{self.calls_per_hour} tool calls an hour")
            await session.commit()
        if over is None:
            return None
        kind, what = over
        text = (f"error: limit reached: this user may make {what}; the call was not made. "
                "Tell the user to try again later.")
        return kind, ToolRunResult(ToolOutcome.ERROR, text, LIMITED)
