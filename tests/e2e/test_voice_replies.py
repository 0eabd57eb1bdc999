"""Voice replies: ``python -m bot run`` against the fake Bot API and the fake SpeechKit. A voice
question is answered by text and voice, /voice off stops the voice, VOICE_REPLIES=always speaks
a typed question's answer, a long answer is spoken completely, a failing synthesis keeps the
text answer and says so once, a kill between the text and the voice sends it once, and an
answer given again (/retry, after a kill mid-stream) to a voice question is spoken once more."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

import pytest

from bot.testing.ogg_opus import ogg_duration, ogg_opus, ogg_problem
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


async def test_a_voice_question_is_answered_by_text_then_voice_and_voice_off_stops_it(
    voice_e2e: E2E,
) -> None:
    e2e = voice_e2e
    await e2e.start_bot()
    e2e.fm.queue_transcript("how do I reset my password")
    e2e.tg.send_user_voice(USER, ogg_opus(4), duration=4, language_code="en")
    [voice] = await e2e.wait_for(lambda: voices(e2e), 60)
    [answer] = texts(e2e, "Echo:")
    assert answer.message_id < voice.message_id, "the voice follows the text answer"
    question = next(m for m in e2e.tg.chat(USER).history if not m.from_bot)
    assert voice.reply_to == question.message_id, "the voice replies to the question"
    assert ogg_problem(voice.voice or b"") is None
    # Its length and type as the sender declares them (clients show 0:00 without a duration).
    assert voice.voice_duration == math.ceil(ogg_duration(voice.voice or b"") or 0) > 0
    assert voice.voice_mime == "audio/ogg"
    [spoken] = e2e.fm.tts_requests
    assert spoken.text == "Echo: how do I reset my password"
    assert (spoken.lang, spoken.voice, spoken.format) == ("en-US", "john", "oggopus")
    actions = [a for _, a in e2e.tg.chat(USER).actions]
    assert "record_voice" in actions
    # /voice off: the next voice question is answered in text only.
    e2e.tg.send_user_message(USER, "/voice maybe")
    await e2e.wait_for(lambda: texts(e2e, "I do not know “maybe” here. Use /voice on"), 30)
    e2e.tg.send_user_message(USER, "/voice off")
    await e2e.wait_for(lambda: texts(e2e, "Voice replies are off"), 30)
    e2e.fm.queue_transcript("and my login")
    e2e.tg.send_user_voice(USER, ogg_opus(3), duration=3, language_code="en")
    await e2e.wait_for(lambda: texts(e2e, "Echo: and my login"), 60)
    e2e.tg.send_user_message(USER, "/stats")
    [stats] = await e2e.wait_for(lambda: texts(e2e, "Voice replies:"), 30)
    assert "characters spoken: 32 of 20000" in (stats.text or "")
    assert await e2e.bot.terminate() == 0
    assert len(voices(e2e)) == 1
    assert len(e2e.fm.tts_requests) == 1
    [row] = e2e.db.query("SELECT status, chars, file_ids FROM voice_replies")
    assert (row["status"], row["chars"]) == ("sent", 32)
    assert voice.voice_file_id in row["file_ids"], "the voice is stored as the answer's file"


@pytest.mark.parametrize("voice_e2e", [{"VOICE_REPLIES": "always"}], indirect=True)
async def test_always_speaks_a_typed_answer_and_a_long_one_completely(voice_e2e: E2E) -> None:
    e2e = voice_e2e
    await e2e.start_bot()
    sentence = "Пункт номер {n} объясняет, как **настроить** доступ к [порталу](https://x.ru). "
    body = "".join(sentence.format(n=n) for n in range(80))  # about 6,000 characters
    assert len(body) > 5800
    e2e.fm.queue_reply(body + "\n\n```\nsudo reboot\n```\nГотово.", chunks=3)
    e2e.tg.send_user_message(USER, "расскажи подробно", language_code="ru")
    [voice] = await e2e.wait_for(lambda: voices(e2e), 90)
    spoken = " ".join(e2e.fm.tts_texts())
    assert len(e2e.fm.tts_requests) >= 2, "over 5,000 characters: several requests"
    assert all(len(t) <= 5000 for t in e2e.fm.tts_texts())
    for n in (0, 41, 79):
        assert f"Пункт номер {n} объясняет, как настроить доступ к порталу." in spoken
    assert "**" not in spoken
    assert "https" not in spoken
    assert "sudo" not in spoken
    assert "Код — в сообщении." in spoken
    assert spoken.endswith("Готово.")
    assert e2e.fm.tts_requests[0].voice == "alena"
    assert ogg_problem(voice.voice or b"") is None, "one well-formed stream"
    seconds = ogg_duration(voice.voice or b"") or 0
    assert abs(seconds - 0.02 * sum(map(len, e2e.fm.tts_texts()))) < 0.5, "every part is in it"
    assert await e2e.bot.terminate() == 0


async def test_a_failing_synthesis_keeps_the_text_and_says_so_once_a_day(voice_e2e: E2E) -> None:
    e2e = voice_e2e
    await e2e.start_bot()
    e2e.fm.tts_forbidden = True  # the service account lacks ai.speechkit-tts.user
    for n in range(2):
        e2e.fm.queue_transcript(f"question {n}")
        e2e.tg.send_user_voice(USER, ogg_opus(2), duration=2, language_code="en")
        await e2e.wait_for(lambda n=n: texts(e2e, f"Echo: question {n}"), 60)
        await e2e.wait_for(lambda n=n: len(e2e.fm.tts_requests) > n, 30)
    await e2e.wait_for(lambda: texts(e2e, "could not speak this answer"), 30)
    await asyncio.sleep(1.0)  # room for a wrong second notice to arrive
    assert len(texts(e2e, "could not speak this answer")) == 1
    assert voices(e2e) == []
    assert await e2e.bot.terminate() == 0
    naming = [r for r in e2e.bot.log_records() if "ai.speechkit-tts.user" in r.get("message", "")]
    assert naming
    assert naming[0]["level"] == "ERROR"
    assert "Traceback" not in e2e.bot.log_path.read_text()
    rows = e2e.db.query("SELECT status FROM voice_replies ORDER BY id")
    assert [r["status"] for r in rows] == ["failed", "failed"]


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


@pytest.mark.parametrize("voice_e2e", [{"TTS_CHARS_PER_USER_DAY": "30"}], indirect=True)
async def test_past_the_daily_budget_answers_stay_text_and_the_user_is_told_once(
    voice_e2e: E2E,
) -> None:
    e2e = voice_e2e
    await e2e.start_bot()
    for n, words in enumerate(("a short one", "second question", "third question")):
        e2e.fm.queue_transcript(words)
        e2e.tg.send_user_voice(USER, ogg_opus(2), duration=2, language_code="en")
        await e2e.wait_for(lambda w=words: texts(e2e, f"Echo: {w}"), 60)
        if n == 0:
            await e2e.wait_for(lambda: voices(e2e), 30)
    [notice] = await e2e.wait_for(lambda: texts(e2e, "today's voice replies"), 30)
    assert "30 characters" in (notice.text or "")
    assert await e2e.bot.terminate() == 0
    assert len(voices(e2e)) == 1, "only the answer within the budget was spoken"
    assert [r.text for r in e2e.fm.tts_requests] == ["Echo: a short one"]
    assert len(texts(e2e, "today's voice replies")) == 1, "told once a day"
    rows = e2e.db.query("SELECT status FROM voice_replies ORDER BY id")
    assert [r["status"] for r in rows] == ["sent", "skipped", "skipped"]
