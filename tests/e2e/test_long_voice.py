"""Long voice notes, the bot as a process (its subject: a restart): a kill while STT v3's
operation is pending recognises the note once after the restart (the operation is polled,
never submitted again). The note heard and answered, and a spoken command taken as a
question, are tested in process: tests/features/voice/test_hearing.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.testing.ogg_opus import ogg_opus
from bot.testing.telegram.state import ChatMessage
from tests.e2e.harness import E2E

pytestmark = [pytest.mark.process, pytest.mark.timeout(180)]
USER = 3302


@pytest.fixture
async def e2e(tmp_path: Path) -> AsyncIterator[E2E]:
    async with E2E(tmp_path, extra_env={"STT_POLL_INTERVAL": "0.2",
                                        "VOICE_REPLIES": "off"}) as setup:
        yield setup


def bot_texts(e2e: E2E, needle: str) -> list[ChatMessage]:
    chat = e2e.tg.chats.get(USER)
    return [] if chat is None else [m for m in chat.bot_messages if needle in (m.text or "")]


def listening(e2e: E2E) -> list[ChatMessage]:
    chat = e2e.tg.chats.get(USER)
    return [] if chat is None else [m for m in chat.history if "Listening" in (m.text or "")]


async def test_a_kill_while_pending_recognises_the_note_once_after_restart(e2e: E2E) -> None:
    await e2e.start_bot()
    e2e.fm.stt_pending_polls = 10_000  # pending until the test says otherwise
    e2e.fm.queue_transcript("What did I miss")
    e2e.tg.send_user_voice(USER, ogg_opus(90), duration=90, language_code="en")
    await e2e.wait_for(lambda: len(e2e.fm.stt_async_requests) == 1 and listening(e2e), 60)
    await e2e.wait_for(
        lambda: e2e.db.query("SELECT 1 FROM speech_jobs WHERE status = 'submitted'"), 30
    )
    await e2e.bot.kill()
    [submitted] = e2e.fm.stt_async_requests
    e2e.fm.operations[submitted.operation_id]["polls_left"] = 2
    await e2e.start_bot()
    [answer] = await e2e.wait_for(lambda: bot_texts(e2e, "Echo:"), 60)
    assert answer.text == "Echo: What did I miss"
    assert len(e2e.fm.stt_async_requests) == 1, "the audio was not submitted again"
    assert len(bot_texts(e2e, "🎤")) == 1
    assert all(m.deleted for m in listening(e2e)), "no stale Listening… left"
    assert await e2e.bot.terminate() == 0
    assert e2e.roles(USER) == [("user", "complete"), ("assistant", "complete")]
