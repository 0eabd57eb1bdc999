"""Voice replies, in process: a voice question is answered by text then voice (a reply to the
question, one well-formed OGG/Opus file) and /voice off stops it; VOICE_REPLIES=always speaks a
typed question's answer, a long one completely; a failing synthesis keeps the text and says so
once; past the daily budget answers stay text and the user is told once; /retry of a voice
question is spoken again. Was tests/e2e/test_voice_replies.py, with the bot as a process (the
kill between the text and the voice, and mid-stream, stays there)."""

from __future__ import annotations

import logging
import math
from typing import Any

import pytest
from aiogram import Bot
from aiogram.methods import SendVoice, TelegramMethod
from aiogram.types import BufferedInputFile

from bot import App
from bot.testing import BotTester, ServiceModel
from bot.testing.ogg_opus import ogg_duration, ogg_problem
from bot.testing.telegram import FakeTelegram
from tests.features.sending import rows, shown

pytestmark = [pytest.mark.timeout(90)]


class KeepsVoices(FakeTelegram):
    """The kit's Telegram, keeping the voice files the bot uploads (sendVoice's bytes)."""

    def __init__(self) -> None:
        super().__init__()
        self.voices: list[tuple[SendVoice, bytes]] = []

    async def make_request(self, bot: Bot, method: TelegramMethod[Any],
                           timeout: int | None = None) -> Any:  # noqa: ASYNC109
        if isinstance(method, SendVoice) and isinstance(method.voice, BufferedInputFile):
            self.voices.append((method, method.voice.data))
        return await super().make_request(bot, method, timeout)


def running(model: ServiceModel, settings: dict[str, object] | None = None) -> BotTester:
    tester = BotTester(App(env_file=None), model=model, settings=settings)
    tester.telegram = KeepsVoices()
    return tester


def voices(tester: BotTester) -> list[tuple[SendVoice, bytes]]:
    assert isinstance(tester.telegram, KeepsVoices)
    return tester.telegram.voices


def texts(tester: BotTester, chat_id: int, needle: str) -> list[str]:
    return [m.text for m in shown(tester, chat_id) if needle in m.text]


async def test_a_voice_question_is_answered_by_text_then_voice_and_voice_off_stops_it() -> None:
    model = ServiceModel()
    async with running(model) as tester:
        anna = tester.user("Anna")
        await anna.sends_voice("how do I reset my password")
        [(sent, audio)] = voices(tester)
        [answer] = [m for m in shown(tester, anna.id) if m.text.startswith("Echo:")]
        [voice] = [m for m in shown(tester, anna.id) if m.kind == "voice"]
        assert answer.message_id < voice.message_id, "the voice follows the text answer"
        assert sent.reply_parameters is not None
        assert sent.reply_parameters.message_id == 1, "the voice replies to the question"
        assert ogg_problem(audio) is None
        # Its length as the sender declares it (clients show 0:00 without a duration).
        assert sent.duration == math.ceil(ogg_duration(audio) or 0) > 0
        assert str(sent.voice.filename).endswith(".ogg")  # type: ignore[union-attr]
        [spoken] = model.service.tts_requests
        assert spoken.text == "Echo: how do I reset my password"
        assert (spoken.lang, spoken.voice, spoken.format) == ("en-US", "john", "oggopus")
        actions = [c.params.get("action") for c in tester.sent if c.method == "sendChatAction"]
        assert "record_voice" in actions
        # /voice off: the next voice question is answered in text only.
        maybe = await anna.says("/voice maybe")
        assert "I do not know “maybe” here. Use /voice on" in maybe.text
        assert "Voice replies are off" in (await anna.says("/voice off")).text
        await anna.sends_voice("and my login")
        assert texts(tester, anna.id, "Echo: and my login")
        stats = await anna.says("/stats")
        assert "characters spoken: 32 of 20000" in stats.text
        assert len(voices(tester)) == 1
        assert len(model.service.tts_requests) == 1
        [row] = await rows(tester, "SELECT status, chars FROM voice_replies")
        assert (row["status"], row["chars"]) == ("sent", 32)


async def test_retry_of_a_voice_question_is_spoken_again_once() -> None:
    model = ServiceModel()
    async with running(model) as tester:
        anna = tester.user("Anna")
        await anna.sends_voice("what is the plan")
        assert len(voices(tester)) == 1
        synthesised = len(model.service.tts_requests)
        # /retry of a question asked by voice: the new answer is spoken too, once, as a reply
        # to the voice note (the stored question's text holds no trace of the voice).
        await anna.says("/retry")
        assert len(voices(tester)) == 2
        sent, _ = voices(tester)[1]
        assert sent.reply_parameters is not None
        assert sent.reply_parameters.message_id == 1
        assert len(model.service.tts_requests) == synthesised + 1


async def test_always_speaks_a_typed_answer_and_a_long_one_completely() -> None:
    model = ServiceModel()
    sentence = "Пункт номер {n} объясняет, как **настроить** доступ к [порталу](https://x.ru). "
    body = "".join(sentence.format(n=n) for n in range(80))  # about 6,000 characters
    assert len(body) > 5800
    model.service.queue_reply(body + "\n\n```\nsudo reboot\n```\nГотово.", chunks=3)
    async with running(model, {"VOICE_REPLIES": "always"}) as tester:
        ivan = tester.user("Ivan", language="ru")
        await ivan.says("расскажи подробно")
        [(_, audio)] = voices(tester)
        said = model.service.tts_texts()
        spoken = " ".join(said)
        assert len(said) >= 2, "over 5,000 characters: several requests"
        assert all(len(t) <= 5000 for t in said)
        for n in (0, 41, 79):
            assert f"Пункт номер {n} объясняет, как настроить доступ к порталу." in spoken
        assert "**" not in spoken
        assert "https" not in spoken
        assert "sudo" not in spoken
        assert "Код — в сообщении." in spoken
        assert spoken.endswith("Готово.")
        assert model.service.tts_requests[0].voice == "alena"
        assert ogg_problem(audio) is None, "one well-formed stream"
        seconds = ogg_duration(audio) or 0
        assert abs(seconds - 0.02 * sum(map(len, said))) < 0.5, "every part is in it"


async def test_a_failing_synthesis_keeps_the_text_and_says_so_once_a_day(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    model = ServiceModel()
    model.service.tts_forbidden = True  # the service account lacks ai.speechkit-tts.user
    async with running(model) as tester:
        anna = tester.user("Anna")
        for n in range(2):
            await anna.sends_voice(f"question {n}")
            assert texts(tester, anna.id, f"Echo: question {n}")
            assert len(model.service.tts_requests) == n + 1
        assert len(texts(tester, anna.id, "could not speak this answer")) == 1
        assert voices(tester) == []
        naming = [r for r in caplog.records if "ai.speechkit-tts.user" in r.getMessage()]
        assert naming
        assert naming[0].levelname == "ERROR"
        assert not any(r.exc_info for r in caplog.records), "no traceback"
        statuses = await rows(tester, "SELECT status FROM voice_replies ORDER BY id")
        assert [r["status"] for r in statuses] == ["failed", "failed"]


async def test_past_the_daily_budget_answers_stay_text_and_the_user_is_told_once() -> None:
    model = ServiceModel()
    async with running(model, {"TTS_CHARS_PER_USER_DAY": "30"}) as tester:
        anna = tester.user("Anna")
        for words in ("a short one", "second question", "third question"):
            await anna.sends_voice(words)
            assert texts(tester, anna.id, f"Echo: {words}")
        [notice] = texts(tester, anna.id, "today's voice replies")
        assert "30 characters" in notice
        assert len(voices(tester)) == 1, "only the answer within the budget was spoken"
        assert [r.text for r in model.service.tts_requests] == ["Echo: a short one"]
        statuses = await rows(tester, "SELECT status FROM voice_replies ORDER BY id")
        assert [r["status"] for r in statuses] == ["sent", "skipped", "skipped"]
