"""Images on the OpenAI-compatible API and SpeechKit STT v1 (issue 28), against the fake server."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator

import pytest
from PIL import Image

from bot.foundation_models.auth import ApiKeyAuth
from bot.foundation_models.errors import ServiceUnavailableError
from bot.foundation_models.openai_compat import OpenAICompatibleChatModel
from bot.foundation_models.speech import (
    STT_ROLE,
    AudioTooLongError,
    SpeechError,
    SpeechPermissionError,
    SpeechRecognizer,
    stt_language,
)
from bot.foundation_models.types import ChatMessage, Role
from bot.testing.ogg_opus import ogg_opus
from tests.fakes.yandex.server import FakeFoundationModels
from tests.foundation_models.conftest import (
    API_KEY,
    FAST_RETRY,
    FAST_TIMEOUTS,
    FOLDER,
    SleepRecorder,
)


def jpeg_of(color: tuple[int, int, int], size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG", quality=95)
    return out.getvalue()


@pytest.fixture
async def recognizer(
    fm: FakeFoundationModels, sleeps: SleepRecorder
) -> AsyncIterator[SpeechRecognizer]:
    stt = SpeechRecognizer(
        base_url=fm.url + "/", auth=ApiKeyAuth(API_KEY), folder_id=FOLDER,
        timeouts=FAST_TIMEOUTS, retry=FAST_RETRY, sleep=sleeps,
    )
    yield stt
    await stt.aclose()


async def test_images_go_as_data_url_parts_the_model_decodes(fm: FakeFoundationModels) -> None:
    async with OpenAICompatibleChatModel(
        base_url=fm.url + "/v1", auth=ApiKeyAuth(API_KEY), folder_id=FOLDER
    ) as model:
        red, blue = jpeg_of((220, 10, 10)), jpeg_of((10, 10, 220), (32, 32))
        message = ChatMessage(Role.USER, "what is this?", images=(red, blue))
        answer = await model.complete([message], model="gemma-3-27b-it/latest")
    request = next(r for r in fm.requests if r.path == "/v1/chat/completions")
    body = request.json
    assert body["model"] == f"gpt://{FOLDER}/gemma-3-27b-it/latest"
    parts = body["messages"][0]["content"]
    assert [p["type"] for p in parts] == ["text", "image_url", "image_url"]
    assert parts[0]["text"] == "what is this?"
    assert parts[1]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    [[first, second]] = fm.images_received
    assert (first.size, second.size) == ((64, 48), (32, 32))
    assert first.getpixel((10, 10))[0] > 200  # red
    assert second.getpixel((10, 10))[2] > 200  # blue
    assert "[image 64x48, image 32x32]" in answer.text
    assert answer.usage.input_tokens >= 512


async def test_a_text_message_stays_a_plain_string(fm: FakeFoundationModels) -> None:
    async with OpenAICompatibleChatModel(
        base_url=fm.url + "/v1", auth=ApiKeyAuth(API_KEY), folder_id=FOLDER
    ) as model:
        await model.complete([ChatMessage(Role.USER, "hi")], model="yandexgpt/latest")
    assert fm.requests[-1].json["messages"][0]["content"] == "hi"


async def test_recognition_sends_the_ogg_as_it_is_with_lang_and_format(
    fm: FakeFoundationModels, recognizer: SpeechRecognizer
) -> None:
    fm.queue_transcript("привет, как сбросить пароль")
    audio = ogg_opus(4)
    text = await recognizer.recognize(audio, language=stt_language("ru"), seconds=4)
    assert text == "привет, как сбросить пароль"
    [request] = [r for r in fm.requests if r.path == "/speech/v1/stt:recognize"]
    assert request.headers["Authorization"] == f"Api-Key {API_KEY}"
    [seen] = fm.stt_requests
    assert (seen.lang, seen.format, seen.seconds) == ("ru-RU", "oggopus", 4.0)
    assert seen.size == len(audio)


def test_telegram_language_codes_become_speechkit_languages() -> None:
    assert stt_language("en") == "en-US"
    assert stt_language("ru-RU") == "ru-RU"
    assert stt_language("pt-br") == "pt-PT"
    assert stt_language(None) == "ru-RU"
    assert stt_language("xx") == "ru-RU"


async def test_a_missing_role_is_one_log_line_naming_it(
    fm: FakeFoundationModels, recognizer: SpeechRecognizer, caplog: pytest.LogCaptureFixture
) -> None:
    fm.stt_forbidden = True
    with caplog.at_level(logging.ERROR), pytest.raises(SpeechPermissionError):
        await recognizer.recognize(ogg_opus(2), seconds=2)
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(lines) == 1
    assert STT_ROLE in lines[0]


async def test_too_long_audio_is_refused_before_any_request(
    fm: FakeFoundationModels, recognizer: SpeechRecognizer
) -> None:
    with pytest.raises(AudioTooLongError):
        await recognizer.recognize(ogg_opus(40), seconds=40)
    with pytest.raises(AudioTooLongError):
        await recognizer.recognize(b"\0" * (1024 * 1024 + 1))
    assert fm.stt_requests == []
    with pytest.raises(SpeechError, match="30s"):  # a lying duration: the service says no
        await recognizer.recognize(ogg_opus(40), seconds=5)


async def test_server_errors_are_retried_then_raised(
    fm: FakeFoundationModels, recognizer: SpeechRecognizer, sleeps: SleepRecorder
) -> None:
    fm.fail_next(503, path="/speech/v1/stt:recognize")
    assert await recognizer.recognize(ogg_opus(1), seconds=1) == "speech of 1.0 s"
    assert len(sleeps.delays) == 1
    fm.fail_next(503, path="/speech/v1/stt:recognize", times=5)
    with pytest.raises(ServiceUnavailableError):
        await recognizer.recognize(ogg_opus(1), seconds=1)
