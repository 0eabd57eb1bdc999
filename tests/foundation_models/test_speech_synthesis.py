"""SpeechKit TTS v1 (speech_synthesis.py) against the fake server: the form on the wire, the
OggOpus answer, the per-request limits and the refusals mapped to their errors."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from bot.foundation_models.auth import ApiKeyAuth
from bot.foundation_models.speech_synthesis import (
    MAX_CHARS,
    TTS_ROLE,
    SpeechSynthesizer,
    SynthesisError,
    SynthesisPermissionError,
    SynthesisQuotaError,
    tts_language,
)
from bot.testing.ogg_opus import ogg_duration, ogg_problem
from tests.fakes.yandex.server import FakeFoundationModels
from tests.foundation_models.conftest import (
    API_KEY,
    FAST_RETRY,
    FAST_TIMEOUTS,
    FOLDER,
    SleepRecorder,
)


@pytest.fixture
async def tts(fm: FakeFoundationModels, sleeps: SleepRecorder) -> AsyncIterator[SpeechSynthesizer]:
    synthesizer = SpeechSynthesizer(
        base_url=fm.url + "/", auth=ApiKeyAuth(API_KEY), folder_id=FOLDER,
        timeouts=FAST_TIMEOUTS, retry=FAST_RETRY, sleep=sleeps,
    )
    yield synthesizer
    await synthesizer.aclose()


async def test_text_is_sent_as_a_form_and_oggopus_comes_back(
    fm: FakeFoundationModels, tts: SpeechSynthesizer
) -> None:
    audio = await tts.synthesize("Привет, мир & co", language="ru-RU", voice="alena", speed=1.2)
    assert ogg_problem(audio) is None
    assert ogg_duration(audio) == pytest.approx(0.32, abs=0.03)  # 16 characters
    [request] = fm.tts_requests
    assert (request.text, request.lang, request.voice, request.speed, request.format) == (
        "Привет, мир & co", "ru-RU", "alena", "1.2", "oggopus")
    assert request.content_type == "application/x-www-form-urlencoded"
    [recorded] = [r for r in fm.requests if r.path.endswith("tts:synthesize")]
    assert recorded.headers["Authorization"] == f"Api-Key {API_KEY}"
    assert "x-folder-id" not in {k.lower() for k in recorded.headers}


async def test_over_the_limits_is_refused_before_any_request(
    fm: FakeFoundationModels, tts: SpeechSynthesizer
) -> None:
    with pytest.raises(SynthesisError):
        await tts.synthesize("a" * (MAX_CHARS + 1))
    with pytest.raises(SynthesisError):
        await tts.synthesize("я" * 2700)  # 2,700 characters but 16 KB as a form
    with pytest.raises(SynthesisError):
        await tts.synthesize("   ")
    assert fm.tts_requests == []


async def test_a_missing_role_is_named_in_one_error_line(
    fm: FakeFoundationModels, tts: SpeechSynthesizer, caplog: pytest.LogCaptureFixture
) -> None:
    fm.tts_forbidden = True
    with caplog.at_level(logging.ERROR), pytest.raises(SynthesisPermissionError):
        await tts.synthesize("hello")
    naming = [r for r in caplog.records if TTS_ROLE in r.getMessage()]
    assert len(naming) == 1


async def test_the_quota_is_retried_then_reported(
    fm: FakeFoundationModels, tts: SpeechSynthesizer, sleeps: SleepRecorder
) -> None:
    fm.tts_quota = True
    with pytest.raises(SynthesisQuotaError):
        await tts.synthesize("hello")
    assert len(fm.tts_requests) == FAST_RETRY.max_attempts, "429 is retried first"


def test_languages_map_to_speechkit_codes() -> None:
    assert tts_language("en") == "en-US"
    assert tts_language("ru-RU") == "ru-RU"
    assert tts_language(None) == "ru-RU"
    assert tts_language("pt-br") == "ru-RU"
