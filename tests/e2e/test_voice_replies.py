"""Voice replies, the bot as a process: ``python -m bot run`` against the fake Bot API and the
fake SpeechKit. A kill between the text and the voice sends the voice once, and an answer given
again after a kill mid-stream to a voice question is spoken once more. Voice replies
themselves (/voice off, VOICE_REPLIES=always, a long answer, a failing synthesis, the daily
budget, /retry) are tested in process: tests/features/voice/test_replies.py."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bot.testing.ogg_opus import ogg_opus
from bot.testing.telegram.state import ChatMessage
from tests.e2e.harness import E2E

pytestmark = [pytest.mark.process, pytest.mark.timeout(180)]
USER = 3301


def voices(e2e: E2E, chat_id: int = USER) -> list[ChatMessage]:
    chat = e2e.tg.chats.get(chat_id)
    return [] if chat is None else [m for m in chat.bot_messages if m.voice is not None]


def texts(e2e: E2E, needle: str, chat_id: int = USER) -> list[ChatMessage]:
    chat = e2e.tg.chats.get(chat_id)
    return [] if chat is None else [m for m in chat.bot_messages if needle in (m.text or "")]


@pytest.fixture
async def voice_e2e(tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    env = getattr(request, "param", {})
    async with E2E(tmp_path, extra_env=env) as e2e:
        yield e2e


async def test_a_kill_between_the_text_and_the_voice_sends_the_voice_once(voice_e2e: E2E) -> None:
    e2e = voice_e2e
    await e2e.start_bot()
    e2e.fm.tts_gate = asyncio.Event()  # synthesis hangs: the bot is killed meanwhile
    e2e.fm.queue_transcript("what is the plan")
    e2e.tg.send_user_voice(USER, ogg_opus(2), duration=2, language_code="en")
    await e2e.wait_for(lambda: texts(e2e, "Echo: what is the plan"), 60)
    await e2e.wait_for(lambda: e2e.fm.tts_waiting == 1, 30)
    await e2e.bot.kill()
    e2e.fm.tts_gate.set()
    await e2e.start_bot()
    [voice] = await e2e.wait_for(lambda: voices(e2e), 60)
    assert len(voices(e2e)) == 1
    assert len(texts(e2e, "Echo: what is the plan")) == 1, "the text answer is not repeated"
    sent = "SELECT status, file_ids FROM voice_replies WHERE status = 'sent'"
    [row] = await e2e.wait_for(lambda: e2e.db.query(sent), 30)
    assert voice.voice_file_id in row["file_ids"]
    question = next(m for m in e2e.tg.chat(USER).history if not m.from_bot)

    # /retry of a question asked by voice: the new answer is spoken too, once, as a reply
    # to the voice note (the stored question's text holds no trace of the voice).
    synthesised = len(e2e.fm.tts_requests)  # the killed request and the resumed one
    e2e.tg.send_user_message(USER, "/retry")
    await e2e.wait_for(lambda: len(voices(e2e)) == 2, 60)
    assert voices(e2e)[1].reply_to == question.message_id
    assert len(e2e.fm.tts_requests) == synthesised + 1

    # Killed while a voice question's answer streams: the answer given again after the
    # restart is spoken, once.
    e2e.fm.queue_transcript("tell me about lighthouses")
    e2e.fm.queue_reply("Lighthouses guide ships at night.", chunks=8, interval=0.4)
    e2e.tg.send_user_voice(USER, ogg_opus(2), duration=2, language_code="en")
    await e2e.wait_for(
        lambda: [d for d in e2e.tg.chat(USER).drafts if "Lighthouses" in (d.text or "")], 60
    )
    note = [m for m in e2e.tg.chat(USER).history if not m.from_bot][-1]
    await e2e.bot.kill()
    assert len(voices(e2e)) == 2
    e2e.fm.queue_reply("Lighthouses guide ships at night.", chunks=2)
    await e2e.start_bot()
    await e2e.wait_for(lambda: len(voices(e2e)) == 3, 60)
    assert voices(e2e)[2].reply_to == note.message_id
    assert await e2e.bot.terminate() == 0
    assert len(voices(e2e)) == 3, "each answer spoken once"
    assert len(texts(e2e, "Lighthouses guide ships at night.")) == 1
    assert [r.text for r in e2e.fm.tts_requests][synthesised + 1 :] == [
        "Lighthouses guide ships at night."
    ]
    # /retry replaced the first answer (its voice row went with it): the two answers left.
    rows = e2e.db.query("SELECT status FROM voice_replies ORDER BY id")
    assert [r["status"] for r in rows] == ["sent", "sent"]
    [spoken] = e2e.db.query("SELECT count(*) AS n FROM spoken_questions")
    assert spoken["n"] == 2
