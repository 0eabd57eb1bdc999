"""SpeechKit STT v3 asynchronous recognition (speech_async.py) against the fake server: the
submitted JSON, the operation polled until done, the JSON-lines results read once each."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from bot.foundation_models.auth import ApiKeyAuth
from bot.foundation_models.speech import SpeechError, SpeechPermissionError
from bot.foundation_models.speech_async import (
    AsyncSpeechRecognizer,
    RecognitionPending,
    transcript,
)
from bot.testing.ogg_opus import ogg_opus
from tests.fakes.yandex.server import FakeFoundationModels
from tests.foundation_models.conftest import (
    API_KEY,
    FAST_RETRY,
    FAST_TIMEOUTS,
    FOLDER,
    SleepRecorder,
)


@pytest.fixture
async def stt(
    fm: FakeFoundationModels, sleeps: SleepRecorder
) -> AsyncIterator[AsyncSpeechRecognizer]:
    recognizer = AsyncSpeechRecognizer(
        base_url=fm.url, operation_url=fm.url, auth=ApiKeyAuth(API_KEY), folder_id=FOLDER,
        timeouts=FAST_TIMEOUTS, retry=FAST_RETRY, sleep=sleeps,
    )
    yield recognizer
    await recognizer.aclose()


async def test_submit_poll_and_read_the_normalised_text(
    fm: FakeFoundationModels, stt: AsyncSpeechRecognizer
) -> None:
    fm.stt_pending_polls = 2
    fm.queue_transcript("Hello there. How are you?")
    operation_id = await stt.submit(ogg_opus(95), language="en-US")
    [request] = fm.stt_async_requests
    assert request.operation_id == operation_id
    assert request.languages == ["en-US"]
    assert request.seconds == pytest.approx(95, abs=0.1)
    [body] = [r.json for r in fm.requests if r.path == "/stt/v3/recognizeFileAsync"]
    assert body["recognitionModel"]["audioFormat"] == {
        "containerAudio": {"containerAudioType": "OGG_OPUS"}}
    for _ in range(2):
        with pytest.raises(RecognitionPending):
            await stt.result(operation_id)
    assert await stt.result(operation_id) == "Hello there. How are you?"


async def test_refusals(fm: FakeFoundationModels, stt: AsyncSpeechRecognizer) -> None:
    with pytest.raises(SpeechError):
        await stt.submit(b"not ogg at all")
    fm.fail_next(403, path="/stt/v3/recognizeFileAsync")
    with pytest.raises(SpeechPermissionError):
        await stt.submit(ogg_opus(40))


def test_each_utterance_once_refined_when_given_and_other_channels_skipped() -> None:
    lines = [
        {"result": {"final": {"alternatives": [{"text": "one"}], "channelTag": "0"},
                    "channelTag": "0"}},
        {"result": {"finalRefinement": {"finalIndex": "0", "normalizedText": {
            "alternatives": [{"text": "One."}]}}, "channelTag": "0"}},
        {"result": {"final": {"alternatives": [{"text": "two"}]}, "channelTag": "1"}},
        {"result": {"final": {"alternatives": [{"text": "three"}]}, "channelTag": "0"}},
        {"result": {"partial": {"alternatives": [{"text": "thr"}]}, "channelTag": "0"}},
    ]
    raw = "\n".join(json.dumps(line) for line in lines).encode()
    assert transcript(raw) == "One. three"
    with pytest.raises(SpeechError):
        transcript(b"{not json")
