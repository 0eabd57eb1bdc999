"""FAQ drafts from answered cases (issue 26, items 3 and 5): the fake model's drafts through
the real pipeline (scrub, dedup against a real knowledge base, review, the KB file, erasure)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.features.desk.domain import DeskService
from bot.features.desk.insights import InsightJobs
from bot.features.desk.insights.faq import FaqDrafts, parse_edit
from bot.features.desk.insights.scrub import scrub
from bot.features.desk.storage.insights_models import (
    DeskInsight,
    FaqDraft,
    FaqDraftStatus,
    InsightJob,
)
from bot.features.desk.storage.models import DeskCase, DeskStatus
from bot.features.knowledge.base import KnowledgeBase
from bot.features.knowledge.types import KbMode
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.embedder import Embedder
from bot.storage.database import Database
from tests.features.desk.insights.test_jobs import FAST

OPERATOR_ANSWER = (
    "Yes, Ivan, you can change the delivery address in Orders, then Edit, until the parcel "
    "ships. If it has shipped, write to ivan.petrov@example.com or call +7 999 123-45-67."
)
TRANSCRIPT = [
    ("user", "How long does a refund take?"),
    ("operator", "Refunds reach your card within 5 business days after we receive the item."),
    ("user", "And can I change the delivery address after ordering?"),
    ("operator", OPERATOR_ANSWER),
]


@pytest.fixture
def kb_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "faq.jsonl").write_text(json.dumps({
        "question": "How long does a refund take?",
        "answer": "Refunds reach your card within 5 business days after we receive the item.",
    }) + "\n", encoding="utf-8")
    return folder


async def make(
    db: Database, client: FoundationModelsClient, folder: Path
) -> tuple[KnowledgeBase, InsightJobs, FaqDrafts]:
    embedder = Embedder(client, doc_model="text-search-doc/latest",
                        query_model="text-search-query/latest", rps=1000.0, backoff=0.01)
    kb = KnowledgeBase(sessionmaker=db.sessionmaker, embedder=embedder, roots=[folder],
                       mode=KbMode.ASSIST, min_score=0.3)
    await kb.sync()
    jobs = InsightJobs(db.sessionmaker, client, model_name="yandexgpt/latest", policy=FAST,
                       retry_base=0.05, poll_rate=500.0, submit_rate=500.0)

    async def similar(text: str) -> float:
        return (await kb.search(text, 1, kind="draft")).best_score

    async def embed(text: str):  # type: ignore[no-untyped-def]
        return (await embedder.query(text)).values

    faq = FaqDrafts(jobs, db.sessionmaker, similar=similar, embed=embed, threshold=0.8,
                    kb_file=folder / "faq-from-desk.jsonl")
    return kb, jobs, faq


async def closed_case(db: Database, user_id: int, name: str) -> int:
    async with db.sessionmaker() as session:
        case = DeskCase(user_id=user_id, user_name=name, status=DeskStatus.RESOLVED)
        session.add(case)
        await session.commit()
        return case.id


async def drafts_after(jobs: InsightJobs, faq: FaqDrafts, case_id: int, user: int) -> None:
    stored: list[int] = []

    async def keep(result):  # type: ignore[no-untyped-def]
        stored.extend(d.id for d in await faq.store(result))

    jobs.on_done("faq_drafts", keep)
    assert await faq.request(case_id, user, TRANSCRIPT) is not None
    await jobs.wait_idle()


@pytest.mark.slow
async def test_drafts_are_scrubbed_deduplicated_reviewed_and_written_to_the_kb(
    sqlite_database: Database, client: FoundationModelsClient, kb_folder: Path
) -> None:
    kb, jobs, faq = await make(sqlite_database, client, kb_folder)
    case = await closed_case(sqlite_database, 8001, "Ivan Petrov")
    await drafts_after(jobs, faq, case, 8001)
    [draft] = await faq.pending()  # the refund question is in the knowledge base already
    assert draft.question == "And can I change the delivery address after ordering?"
    assert draft.case_id == case
    for secret in ("Ivan", "ivan.petrov@example.com", "999 123-45-67"):
        assert secret not in draft.answer
    assert "[e-mail]" in draft.answer
    assert "[phone]" in draft.answer
    assert "[name]" in draft.answer
    # Another case asking the same: its draft is dropped as a duplicate of the pending one.
    other = await closed_case(sqlite_database, 8002, "Anna")
    await drafts_after(jobs, faq, other, 8002)
    assert [d.id for d in await faq.pending()] == [draft.id]
    # Nothing reached the knowledge base yet.
    assert not (kb_folder / "faq-from-desk.jsonl").exists()
    edited = await faq.edit(draft.id, "Can I change the delivery address?\nYes: Orders > Edit, "
                            "until the parcel ships.")
    assert edited is not None
    assert edited.question == "Can I change the delivery address?"
    approved = await faq.approve(draft.id, reviewer_id=501)
    assert approved is not None
    assert approved.status is FaqDraftStatus.APPROVED
    assert approved.case_id is None  # no link to the user any more
    assert await faq.approve(draft.id, reviewer_id=501) is None  # once
    lines = (kb_folder / "faq-from-desk.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [{
        "question": "Can I change the delivery address?",
        "answer": "Yes: Orders > Edit, until the parcel ships.",
    }]
    await kb.sync()
    found = await kb.search("can I change my delivery address", 1)
    assert found.hits[0].path == "faq-from-desk.jsonl"
    await jobs.aclose()


@pytest.mark.parametrize("erase", ["forget", "retention"])
@pytest.mark.slow
async def test_erasure_deletes_pending_drafts_summaries_and_jobs_but_not_approved_entries(
    database: Database, client: FoundationModelsClient, kb_folder: Path, erase: str
) -> None:
    (kb_folder / "faq.jsonl").unlink()  # an empty knowledge base: both drafts are new
    _, jobs, faq = await make(database, client, kb_folder)
    case = await closed_case(database, 8101, "Ivan Petrov")
    await drafts_after(jobs, faq, case, 8101)
    approved, pending = await faq.pending()
    await faq.approve(approved.id, reviewer_id=501)
    assert pending.case_id == case
    async with database.sessionmaker() as session:
        session.add(DeskInsight(case_id=case, summary="Problem: …", intent="delivery"))
        await session.commit()
    service = DeskService(database.sessionmaker, support_chat_id=-100)
    if erase == "forget":
        await service.erasure.forget(8101)
    else:  # retention: the case was resolved long ago
        async with database.sessionmaker() as session:
            row = await session.get(DeskCase, case)
            assert row is not None
            row.resolved_at = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
            await session.commit()
        await service.erasure.purge_older_than(30)
    async with database.sessionmaker() as session:
        drafts = list(await session.scalars(select(FaqDraft)))
        jobs_left = list(await session.scalars(select(InsightJob)))
    assert [(d.id, d.status, d.case_id, d.user_id) for d in drafts] == [
        (approved.id, FaqDraftStatus.APPROVED, None, None)
    ]
    assert jobs_left == []
    async with database.sessionmaker() as session:
        assert list(await session.scalars(select(DeskInsight))) == []
    await jobs.aclose()


@pytest.mark.parametrize(("text", "expected"), [
    ("Call +7 (999) 123-45-67 or 8 999 1234567", "Call [phone] or [phone]"),
    ("write to ivan.petrov@mail.ru", "write to [e-mail]"),
    ("заказ № 48213, код RU123456789", "заказ [number], код [number]"),
    ("Order 1234567 shipped", "Order [number] shipped"),
    ("Refunds take 5 business days, 24 hours, since 2024", "Refunds take 5 business days, "
     "24 hours, since 2024"),
    ("iPhone 15 and Windows 11", "iPhone 15 and Windows 11"),
])
def test_the_scrub_removes_contacts_and_numbers_but_not_ordinary_figures(
    text: str, expected: str
) -> None:
    assert scrub(text) == expected


def test_the_users_name_is_scrubbed() -> None:
    assert scrub("Hello Ivan Petrov, ivan", ["Ivan Petrov"]) == "Hello [name] [name], [name]"


def test_an_edit_needs_a_question_and_an_answer() -> None:
    assert parse_edit("Q: How?\nA: Like this.") == ("How?", "Like this.")
    assert parse_edit("How?\nLike this.\nAnd that.") == ("How?", "Like this.\nAnd that.")
    assert parse_edit("just one line") is None
