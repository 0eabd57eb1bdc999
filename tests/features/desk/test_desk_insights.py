"""Handoff summaries and tags by deferred jobs (issue 26, item 2), through the real TelegramApp
against the fake Bot API and the fake Yandex server's completionAsync."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import select

from bot.features.desk.domain.hours import SupportHours
from bot.features.desk.domain.report import build_report, format_report, write_csv
from bot.features.desk.storage.insights_models import DeskInsight, InsightJob, InsightJobStatus
from bot.features.desk.storage.models import DeskRelay
from bot.storage.database import Database
from bot.testing.telegram.users import FakeBotApi
from bot.testing.yandex.service import FoundationModelsService
from tests.features.desk.harness import OPERATOR, SUPPORT, DeskWorld, desk_world, fakes

pytestmark = pytest.mark.timeout(120)
SUBMIT = "/foundationModels/v1/completionAsync"
T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T]], timeout: float = 15.0) -> T:  # noqa: ASYNC109
    async with asyncio.timeout(timeout):
        while True:
            value = await probe()
            if value:
                return value
            await asyncio.sleep(0.02)


def card_edits(w: DeskWorld, message_id: int) -> list[str]:
    return [
        str(c.params.get("text")) for c in w.tg.calls
        if c.method == "editMessageText" and c.status == 200
        and int(c.params.get("message_id") or 0) == message_id
    ]


async def insights(db: Database) -> dict[int, DeskInsight]:
    async with db.sessionmaker() as session:
        return {r.case_id: r for r in await session.scalars(select(DeskInsight))}


async def jobs(db: Database) -> list[InsightJob]:
    async with db.sessionmaker() as session:
        return list(await session.scalars(select(InsightJob).order_by(InsightJob.id)))


def submits(w: DeskWorld) -> int:
    return sum(1 for r in w.fm.requests if r.path == SUBMIT)


@pytest.mark.slow
async def test_the_card_is_posted_at_once_and_edited_with_the_summary_and_tags(
    sqlite_database: Database, tmp_path: Path
) -> None:
    async with desk_world(sqlite_database, insights="yandexgpt/latest") as w:
        w.fm.text_pending_polls = 4
        user = 7001
        w.tg.send_user_message(user, "I want my money back for a broken kettle")
        await w.wait_for(lambda: w.texts(user))
        await w.settle()
        w.tg.send_user_message(user, "/operator")
        thread = await w.wait_for(lambda: w.topic_of(user))
        card = (await w.wait_for(lambda: w.in_topic(thread)))[0]
        [text] = await w.wait_for(lambda: card_edits(w, card.message_id))
        assert "Problem: I want my money back for a broken kettle" in text
        assert "Tags: intent refund (0.90), sentiment neutral (0.80), language en (0.95)" in text
        assert "being prepared" not in text
        # Posted before the summary existed: no operator waited for the model.
        first = next(c for c in w.tg.calls if c.method == "sendMessage"
                     and c.chat_id == SUPPORT and c.status == 200)
        assert "being prepared" in str(first.params["text"])
        assert w.in_topic(thread)[0].text == text
        await eventually(lambda: _all_in(w.db, InsightJobStatus.APPLIED, 1))
        [job] = await jobs(w.db)
        assert (job.kind, job.mode) == ("handoff_summary", "async")
        assert submits(w) == 1
        # The operator answers and closes: the case gets its final summary from the
        # transcript (the relayed messages' text is stored for it).
        answer = "Refunds take 5 business days to reach the card."
        w.tg.send_user_message(SUPPORT, answer, user=OPERATOR, thread_id=thread)
        await w.wait_for(lambda: answer in w.texts(user))
        await w.close_for_rating(user, thread)
        found = await eventually(
            lambda: _with_final(w.db)
        )
        assert "Outcome: Refunds take 5 business days" in (found.final_summary or "")
        assert found.intent == "refund"
        assert found.language == "en"
        async with w.db.sessionmaker() as session:
            texts = list(await session.scalars(select(DeskRelay.text)))
        assert answer in texts
    report = await build_report(sqlite_database.sessionmaker, days=1, hours=SupportHours.parse(""))
    text = format_report(report)
    assert "Deferred model jobs (asynchronous mode):" in text
    assert "  handoff_summary: applied 1; tokens " in text
    path = tmp_path / "report.csv"
    write_csv(report, path)
    with path.open(encoding="utf-8", newline="") as file:
        [row] = [r for r in csv.DictReader(file) if r["intent"]]
    assert (row["intent"], row["sentiment"], row["language_tag"]) == ("refund", "neutral", "en")
    assert float(row["intent_confidence"]) == 0.9
    assert row["summary"].startswith("Problem: I want my money back for a broken kettle / ")
    assert "Outcome:" in row["final_summary"]


async def _with_final(db: Database) -> DeskInsight | None:
    return next((r for r in (await insights(db)).values() if r.final_summary), None)


@pytest.mark.slow
async def test_a_restart_while_summaries_are_pending_delivers_each_once(
    sqlite_database: Database,
) -> None:
    users = (7101, 7102, 7103)
    async with fakes() as (tg, fm):
        await _restart_while_pending(sqlite_database, tg, fm, users)


async def _restart_while_pending(
    db: Database, tg: FakeBotApi, fm: FoundationModelsService, users: tuple[int, ...]
) -> None:
    async with desk_world(db, insights="yandexgpt/latest", servers=(tg, fm)) as w:
        w.fm.text_pending_polls = 10_000  # nothing finishes before the stop
        for user in users:
            w.tg.send_user_message(user, f"где моя посылка? доставка задерживается ({user})")
        await w.wait_for(lambda: all(w.texts(u) for u in users))
        await w.settle()
        for user in users:
            w.tg.send_user_message(user, "/operator")
        await w.wait_for(lambda: all(w.topic_of(u) for u in users))
        cards = {u: (await w.wait_for(lambda u=u: w.in_topic(w.topic_of(u) or 0)))[0]  # type: ignore[misc]
                 for u in users}
        await eventually(lambda: _all_in(w.db, InsightJobStatus.RUNNING, len(users)))
        assert all("being prepared" in (c.text or "") for c in cards.values())
    for state in fm.operations.values():
        state["polls_left"] = 1
    async with desk_world(db, insights="yandexgpt/latest", servers=(tg, fm)) as w2:
        for card in cards.values():
            await w2.wait_for(lambda c=card: card_edits(w2, c.message_id))  # type: ignore[misc]
        await eventually(lambda: _all_in(w2.db, InsightJobStatus.APPLIED, len(users)))
        await asyncio.sleep(0.3)  # room for a second delivery, if there were one
        for card in cards.values():
            [text] = card_edits(w2, card.message_id)
            assert "intent delivery" in text
            assert "language ru" in text
        assert submits(w2) == len(users)  # polled after the restart, never submitted again


async def _all_in(db: Database, status: InsightJobStatus, count: int) -> bool:
    found = await jobs(db)
    return len(found) == count and all(j.status is status for j in found)


def kb_topic(w: DeskWorld) -> int | None:
    for topic in w.tg.topics.get(SUPPORT, {}).values():
        if topic.name == "Knowledge base" and not topic.deleted:
            return int(topic.thread_id)
    return None


@pytest.mark.slow
async def test_a_closed_case_gives_a_draft_reviewed_in_the_knowledge_base_topic(
    sqlite_database: Database, tmp_path: Path
) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    async with desk_world(sqlite_database, insights="yandexgpt/latest", kb=folder) as w:
        user = 7201
        w.tg.send_user_message(user, "Can I pay for an order with a gift card?")
        await w.wait_for(lambda: w.texts(user))
        await w.settle()
        w.tg.send_user_message(user, "/operator")
        thread = await w.wait_for(lambda: w.topic_of(user))
        await w.wait_for(lambda: w.in_topic(thread))
        w.tg.send_user_message(user, "Can I pay for an order with a gift card?")
        answer = ("Yes, gift cards are accepted at checkout: enter the card code in the "
                  "Payment step, the rest can be paid by bank card.")
        w.tg.send_user_message(SUPPORT, answer, user=OPERATOR, thread_id=thread)
        await w.wait_for(lambda: answer in w.texts(user))
        await w.close_for_rating(user, thread)
        review = await w.wait_for(lambda: kb_topic(w))
        [draft] = await w.wait_for(lambda: w.in_topic(review))
        assert "Q: Can I pay for an order with a gift card?" in (draft.text or "")
        assert answer in (draft.text or "")
        labels = [b["text"] for row in draft.reply_markup["inline_keyboard"]  # type: ignore[index]
                  for b in row]
        assert labels == ["✅ Approve", "✏️ Edit", "🗑 Reject"]
        assert not (folder / "faq-from-desk.jsonl").exists()  # nothing without a person
        # Edit: the reviewer replies to the draft with its new text.
        w.tg.send_user_message(
            SUPPORT, "Can I pay with a gift card?\nYes: enter its code at the Payment step.",
            user=OPERATOR, thread_id=review, reply_to=draft.message_id,
        )
        await w.wait_for(lambda: "edited by" in (w.tg.chat(SUPPORT).find(draft.message_id)
                                                 .text or ""))  # type: ignore[union-attr]
        assert not w.texts(user)[-1].startswith("Can I pay with")  # not relayed to anyone
        approve = draft.reply_markup["inline_keyboard"][0][0]["callback_data"]  # type: ignore[index]
        w.tg.send_callback_query(SUPPORT, draft.message_id, approve, user=OPERATOR)
        await w.wait_for(lambda: (folder / "faq-from-desk.jsonl").exists())
        entries = (folder / "faq-from-desk.jsonl").read_text(encoding="utf-8").splitlines()
        assert entries == ['{"question": "Can I pay with a gift card?", "answer": "Yes: enter '
                           'its code at the Payment step."}']
        shown = await w.wait_for(
            lambda: "approved" in (w.tg.chat(SUPPORT).find(draft.message_id).text or "")  # type: ignore[union-attr]
            and w.tg.chat(SUPPORT).find(draft.message_id)
        )
        assert not shown.reply_markup  # type: ignore[union-attr]


@pytest.mark.slow
async def test_the_gap_report_lists_the_top_gaps_in_the_knowledge_base_topic(
    sqlite_database: Database, tmp_path: Path
) -> None:
    from bot.features.desk.insights.gaps import GapAnalysis
    from bot.foundation_models.embedder import Embedder
    from tests.features.desk.insights.test_gaps import seed

    folder = tmp_path / "kb"
    folder.mkdir()
    await seed(sqlite_database)
    async with desk_world(sqlite_database, insights="yandexgpt/latest", kb=folder) as w:
        client = w.client
        embedder = Embedder(client, doc_model="text-search-doc/latest",
                            query_model="text-search-query/latest", rps=1000.0)

        async def embed(text: str):  # type: ignore[no-untyped-def]
            return (await embedder.query(text)).values

        async def similar(text: str) -> float:
            return 0.0

        learning = w.desk.learning
        assert learning is not None
        learning.gaps = GapAnalysis(w.db.sessionmaker, embed=embed, similar=similar,
                                    jobs=learning.insights, threshold=0.35)
        assert await learning.post_gaps(days=3650)
        review = await w.wait_for(lambda: kb_topic(w))
        [report] = await w.wait_for(lambda: w.in_topic(review))
        text = report.text or ""
        assert text.startswith("📊 Content gaps, last 3650 days")
        assert text.index("3 users") < text.index("2 users")
        await client.aclose()


@pytest.mark.slow
async def test_a_summary_the_model_never_gives_says_so_on_the_card(
    sqlite_database: Database,
) -> None:
    async with desk_world(sqlite_database, insights="yandexgpt/latest") as w:
        for _ in range(5):  # every attempt refused
            w.fm.fail_next(500, path=SUBMIT)
        user = 7301
        w.tg.send_user_message(user, "My kettle leaks")
        await w.wait_for(lambda: w.texts(user))
        await w.settle()
        w.tg.send_user_message(user, "/operator")
        thread = await w.wait_for(lambda: w.topic_of(user))
        card = (await w.wait_for(lambda: w.in_topic(thread)))[0]
        edits = await w.wait_for(
            lambda: [t for t in card_edits(w, card.message_id) if "not available" in t], 20
        )
        assert "(no summary: the model was not available)" in edits[-1]
        [job] = await jobs(w.db)
        assert (job.status, job.attempts) == (InsightJobStatus.FAILED, 5)


@pytest.mark.slow
async def test_a_handoff_with_nothing_written_asks_no_summary_and_says_so(
    sqlite_database: Database,
) -> None:
    # Yandex answers an empty text 400 "text length is 0": such a job was retried forever.
    async with desk_world(sqlite_database, insights="yandexgpt/latest") as w:
        user = 7351
        w.tg.send_user_message(user, "/operator")
        thread = await w.wait_for(lambda: w.topic_of(user))
        card = (await w.wait_for(lambda: w.in_topic(thread)))[0]
        assert "Summary: none: the user wrote nothing before asking for an operator" in (
            card.text or "")
        await w.settle()
        assert await jobs(w.db) == []
        assert submits(w) == 0


@pytest.mark.slow
async def test_a_summary_refused_as_malformed_fails_at_once(sqlite_database: Database) -> None:
    async with desk_world(sqlite_database, insights="yandexgpt/latest") as w:
        w.fm.fail_next(400, path=SUBMIT)
        user = 7361
        w.tg.send_user_message(user, "My parcel never came")
        await w.wait_for(lambda: w.texts(user))
        await w.settle()
        w.tg.send_user_message(user, "/operator")
        thread = await w.wait_for(lambda: w.topic_of(user))
        card = (await w.wait_for(lambda: w.in_topic(thread)))[0]
        # The card says so when it is posted, or by an edit if the job failed after it.
        await w.wait_for(lambda: "not available" in (w.in_topic(thread)[0].text or ""), 20)
        assert card.message_id == w.in_topic(thread)[0].message_id
        [job] = await jobs(w.db)
        assert (job.status, job.attempts) == (InsightJobStatus.FAILED, 1)
        assert submits(w) == 1


@pytest.mark.slow
async def test_a_handoff_left_without_its_summary_job_gets_one_at_the_next_start(
    sqlite_database: Database,
) -> None:
    async with fakes() as (tg, fm):
        async with desk_world(sqlite_database, servers=(tg, fm)) as w:  # insights off
            user = 7401
            w.tg.send_user_message(user, "Where is my parcel? It is late")
            await w.wait_for(lambda: w.texts(user))
            await w.settle()
            w.tg.send_user_message(user, "/operator")
            thread = await w.wait_for(lambda: w.topic_of(user))
            card = (await w.wait_for(lambda: w.in_topic(thread)))[0]
        assert await jobs(sqlite_database) == []
        async with desk_world(sqlite_database, insights="yandexgpt/latest",
                              servers=(tg, fm)) as w2:
            [text] = await w2.wait_for(lambda: card_edits(w2, card.message_id), 20)
            assert "Problem: Where is my parcel? It is late" in text


@pytest.mark.slow
async def test_forget_removes_the_users_unreviewed_draft_from_the_topic(
    sqlite_database: Database, tmp_path: Path
) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    async with desk_world(sqlite_database, insights="yandexgpt/latest", kb=folder) as w:
        user = 7501
        w.tg.send_user_message(user, "/operator")
        thread = await w.wait_for(lambda: w.topic_of(user))
        await w.wait_for(lambda: w.in_topic(thread))
        w.tg.send_user_message(user, "Do you deliver on Sundays?")
        await w.wait_for(lambda: len(w.in_topic(thread)) == 2)  # the operator sees it
        answer = "Couriers deliver on Saturdays from 10 to 18; there is no delivery on Sundays."
        w.tg.send_user_message(SUPPORT, answer, user=OPERATOR, thread_id=thread)
        await w.wait_for(lambda: answer in w.texts(user))
        await w.close_for_rating(user, thread)
        review = await w.wait_for(lambda: kb_topic(w))
        [draft] = await w.wait_for(lambda: w.in_topic(review))
        assert w.desk.kb_review is not None
        await eventually(lambda: _posted(w))
        await w.desk.forget(user)
        await w.wait_for(lambda: w.tg.chat(SUPPORT).find(draft.message_id) is None
                         or w.tg.chat(SUPPORT).find(draft.message_id).deleted)  # type: ignore[union-attr]
        async with w.db.sessionmaker() as session:
            from bot.features.desk.storage.insights_models import FaqDraft

            assert list(await session.scalars(select(FaqDraft))) == []


async def _posted(w: DeskWorld) -> bool:
    assert w.desk.learning is not None
    assert w.desk.learning.faq is not None
    return any(d.message_id for d in await w.desk.learning.faq.pending())


@pytest.mark.slow
async def test_reject_and_edit_buttons_keep_the_draft_out_of_the_knowledge_base(
    sqlite_database: Database, tmp_path: Path
) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    async with desk_world(sqlite_database, insights="yandexgpt/latest", kb=folder) as w:
        user = 7601
        w.tg.send_user_message(user, "/operator")
        thread = await w.wait_for(lambda: w.topic_of(user))
        await w.wait_for(lambda: w.in_topic(thread))
        w.tg.send_user_message(user, "Is there a student discount?")
        await w.wait_for(lambda: len(w.in_topic(thread)) == 2)
        answer = "Students get 10 percent off with a student card checked in the Profile section."
        w.tg.send_user_message(SUPPORT, answer, user=OPERATOR, thread_id=thread)
        await w.wait_for(lambda: answer in w.texts(user))
        await w.close_for_rating(user, thread)
        review = await w.wait_for(lambda: kb_topic(w))
        [draft] = await w.wait_for(lambda: w.in_topic(review))
        await eventually(lambda: _posted(w))
        buttons = draft.reply_markup["inline_keyboard"][0]  # type: ignore[index]
        w.tg.send_callback_query(SUPPORT, draft.message_id, buttons[1]["callback_data"],
                                 user=OPERATOR)
        await w.wait_for(lambda: any("Reply to the draft with its new text" in (m.text or "")
                                     for m in w.in_topic(review)))
        w.tg.send_callback_query(SUPPORT, draft.message_id, buttons[2]["callback_data"],
                                 user=OPERATOR)
        await w.wait_for(lambda: "rejected" in (w.tg.chat(SUPPORT).find(draft.message_id)
                                                .text or ""))  # type: ignore[union-attr]
        # Approve after Reject: nothing is written.
        w.tg.send_callback_query(SUPPORT, draft.message_id, buttons[0]["callback_data"],
                                 user=OPERATOR)
        await w.wait_for(lambda: len(w.tg.callback_answers) >= 3)
        assert not (folder / "faq-from-desk.jsonl").exists()


@pytest.mark.slow
async def test_two_replicas_make_one_review_topic_and_post_each_draft_once(
    sqlite_database: Database, tmp_path: Path
) -> None:
    from bot.features.desk.storage.insights_models import FaqDraft, FaqDraftStatus
    from bot.features.desk.telegram.kbreview import KbReview

    folder = tmp_path / "kb"
    folder.mkdir()
    async with desk_world(sqlite_database, insights="yandexgpt/latest", kb=folder) as w:
        assert w.desk.learning is not None
        faq = w.desk.learning.faq
        assert faq is not None
        async with w.db.sessionmaker() as session:
            session.add_all(FaqDraft(question=f"Question {n}?", answer=f"Answer {n}.",
                                     status=FaqDraftStatus.PENDING) for n in range(4))
            await session.commit()
        one, two = (KbReview(faq, w.desk.outbox, SUPPORT, w.db.sessionmaker)
                    for _ in range(2))
        posted = await asyncio.gather(one.post_unposted(), two.post_unposted())
        assert sum(posted) == 4
        assert one.thread_id == two.thread_id
        assert [t.name for t in w.tg.topics[SUPPORT].values()].count("Knowledge base") == 1
        texts = [m.text or "" for m in w.in_topic(one.thread_id or 0)]
        assert sorted(t.split("Q: ")[1].split("\n")[0] for t in texts) == [
            f"Question {n}?" for n in range(4)
        ]


@pytest.mark.slow
async def test_a_case_closed_without_its_jobs_gets_them_at_the_next_start(
    sqlite_database: Database, tmp_path: Path
) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    async with fakes() as (tg, fm):
        async with desk_world(sqlite_database, servers=(tg, fm)) as w:  # insights off
            user = 7701
            w.tg.send_user_message(user, "/operator")
            thread = await w.wait_for(lambda: w.topic_of(user))
            await w.wait_for(lambda: w.in_topic(thread))
            w.tg.send_user_message(user, "Do you ship abroad?")
            await w.wait_for(lambda: len(w.in_topic(thread)) == 2)
            answer = "We ship to Kazakhstan, Belarus and Armenia; other countries are not served."
            w.tg.send_user_message(SUPPORT, answer, user=OPERATOR, thread_id=thread)
            await w.wait_for(lambda: answer in w.texts(user))
            await w.close_for_rating(user, thread)
        assert await jobs(sqlite_database) == []
        async with desk_world(sqlite_database, insights="yandexgpt/latest", kb=folder,
                              servers=(tg, fm)) as w2:
            found = await eventually(lambda: _with_final(w2.db))
            assert "Outcome: We ship to Kazakhstan" in (found.final_summary or "")
            review = await w2.wait_for(lambda: kb_topic(w2))
            [draft] = await w2.wait_for(lambda: w2.in_topic(review))
            assert "Q: Do you ship abroad?" in (draft.text or "")
