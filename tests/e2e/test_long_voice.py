"""Long voice notes: ``python -m bot run`` against the fake Bot API and the fake SpeechKit. A
2-minute note goes through STT v3's asynchronous route (an operation that takes a few polls)
with a "Listening…" status and is answered; a kill while it is pending recognises it once after
the restart (the operation is polled, never submitted again); the transcript stays data."""

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


async def test_a_two_minute_note_is_heard_asynchronously_and_answered(e2e: E2E) -> None:
    await e2e.start_bot()
    e2e.fm.stt_pending_polls = 3
    e2e.fm.queue_transcript("Please summarise my week. It was long.")
    e2e.tg.send_user_voice(USER, ogg_opus(120), duration=120, language_code="en")
    [answer] = await e2e.wait_for(lambda: bot_texts(e2e, "Echo:"), 60)
    assert answer.text == "Echo: Please summarise my week. It was long."
    [quote] = bot_texts(e2e, "🎤")
    assert quote.text == "🎤 Please summarise my week. It was long.", "normalised text, once"
    [status] = listening(e2e)
    assert "120 s" in (status.text or "")
    assert status.deleted, "the status goes once the note is heard"
    [submitted] = e2e.fm.stt_async_requests
    assert submitted.seconds == pytest.approx(120, abs=0.1)
    assert submitted.languages == ["en-US"]
    assert e2e.fm.stt_requests == [], "not the synchronous route"
    polls = [r for r in e2e.fm.requests if r.path.startswith("/operations/")]
    assert len(polls) == 4, "three pending polls, then done"
    assert await e2e.bot.terminate() == 0
    [job] = e2e.db.query("SELECT status, text, operation_id FROM speech_jobs")
    assert (job["status"], job["operation_id"]) == ("done", submitted.operation_id)
    [usage] = e2e.db.query("SELECT speech_seconds FROM daily_usage")
    assert usage["speech_seconds"] == 120


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


async def test_a_spoken_command_is_a_question_not_a_command(e2e: E2E) -> None:
    await e2e.start_bot()
    e2e.fm.stt_pending_polls = 1
    e2e.fm.queue_transcript("/reset")
    e2e.tg.send_user_voice(USER, ogg_opus(45), duration=45, language_code="en")
    [answer] = await e2e.wait_for(lambda: bot_texts(e2e, "Echo:"), 60)
    assert answer.text == "Echo: /reset", "answered like typed text, never run"
    assert bot_texts(e2e, "new conversation") == []
    assert await e2e.bot.terminate() == 0
