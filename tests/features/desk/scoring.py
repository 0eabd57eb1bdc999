"""What the conversation-scoring tests share: the stored scores and jobs, the report a day
later, the fake server's completionAsync requests."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import select, update

from bot.features.desk.domain.hours import SupportHours
from bot.features.desk.domain.report import Report, build_report
from bot.features.desk.storage.insights_models import DeskScore, InsightJob
from bot.features.desk.storage.models import DeskCase
from bot.storage.database import Database
from tests.features.desk.harness import DeskWorld

T = TypeVar("T")
SUBMIT = "/foundationModels/v1/completionAsync"
QA = "qa_score"


async def scores(db: Database) -> dict[int, DeskScore]:
    async with db.sessionmaker() as session:
        return {r.case_id: r for r in await session.scalars(select(DeskScore))}


async def qa_jobs(db: Database) -> list[InsightJob]:
    async with db.sessionmaker() as session:
        return list(await session.scalars(
            select(InsightJob).where(InsightJob.kind == QA).order_by(InsightJob.id)))


async def cases_of(db: Database, user: int) -> list[DeskCase]:
    async with db.sessionmaker() as session:
        return list(await session.scalars(
            select(DeskCase).where(DeskCase.user_id == user).order_by(DeskCase.id)))


async def move_back(db: Database, case_id: int, hours: float) -> None:
    """The conversation happened `hours` earlier (its opening and its last message)."""
    back = dt.timedelta(hours=hours)
    async with db.sessionmaker() as session:
        case = await session.get(DeskCase, case_id)
        assert case is not None
        await session.execute(update(DeskCase).where(DeskCase.id == case_id).values(
            opened_at=case.opened_at - back, last_user_at=case.last_user_at - back))
        await session.commit()


def qa_submits(w: DeskWorld) -> list[dict[str, object]]:
    return [r.json for r in w.fm.requests
            if r.path == SUBMIT and (r.json.get("jsonSchema") or {}).get("schema", {})
            .get("title") == QA]


async def a_day_later(w: DeskWorld) -> dt.datetime:
    """Score what a sweep a day and an hour from now finds over, and wait for the jobs."""
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=25)
    assert w.desk.learning is not None
    await w.desk.learning.score_finished(later)
    await w.desk.learning.insights.wait_idle()
    return later


async def report_at(db: Database, now: dt.datetime, days: int = 3) -> Report:
    return await build_report(db.sessionmaker, days=days, hours=SupportHours.parse(""), now=now)


async def eventually(probe: Callable[[], Awaitable[T]], timeout: float = 20.0) -> T:  # noqa: ASYNC109
    async with asyncio.timeout(timeout):
        while True:
            value = await probe()
            if value:
                return value
            await asyncio.sleep(0.02)
