"""The conversation core with a knowledge base: grounded prompts, citations read back, strict
"not found" without a model call, follow-up questions, what is stored with the turn."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.conversation import ChatRef
from bot.features.knowledge import NOT_FOUND_MARKER, KbMode
from bot.features.knowledge.models import KbAnswer
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.embedder import ATTEMPTS
from bot.grounding.prompt import NOT_FOUND_TEXT
from bot.grounding.turn import grounded_of
from bot.storage.database import Database
from bot.storage.models import MessageStatus
from tests.conversation.conftest import ANNA, PRIVATE, make_service
from tests.conversation.helpers import COMPLETION, prompts, stored
from tests.fakes.yandex.server import FakeFoundationModels
from tests.features.knowledge.conftest import KbFactory


async def kb_answer(db: Database, message_id: int) -> KbAnswer | None:
    async with db.sessionmaker() as session:
        return await session.scalar(select(KbAnswer).where(KbAnswer.message_id == message_id))


@pytest.mark.slow
async def test_a_covered_question_gets_a_grounded_prompt_and_cited_sources(
    make_kb: KbFactory, database: Database, client: FoundationModelsClient,
    fm: FakeFoundationModels,
) -> None:
    kb = make_kb(mode=KbMode.STRICT)
    await kb.sync()
    service = make_service(database, client, knowledge=kb)
    fm.queue_reply("Standard delivery takes 2 to 4 working days [1]. Ask us [9].")
    frames: list[str] = []
    result = await service.run_turn(
        PRIVATE, ANNA, "How long does standard delivery take?",
        on_snapshot=lambda s: frames.append(s.text),
    )
    system = prompts(fm)[0][0]
    assert system["role"] == "system"
    assert system["text"].startswith("You are a helpful assistant.\n\nAnswer the user's question")
    assert "[1] Delivery options and times" in system["text"]
    assert "Standard delivery takes 2 to 4 working days" in system["text"]
    assert result.status is MessageStatus.COMPLETE
    assert not grounded_of(result).not_found
    assert grounded_of(result).sources[0].path == "shop/shipping.md"
    assert grounded_of(result).sources[0].cited
    assert not any(source.cited for source in grounded_of(result).sources[1:])
    assert all("[" not in frame for frame in frames)  # citations only in the final message
    record = await kb_answer(database, result.message_id)
    assert record is not None
    assert record.covered
    assert record.sources[0]["path"] == "shop/shipping.md"
    assert record.sources[0]["cited"]
    assert record.query == "How long does standard delivery take?"


@pytest.mark.slow
async def test_strict_mode_answers_not_found_without_calling_the_model(
    make_kb: KbFactory, database: Database, client: FoundationModelsClient,
    fm: FakeFoundationModels,
) -> None:
    kb = make_kb(mode=KbMode.STRICT)
    await kb.sync()
    service = make_service(database, client, knowledge=kb)
    result = await service.run_turn(PRIVATE, ANNA, "Who won the football world cup in 2018?")
    assert grounded_of(result).not_found
    assert result.text == NOT_FOUND_TEXT["en"]  # stored as the user sees it (issue 27)
    assert grounded_of(result).sources == ()
    assert COMPLETION not in fm.paths()
    record = await kb_answer(database, result.message_id)
    assert record is not None
    assert not record.covered
    assert record.sources == []
    messages = await stored(database)
    assert [m.status for m in messages] == [MessageStatus.COMPLETE, MessageStatus.COMPLETE]


@pytest.mark.slow
async def test_the_models_marker_means_not_found(
    make_kb: KbFactory, database: Database, client: FoundationModelsClient,
    fm: FakeFoundationModels,
) -> None:
    kb = make_kb(mode=KbMode.STRICT)
    await kb.sync()
    service = make_service(database, client, knowledge=kb)
    fm.queue_reply(NOT_FOUND_MARKER, chunks=["NO_ANS", NOT_FOUND_MARKER])
    frames: list[str] = []
    result = await service.run_turn(PRIVATE, ANNA, "How much does express delivery cost on "
                                    "Sundays?", on_snapshot=lambda s: frames.append(s.text))
    assert grounded_of(result).not_found
    assert all(frame == "" for frame in frames)  # the marker never shows
    record = await kb_answer(database, result.message_id)
    assert record is not None
    assert not record.covered


@pytest.mark.slow
async def test_assist_mode_chats_as_before_when_nothing_is_relevant(
    make_kb: KbFactory, database: Database, client: FoundationModelsClient,
    fm: FakeFoundationModels,
) -> None:
    kb = make_kb(mode=KbMode.ASSIST)
    await kb.sync()
    plain = make_service(database, client)  # the bot without a knowledge base
    service = make_service(database, client, knowledge=kb)
    for question in ("Write a poem about autumn", "And now one about the sea, please"):
        await plain.run_turn(ChatRef(2002, "private"), ANNA, question)
        result = await service.run_turn(PRIVATE, ANNA, question)
        assert result.text == f"Echo: {question}"
        assert not grounded_of(result).not_found
        record = await kb_answer(database, result.message_id)
        assert record is not None
        assert not record.covered
        assert record.sources == []
    # The model got exactly what it gets from the bot without a knowledge base, history too.
    sent = prompts(fm)
    assert len(sent) == 4
    assert sent[1] == sent[0]
    assert sent[3] == sent[2]
    assert sent[2][0]["text"] == "You are a helpful assistant."
    assert len(sent[2]) == 4  # system, the first question and answer, the second question


@pytest.mark.slow
async def test_a_follow_up_finds_the_document_of_the_question_before(
    make_kb: KbFactory, database: Database, client: FoundationModelsClient,
    fm: FakeFoundationModels,
) -> None:
    kb = make_kb(mode=KbMode.STRICT)
    await kb.sync()
    service = make_service(database, client, knowledge=kb)
    fm.queue_reply("Use the prepaid return label [1].")
    first = await service.run_turn(PRIVATE, ANNA, "How do I return an item?")
    assert grounded_of(first).sources[0].path == "shop/returns.md"
    fm.queue_reply("About 5 to 10 days [1].")
    second = await service.run_turn(PRIVATE, ANNA, "and how long does it take?")
    assert not grounded_of(second).not_found
    assert grounded_of(second).sources[0].path == "shop/returns.md"
    record = await kb_answer(database, second.message_id)
    assert record is not None
    assert record.query.startswith("How do I return an item?")
    fm.queue_reply("Товар можно вернуть в течение 14 дней [1].")
    await service.run_turn(PRIVATE, ANNA, "Как вернуть товар?")
    fm.queue_reply("Деньги вернут за 10 дней [1].")
    third = await service.run_turn(PRIVATE, ANNA, "А сколько это займёт?")
    assert grounded_of(third).sources[0].path == "magazin/vozvrat.md"
    assert not grounded_of(third).not_found
    # Alone, this follow-up names nothing the knowledge base covers (strict would abstain).
    assert not (await kb.search("А сколько это займёт?")).covered


@pytest.mark.slow
async def test_a_failed_search_abstains_in_strict_mode_and_is_skipped_in_assist_mode(
    make_kb: KbFactory, database: Database, client: FoundationModelsClient,
    fm: FakeFoundationModels,
) -> None:
    # Asking again cannot help: the strict turn answers "not found" (with the way to a
    # person), not "try again".
    kb = make_kb(mode=KbMode.STRICT)
    await kb.sync()
    fm.fail_next(503, path="textEmbedding", times=ATTEMPTS)
    strict = await make_service(database, client, knowledge=kb).run_turn(
        PRIVATE, ANNA, "How do I return an item?")
    assert strict.status is MessageStatus.COMPLETE
    assert strict.error is None
    assert grounded_of(strict).not_found
    assert COMPLETION not in fm.paths()
    assist = make_kb(mode=KbMode.ASSIST)
    await assist.load()
    fm.fail_next(503, path="textEmbedding", times=ATTEMPTS)
    result = await make_service(database, client, knowledge=assist).run_turn(
        ChatRef(1002, "private"), ANNA, "How do I return an item?")
    assert result.status is MessageStatus.COMPLETE
    assert grounded_of(result).sources == ()
