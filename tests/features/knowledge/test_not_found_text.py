"""A "not found" answer is stored and shown as the user saw it, never as the model's marker
(issue 27, items 5 and 8): in the user's language, with the deployment's next step."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.conversation import Speaker
from bot.features.knowledge import NOT_FOUND_MARKER, KbMode
from bot.foundation_models.client import FoundationModelsClient
from bot.grounding.prompt import NOT_FOUND_TEXT
from bot.grounding.turn import grounded_of
from bot.storage.database import Database
from bot.storage.migrations import migrate_blocking
from bot.storage.models import MessageRole
from bot.storage.repositories import (
    ChatRepository,
    ConversationRepository,
    MessageRepository,
    UserRepository,
)
from tests.conversation.conftest import PRIVATE, make_service
from tests.conversation.helpers import prompts, stored
from tests.fakes.yandex.server import FakeFoundationModels
from tests.features.knowledge.conftest import KbFactory

BORIS = Speaker(12, "Борис", "ru-RU")
NEXT = "Write to help@example.com or call +7 495 000-00-00."


@pytest.mark.slow
async def test_strict_not_found_is_stored_in_the_users_language_with_the_next_step(
    make_kb: KbFactory, database: Database, client: FoundationModelsClient,
) -> None:
    kb = make_kb(mode=KbMode.STRICT)
    await kb.sync()
    service = make_service(database, client, knowledge=kb, not_found_next_step=NEXT)
    result = await service.run_turn(PRIVATE, BORIS, "Кто выиграл чемпионат мира в 2018?")
    assert grounded_of(result).not_found
    assert result.text == f"{NOT_FOUND_TEXT['ru']}\n\n{NEXT}"
    answer = (await stored(database))[-1]
    assert answer.role is MessageRole.ASSISTANT
    assert answer.text == result.text


@pytest.mark.slow
async def test_the_models_marker_never_reaches_the_history(
    make_kb: KbFactory, database: Database, client: FoundationModelsClient,
    fm: FakeFoundationModels,
) -> None:
    kb = make_kb(mode=KbMode.STRICT)
    await kb.sync()
    service = make_service(database, client, knowledge=kb)
    fm.queue_reply(NOT_FOUND_MARKER)
    question = "How much does express delivery cost on Sundays?"
    result = await service.run_turn(PRIVATE, BORIS, question)
    assert grounded_of(result).not_found
    assert result.text == NOT_FOUND_TEXT["ru"]
    assert all(NOT_FOUND_MARKER not in m.text for m in await stored(database))
    fm.queue_reply("Standard delivery takes 2 to 4 working days [1].")
    await service.run_turn(PRIVATE, BORIS, "How long does standard delivery take?")
    history = [m["text"] for m in prompts(fm)[-1]]
    assert NOT_FOUND_TEXT["ru"] in history
    assert not any(NOT_FOUND_MARKER in text for text in history[1:])  # [0]: the instructions


async def test_the_upgrade_rewrites_stored_markers_as_users_saw_them(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    await asyncio.to_thread(migrate_blocking, url, "0007")
    db = Database(url)
    try:
        async with db.sessionmaker() as session:
            for user_id, language in ((21, "ru-RU"), (22, "en")):
                await UserRepository(session).upsert(user_id, "U", language=language)
                await ChatRepository(session).upsert(user_id, "private")
                conversation = await ConversationRepository(session).current(user_id)
                await MessageRepository(session).insert(
                    conversation.id, MessageRole.ASSISTANT, NOT_FOUND_MARKER
                )
            await session.commit()
        await asyncio.to_thread(migrate_blocking, url, "head")
        assert sorted(m.text for m in await stored(db)) == sorted(NOT_FOUND_TEXT.values())
    finally:
        await db.dispose()
