"""The prompt contributor protocol through the real service and the fake model server: a
contributor passed to `ConversationService(contributors=...)` adds to the prompt, sees what
earlier ones added, may answer the turn itself, and its failure is logged, not fatal (unless it
is `required`)."""

from __future__ import annotations

import logging

import pytest

from bot.conversation.contributors import PromptContributor, PromptDraft
from bot.conversation.turn import TurnState
from bot.features.documents.chat import ChatDocuments
from bot.foundation_models.client import FoundationModelsClient
from bot.reading.blocks import Block, Extracted
from bot.storage.database import Database
from bot.storage.models import MessageStatus
from tests.conversation.conftest import ANNA, PRIVATE, make_service
from tests.conversation.helpers import SYSTEM, prompts, stored, user
from tests.fakes.yandex.server import FakeFoundationModels


class Notes:
    """A contributor of the kind a new feature adds: a section of the system prompt."""

    name = "notes"

    def __init__(self, text: str, *, fail: bool = False, required: bool = False) -> None:
        self.text = text
        self.fail = fail
        self.required = required
        self.seen: list[tuple[str, list[str]]] = []

    async def contribute(self, turn: TurnState, draft: PromptDraft) -> None:
        self.seen.append((turn.question.text, [s.source for s in draft.sections]))
        draft.add(self.name, f"{self.text} (asked: {turn.question.text})")
        if self.fail:
            raise RuntimeError("the notes service is down")


class Closed:
    """Answers the turn itself: no model call."""

    name = "closed"
    required = False

    async def contribute(self, turn: TurnState, draft: PromptDraft) -> None:
        draft.answer = "We are closed today."


def system_text(messages: list[dict[str, str]]) -> str:
    return "\n".join(m["text"] for m in messages if m["role"] == "system")


async def test_an_added_contributor_puts_its_part_after_the_chats_system_prompt(
    database: Database, client: FoundationModelsClient, fm: FakeFoundationModels
) -> None:
    notes = Notes("Opening hours: 9 to 18.")
    assert isinstance(notes, PromptContributor)
    service = make_service(database, client, contributors=[notes])
    fm.queue_reply("We open at nine.")
    result = await service.run_turn(PRIVATE, ANNA, "When do you open?")
    assert result.status is MessageStatus.COMPLETE
    assert prompts(fm) == [[
        {"role": "system", "text": SYSTEM["text"] + "\n\nOpening hours: 9 to 18. "
         "(asked: When do you open?)"},
        user("When do you open?"),
    ]]
    assert notes.seen == [("When do you open?", [])]


async def test_a_failing_contributor_is_logged_and_the_turn_goes_on_without_its_part(
    database: Database,
    client: FoundationModelsClient,
    fm: FakeFoundationModels,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = Notes("half written", fail=True)
    fine = Notes("Opening hours: 9 to 18.")
    fine.name = "hours"  # type: ignore[misc]
    service = make_service(database, client, contributors=[broken, fine])
    fm.queue_reply("We open at nine.")
    with caplog.at_level(logging.ERROR, logger="bot.conversation.contributors"):
        result = await service.run_turn(PRIVATE, ANNA, "When do you open?")
    assert result.status is MessageStatus.COMPLETE
    assert result.text == "We open at nine."
    system = system_text(prompts(fm)[0])
    assert "half written" not in system, "what the failing one added is taken out"
    assert "Opening hours: 9 to 18." in system, "the next contributor is still asked"
    failures = [r for r in caplog.records if "prompt contributor notes failed" in r.message]
    assert len(failures) == 1
    assert failures[0].exc_info is not None, "the traceback is in the log"
    _, answer = await stored(database, PRIVATE.chat_id)
    assert answer.status is MessageStatus.COMPLETE


async def test_a_required_contributors_failure_fails_the_turn(
    database: Database, client: FoundationModelsClient, fm: FakeFoundationModels
) -> None:
    service = make_service(
        database, client, contributors=[Notes("x", fail=True, required=True)]
    )
    with pytest.raises(RuntimeError, match="notes service is down"):
        await service.run_turn(PRIVATE, ANNA, "When do you open?")
    assert prompts(fm) == [], "no model call without a required part"
    _, answer = await stored(database, PRIVATE.chat_id)
    assert answer.status is MessageStatus.FAILED
    assert not service.is_busy(PRIVATE.chat_id)


async def test_a_contributor_may_answer_the_turn_and_later_ones_are_not_asked(
    database: Database, client: FoundationModelsClient, fm: FakeFoundationModels
) -> None:
    later = Notes("never asked")
    service = make_service(database, client, contributors=[Closed(), later])
    result = await service.run_turn(PRIVATE, ANNA, "Can I come by?")
    assert (result.status, result.text) == (MessageStatus.COMPLETE, "We are closed today.")
    assert prompts(fm) == []
    assert later.seen == []
    _, answer = await stored(database, PRIVATE.chat_id)
    assert answer.text == "We are closed today."


async def test_added_contributors_come_after_the_chats_documents_and_see_their_part(
    database: Database, client: FoundationModelsClient, fm: FakeFoundationModels
) -> None:
    notes = Notes("Opening hours: 9 to 18.")
    documents = ChatDocuments(database.sessionmaker)
    service = make_service(database, client, documents=documents, contributors=[notes])
    extracted = Extracted([Block((), "The invoice total is 1200 roubles.")], pages=1)
    await documents.add(PRIVATE, ANNA, "invoice.txt", "u1", extracted)
    fm.queue_reply("1200 roubles.")
    await service.run_turn(PRIVATE, ANNA, "What is the invoice total?")
    assert notes.seen == [("What is the invoice total?", ["documents"])]
    system = system_text(prompts(fm)[0])
    assert system.index("invoice.txt") < system.index("Opening hours")
