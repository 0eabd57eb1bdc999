"""Content gaps (issue 26, item 4): the period's unanswered questions grouped by topic with
the fake server's embeddings (which behave like real ones for this: shared words and stems
make texts close), ranked by users, labelled by the model, marked covered."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from bot.features.desk.insights import InsightJobs
from bot.features.desk.insights.gaps import GapAnalysis, cluster, format_gaps, write_gaps_csv
from bot.features.desk.insights.kinds import GAP
from bot.features.desk.storage.insights_models import (
    FaqDraft,
    FaqDraftStatus,
    InsightJob,
    InsightJobStatus,
)
from bot.features.desk.storage.models import (
    DeskCase,
    DeskRelay,
    DeskStatus,
    DeskTurn,
    RelayDirection,
)
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.embedder import Embedder
from bot.storage.database import Database
from tests.fakes.yandex.server import FakeFoundationModels
from tests.features.desk.insights.test_jobs import FAST

NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
ASKED = [  # (user, question, not found?, 👎?, operator answered?)
    (1, "How do I return a broken kettle?", True, False, True),
    (2, "how to return a broken kettle", True, False, False),
    (3, "Return of a broken kettle, how?", False, True, False),
    (3, "Can I return a broken kettle by mail?", True, False, False),
    (4, "Do you deliver to Kazan?", True, False, False),
    (5, "Delivery to Kazan possible?", True, False, True),
    (6, "Is there a student discount?", True, False, False),
    (7, "What is the weather?", False, False, False),  # answered fine: not a gap
]


async def seed(db: Database, *, old: bool = False) -> None:
    when = NOW - dt.timedelta(days=30 if old else 1)
    async with db.sessionmaker() as session:
        for user, question, not_found, down, answered in ASKED:
            case = DeskCase(user_id=user, user_name=f"u{user}", status=DeskStatus.RESOLVED,
                            opened_at=when, last_user_at=when)
            session.add(case)
            await session.flush()
            session.add(DeskTurn(case_id=case.id, question=question, not_found=not_found,
                                 feedback=-1 if down else None, created_at=when))
            if answered:
                session.add(DeskRelay(case_id=case.id, user_id=user,
                                      direction=RelayDirection.TO_USER, source_chat_id=-1,
                                      source_message_id=case.id, target_chat_id=user,
                                      created_at=when))
        await session.commit()


def analysis(db: Database, client: FoundationModelsClient, **kw: object) -> GapAnalysis:
    embedder = Embedder(client, doc_model="text-search-doc/latest",
                        query_model="text-search-query/latest", rps=1000.0, backoff=0.01)

    async def embed(text: str) -> np.ndarray:
        return (await embedder.query(text)).values

    async def similar(text: str) -> float:
        return 0.0  # an empty knowledge base

    options: dict[str, object] = {"embed": embed, "similar": similar, "threshold": 0.35}
    options.update(kw)
    return GapAnalysis(db.sessionmaker, **options)  # type: ignore[arg-type]


async def test_questions_are_grouped_ranked_by_users_and_labelled(
    sqlite_database: Database, client: FoundationModelsClient, tmp_path: Path
) -> None:
    await seed(sqlite_database)
    await seed(sqlite_database, old=True)  # outside the period
    jobs = InsightJobs(sqlite_database.sessionmaker, client, model_name="yandexgpt/latest",
                       policy=FAST, poll_rate=500.0, submit_rate=500.0)
    gaps = await analysis(sqlite_database, client, jobs=jobs).run(7, now=NOW)
    assert [(g.users, g.questions) for g in gaps] == [(3, 4), (2, 2), (1, 1)]
    kettle, kazan, discount = gaps
    assert (kettle.operator_answered, kazan.operator_answered, discount.operator_answered) == (
        1, 1, 0
    )
    assert kettle.sources == {"not_found": 3, "low_rated": 1}
    assert kettle.labelled  # the fake model's title: the first question's first six words
    assert kettle.title == "How do i return a broken"
    assert "How do I return a broken kettle?" in kettle.examples
    assert not any(g.covered for g in gaps)
    async with sqlite_database.sessionmaker() as session:
        for job in await session.scalars(select(InsightJob)):
            assert job.request["messages"] == []  # no question kept once labelled
    text = format_gaps(gaps, 7)
    assert "1. How do i return a broken — 3 users, 4 questions" in text
    path = tmp_path / "gaps.csv"
    assert write_gaps_csv(gaps, path) == 3
    with path.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    assert (rows[0]["users"], rows[0]["covered"]) == ("3", "no")
    await jobs.aclose()


async def test_a_gap_an_approved_draft_covers_is_marked_covered(
    sqlite_database: Database, client: FoundationModelsClient
) -> None:
    await seed(sqlite_database)
    embedder = Embedder(client, doc_model="text-search-doc/latest",
                        query_model="text-search-query/latest", rps=1000.0)
    vector = (await embedder.query("Do you deliver to Kazan?")).values
    async with sqlite_database.sessionmaker() as session:
        session.add(FaqDraft(question="Do you deliver to Kazan?", answer="Yes, in 3 days.",
                             status=FaqDraftStatus.APPROVED, vector=vector.tobytes()))
        await session.commit()
    gaps = await analysis(sqlite_database, client).run(7, now=NOW)
    covered = {g.examples[0]: g.covered for g in gaps}
    assert covered == {"How do I return a broken kettle?": False,
                       "Do you deliver to Kazan?": True,
                       "Is there a student discount?": False}


def test_leader_clustering_groups_close_vectors() -> None:
    rows = np.array([[1, 0, 0], [0.95, 0.3, 0], [0, 1, 0], [0, 0.9, 0.4], [0, 0, 1]],
                    dtype=np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    assert cluster(rows, 0.9) == [[0, 1], [2, 3], [4]]
    assert cluster(rows, 0.999) == [[0], [1], [2], [3], [4]]
    assert cluster(np.empty((0, 3), dtype=np.float32), 0.5) == []


def test_no_gaps_is_said_plainly() -> None:
    assert "every question found an answer" in format_gaps([], 7)



async def test_a_title_that_was_not_json_ends_with_the_report_and_is_never_asked_empty(
    sqlite_database: Database,
    client: FoundationModelsClient,
    fm: FakeFoundationModels,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The first title's answer is not JSON: the report goes on with the first question as
    its title, and the job ends there; before, it was left for a retry with its messages
    erased, and the retries failed with "a completion needs at least one message"."""
    await seed(sqlite_database)
    # No title is JSON, not even a retry's (on a busy machine a job's retry can come before
    # the report reads the titles, and the fake's default answer is JSON).
    for _ in range(20):
        fm.queue_reply("Sorry, here is a title: Returns")
    jobs = InsightJobs(sqlite_database.sessionmaker, client, model_name="yandexgpt/latest",
                       policy=FAST, poll_rate=500.0, submit_rate=500.0,
                       retry_base=0.05)
    gaps = await analysis(sqlite_database, client, jobs=jobs).run(7, now=NOW)
    assert gaps
    assert not any(g.labelled for g in gaps)  # each goes on under a question of its own
    asked = len(fm.requests)
    await asyncio.sleep(0.1)  # past the retry's backoff
    await jobs.sweep()
    await jobs.wait_idle()
    assert len(fm.requests) == asked  # nothing asked again
    async with sqlite_database.sessionmaker() as session:
        rows = list(await session.scalars(select(InsightJob)))
    assert {job.status for job in rows} <= {InsightJobStatus.APPLIED, InsightJobStatus.FAILED}
    assert all(job.request["messages"] == [] for job in rows)
    assert "at least one message" not in caplog.text
    await jobs.aclose()


async def test_a_job_whose_messages_were_erased_is_given_up_without_asking(
    sqlite_database: Database, client: FoundationModelsClient, fm: FakeFoundationModels
) -> None:
    jobs = InsightJobs(sqlite_database.sessionmaker, client, model_name="yandexgpt/latest",
                       policy=FAST, poll_rate=500.0, submit_rate=500.0)
    job_id = await jobs.submit(GAP, [], schema=None, max_tokens=60)
    await jobs.wait_idle()
    async with sqlite_database.sessionmaker() as session:
        job = await session.get(InsightJob, job_id)
    assert job is not None
    assert job.status is InsightJobStatus.FAILED
    assert job.error is not None
    assert "erased" in job.error
    assert fm.requests == []
    await jobs.aclose()
