"""Drafting eval cases in the background (docs/console.md), against the fake Foundation
Models server over loopback: a restart mid-draft polls the operation it stored instead of
submitting again, an operation Yandex failed shows its reason, a second press on the same
conversation while a draft is under way gets that draft, and without the evaluation feature
(no `fmbot eval` to read a case) a draft fails saying so before the model is asked."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, update

from bot.features.console.casemaking import NO_EVALUATION, CaseMaker
from bot.features.console.drafting import Drafting
from bot.features.console.models import ConsoleCaseDraft
from bot.features.console.pages import templates
from bot.features.evaluation.cases import problem
from bot.foundation_models.client import FoundationModelsClient
from bot.plugin.offers import CaseFileCheck
from bot.storage.database import Database
from bot.storage.models import Chat, Conversation, Message, MessageRole, User
from tests.conversation.fm_fixtures import client, fm
from tests.fakes.yandex.server import FakeFoundationModels
from tests.features.console.world import DRAFT

__all__ = ["client", "fm"]  # the fixtures
pytestmark = [pytest.mark.timeout(60)]
SUBMIT = "/foundationModels/v1/completionAsync"


async def a_conversation(db: Database) -> int:
    async with db.sessionmaker() as session:
        session.add(User(id=501, first_name="Anna"))
        session.add(Chat(id=501, type="private"))
        conversation = Conversation(chat_id=501)
        session.add(conversation)
        await session.flush()
        session.add_all([
            Message(conversation_id=conversation.id, role=MessageRole.USER,
                    text="When does my order A-1042 arrive?"),
            Message(conversation_id=conversation.id, role=MessageRole.ASSISTANT,
                    text="It has shipped."),
        ])
        await session.commit()
        return conversation.id


def drafting(db: Database, client: FoundationModelsClient, owner: str, *,
             evaluation: bool = True) -> Drafting:
    # The evaluation feature's offer, as the console finds it in a bot with that feature.
    cases = CaseFileCheck(problem) if evaluation else None
    return Drafting(db.sessionmaker, CaseMaker(client, "yandexgpt/latest", None, cases), None,
                    owner=owner, poll_every=0.01, retry_base=0.01)


async def row(db: Database, draft_id: int) -> ConsoleCaseDraft:
    async with db.sessionmaker() as session:
        found = await session.get(ConsoleCaseDraft, draft_id)
        assert found is not None
        return found


async def running(db: Database, draft_id: int) -> str:
    for _ in range(500):
        operation = (await row(db, draft_id)).operation_id
        if operation:
            return operation
        await asyncio.sleep(0.01)
    raise AssertionError("never submitted")


async def test_a_restart_mid_draft_polls_the_same_operation(
    database: Database, client: FoundationModelsClient, fm: FakeFoundationModels
) -> None:
    fm.queue_reply(DRAFT)
    fm.text_pending_polls = 100_000  # the first process never sees it done
    conversation = await a_conversation(database)
    first = drafting(database, client, "replica-1")
    draft_id, new = await first.request(conversation, 7001, "", "says when it arrives")
    assert new
    operation = await running(database, draft_id)
    await first.aclose()  # stopped while polling: the operation stays running
    stopped = await row(database, draft_id)
    assert (stopped.status, stopped.operation_id) == ("running", operation)

    fm.operations[operation]["polls_left"] = 1
    second = drafting(database, client, "replica-2")
    async with database.sessionmaker() as session:  # as if replica-1 held it still
        await session.execute(update(ConsoleCaseDraft).values(
            owner="replica-1", lease_until=stopped.created_at.replace(year=9999)))
        await session.commit()
    assert await second.sweep() == 0  # a live owner's lease is not taken
    async with database.sessionmaker() as session:  # it died: its lease expired
        await session.execute(update(ConsoleCaseDraft).values(lease_until=None))
        await session.commit()
    assert await second.sweep() == 1
    await second.wait_idle()
    done = await row(database, draft_id)
    assert done.status == "done", done.error
    assert done.operation_id == operation
    assert done.case_text.startswith("[[case]]\n")
    assert 'criteria = ["says when it arrives"]' in done.case_text
    assert "Mira" in done.case_text
    assert [r.path for r in fm.requests].count(SUBMIT) == 1  # never submitted again
    polled = {r.path for r in fm.requests if r.path.startswith("/operations/")}
    assert polled == {f"/operations/{operation}"}
    await second.aclose()


async def test_an_operation_yandex_failed_shows_its_reason(
    database: Database, client: FoundationModelsClient, fm: FakeFoundationModels
) -> None:
    fm.text_pending_polls = 100_000
    conversation = await a_conversation(database)
    drafts = drafting(database, client, "one")
    draft_id, _ = await drafts.request(conversation, 7001, "", "")
    operation = await running(database, draft_id)
    fm.operations[operation].update(polls_left=0, response=None,
                                    error={"code": 8, "message": "quota exhausted"})
    await drafts.wait_idle()
    failed = await row(database, draft_id)
    assert failed.status == "failed"
    assert failed.error == f"the model's operation {operation} failed: quota exhausted"
    page = templates().get_template("case.html").render(
        root="/console", signed=None, d=failed, working=False, written=None, refresh=0)
    assert "quota exhausted" in page.split('id="case-error"')[1]
    assert 'http-equiv="refresh"' not in page
    await drafts.aclose()


async def test_without_the_evaluation_feature_no_case_is_drafted(
    database: Database, client: FoundationModelsClient, fm: FakeFoundationModels
) -> None:
    conversation = await a_conversation(database)
    drafts = drafting(database, client, "one", evaluation=False)
    draft_id, _ = await drafts.request(conversation, 7001, "", "says when it arrives")
    await drafts.wait_idle()
    failed = await row(database, draft_id)
    assert (failed.status, failed.error) == ("failed", NO_EVALUATION)
    assert "evaluation feature" in failed.error
    assert [r.path for r in fm.requests] == []  # the model was never asked
    await drafts.aclose()


async def test_a_transient_failure_is_retried_then_given_up_with_the_reason(
    database: Database, client: FoundationModelsClient, fm: FakeFoundationModels
) -> None:
    conversation = await a_conversation(database)
    drafts = drafting(database, client, "one")
    drafts.max_attempts = 2
    for _ in range(2):
        fm.fail_next(503)
    draft_id, _ = await drafts.request(conversation, 7001, "", "")
    await drafts.wait_idle()
    retried = await row(database, draft_id)
    assert (retried.status, retried.attempts) == ("pending", 1)
    await asyncio.sleep(0.05)  # past its backoff
    assert await drafts.sweep() == 1
    await drafts.wait_idle()
    failed = await row(database, draft_id)
    assert failed.status == "failed"
    assert failed.error.startswith("gave up after 2 attempts: HTTP 503")
    await drafts.aclose()


async def test_a_second_press_while_drafting_gets_the_same_draft(
    database: Database, client: FoundationModelsClient, fm: FakeFoundationModels
) -> None:
    fm.text_pending_polls = 100_000
    conversation = await a_conversation(database)
    one, other = drafting(database, client, "a"), drafting(database, client, "b")
    draft_id, new = await one.request(conversation, 7001, "", "")
    await running(database, draft_id)
    again, second_new = await other.request(conversation, 7002, "", "other criteria")
    assert (again, new, second_new) == (draft_id, True, False)
    async with database.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(ConsoleCaseDraft)) == 1
    assert [r.path for r in fm.requests].count(SUBMIT) == 1
    await one.aclose()
    await other.aclose()


async def test_forget_erases_the_drafts_with_the_conversation(
    database: Database, client: FoundationModelsClient, fm: FakeFoundationModels
) -> None:
    from bot.storage.repositories.privacy import PrivacyRepository

    fm.text_pending_polls = 100_000
    conversation = await a_conversation(database)
    drafts = drafting(database, client, "one")
    await drafts.request(conversation, 7001, "", "")
    await drafts.aclose()
    async with database.sessionmaker() as session:
        await PrivacyRepository(session).forget_user(501)
        await session.commit()
        assert await session.scalar(select(func.count()).select_from(ConsoleCaseDraft)) == 0
