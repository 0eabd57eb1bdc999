"""Voice notes heard, in process: a short note through SpeechKit's synchronous recognition
(the transcript quoted, then answered, the seconds counted), a long one through STT v3's
asynchronous route (an operation polled while "Listening…" shows), a spoken command taken as
a question, and a service account without the SpeechKit role told to the user and logged
once. Was tests/e2e/test_media.py and test_long_voice.py, with the bot as a process."""

from __future__ import annotations

import logging

import pytest

from bot import App
from bot.testing import BotTester, ServiceModel
from bot.testing.ogg_opus import ogg_opus
from tests.features.sending import rows, shown, voice

# The seconds recognised, in the daily counts (the voice feature's kind).
SECONDS = "SELECT amount FROM daily_counts WHERE kind = 'speech_seconds'"

pytestmark = [pytest.mark.timeout(60)]
LONG = {"STT_POLL_INTERVAL": "0.2", "VOICE_REPLIES": "off"}


async def test_a_voice_note_is_transcribed_shown_and_answered() -> None:
    model = ServiceModel()
    async with BotTester(App(env_file=None), model=model) as tester:
        anna = tester.user("Anna")
        model.service.queue_transcript("how do I reset my password")
        await voice(tester, anna, ogg_opus(5), 5)
        messages = [m for m in shown(tester, anna.id) if m.kind == "text"]
        quote, answer = messages[0], messages[-1]
        assert answer.text.startswith("Echo:")
        assert "how do I reset my password" in answer.text
        assert quote.text == "🎤 how do I reset my password"
        [sent] = [c for c in tester.sent if c.method == "sendMessage"
                  and c.params.get("text") == quote.text]
        assert [e["type"] for e in sent.params["entities"]] == ["blockquote"]
        assert quote.message_id < answer.message_id
        [request] = model.service.stt_requests
        assert (request.lang, request.format, request.seconds) == ("en-US", "oggopus", 5.0)
        stored = await rows(tester, "SELECT text FROM messages WHERE role = 'user'")
        assert stored[0]["text"] == "how do I reset my password", "the transcript is the question"
        [usage] = await rows(tester, SECONDS)
        assert usage["amount"] == 5, "the daily usage counts recognised seconds"


async def test_a_missing_speechkit_role_is_told_to_the_user_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    model = ServiceModel()
    async with BotTester(App(env_file=None), model=model) as tester:
        anna = tester.user("Anna")
        model.service.stt_forbidden = True  # no ai.speechkit-stt.user: 403
        with caplog.at_level(logging.INFO):
            reply = await voice(tester, anna, ogg_opus(3), 3)
        assert "not available right now" in reply.text
        naming = [r for r in caplog.records if "ai.speechkit-stt.user" in r.getMessage()]
        assert len(naming) == 1
        assert naming[0].levelname == "ERROR"
        assert not any(r.exc_info for r in caplog.records), "no traceback"
        assert await rows(tester, "SELECT role, status FROM messages") == [], "nothing stored"


async def test_a_two_minute_note_is_heard_asynchronously_and_answered() -> None:
    model = ServiceModel()
    async with BotTester(App(env_file=None), model=model, settings=LONG) as tester:
        anna = tester.user("Anna")
        model.service.stt_pending_polls = 3
        model.service.queue_transcript("Please summarise my week. It was long.")
        await voice(tester, anna, ogg_opus(120), 120)
        texts = [m for m in shown(tester, anna.id) if m.kind == "text"]
        [answer] = [m for m in texts if "Echo:" in m.text]
        assert answer.text == "Echo: Please summarise my week. It was long."
        [quote] = [m for m in texts if "🎤" in m.text]
        assert quote.text == "🎤 Please summarise my week. It was long.", "normalised, once"
        [status] = [m for m in texts if "Listening" in m.text]
        assert "120 s" in status.text
        assert status.deleted, "the status goes once the note is heard"
        [submitted] = model.service.stt_async_requests
        assert submitted.seconds == pytest.approx(120, abs=0.1)
        assert submitted.languages == ["en-US"]
        assert model.service.stt_requests == [], "not the synchronous route"
        polls = [r for r in model.service.requests if r.path.startswith("/operations/")]
        assert len(polls) == 4, "three pending polls, then done"
        [job] = await rows(tester, "SELECT status, text, operation_id FROM speech_jobs")
        assert (job["status"], job["operation_id"]) == ("done", submitted.operation_id)
        [usage] = await rows(tester, SECONDS)
        assert usage["amount"] == 120


async def test_a_spoken_command_is_a_question_not_a_command() -> None:
    model = ServiceModel()
    async with BotTester(App(env_file=None), model=model, settings=LONG) as tester:
        anna = tester.user("Anna")
        model.service.stt_pending_polls = 1
        model.service.queue_transcript("/reset")
        await voice(tester, anna, ogg_opus(45), 45)
        texts = [m.text for m in shown(tester, anna.id) if m.kind == "text"]
        assert "Echo: /reset" in texts, "answered like typed text, never run"
        assert not any("new conversation" in t for t in texts)


async def test_speechkit_follows_yandex_llm_url_when_its_own_urls_are_unset() -> None:
    """YANDEX_LLM_URL pointed at a local emulator: STT_URL and TTS_URL unset go to the same
    host (not Yandex's, which a machine without the internet would retry for a minute)."""
    model = ServiceModel()
    emulator = "http://127.0.0.1:8089"
    settings = {"YANDEX_LLM_URL": emulator, "VOICE_REPLIES": "always"}
    async with BotTester(App(env_file=None), model=model, settings=settings) as tester:
        assert tester.settings is not None
        assert (tester.settings.voice.stt_url, tester.settings.voice.tts_url) == \
            (emulator, emulator)
        model.service.queue_transcript("how do I reset my password")
        await voice(tester, tester.user("Anna"), ogg_opus(3), 3)
    speech = [r for r in model.service.requests if r.path.startswith(("/speech/", "/stt/"))]
    assert {r.path for r in speech} >= {"/speech/v1/stt:recognize", "/speech/v1/tts:synthesize"}
    assert {r.headers.get("host") for r in speech} == {"127.0.0.1:8089"}


async def test_speechkit_keeps_yandexs_hosts_with_yandexs_llm_url() -> None:
    async with BotTester(App(env_file=None)) as tester:
        assert tester.settings is not None
        voice_settings = tester.settings.voice
    assert voice_settings.stt_url == "https://stt.api.cloud.yandex.net"
    assert voice_settings.tts_url == "https://tts.api.cloud.yandex.net"
