"""SpeechKit speech synthesis (TTS API v1) and asynchronous recognition (STT v3), for the fake
Foundation Models server.

TTS (``POST /speech/v1/tts:synthesize``, a form): ``text`` at most 5,000 characters and the
body at most 15 KB, else 400 with SpeechKit's ``{"error_code", "error_message"}``;
``format`` must be ``oggopus`` (the only one served). The answer is a real OggOpus file
(ogg_opus.py) lasting 20 ms per character, so a test can tell from the audio how much text it
carries; every request is kept in ``tts_requests``. ``tts_forbidden`` answers 403 as for a
service account without ``ai.speechkit-tts.user``, ``tts_quota`` 429 as over the quota, and
while ``tts_gate`` is set and not released a request waits (a test kills the bot meanwhile).

STT v3 (``POST /stt/v3/recognizeFileAsync``, JSON): ``content`` must be base64 OggOpus with
``recognitionModel.audioFormat.containerAudio.containerAudioType`` ``OGG_OPUS`` (else 400);
the answer is an Operation that stays pending for ``stt_pending_polls`` polls of
``GET /operations/{id}``. ``GET /stt/v3/getRecognition?operationId=`` answers 404 before the
operation is done, then JSON lines as SpeechKit does: per utterance a ``final`` result and a
``finalRefinement.normalizedText`` one (channel "0"), the text being the queued transcript
(``queue_transcript``) or "speech of N.N seconds". Submissions are kept in
``stt_async_requests``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from bot.testing.ogg_opus import ogg_duration, ogg_opus
from bot.testing.yandex.exchange import Request, Response, json_response, text_response

TTS_PATH = "/speech/v1/tts:synthesize"
STT_ASYNC_PATH = "/stt/v3/recognizeFileAsync"
STT_RESULT_PATH = "/stt/v3/getRecognition"
SECONDS_PER_CHAR = 0.02


@dataclass
class TtsRequest:
    text: str
    lang: str
    voice: str
    speed: str
    format: str
    content_type: str


@dataclass
class SttAsyncRequest:
    seconds: float | None
    languages: list[str]
    operation_id: str


class SpeechHandlers:
    operations: dict[str, dict[str, Any]]
    transcripts: deque[str]
    stt_async_requests: list[SttAsyncRequest]
    stt_pending_polls: int
    stt_results: dict[str, str]
    tts_requests: list[TtsRequest]
    tts_forbidden: bool
    tts_quota: bool
    tts_gate: asyncio.Event | None
    tts_waiting: int

    def init_speech(self) -> None:
        self.tts_requests = []
        self.tts_forbidden = False
        self.tts_quota = False
        self.tts_gate = None
        self.tts_waiting = 0
        self.stt_async_requests = []
        self.stt_pending_polls = 3
        self.stt_results = {}

    def heard(self, audio: bytes, seconds: float) -> str:
        raise NotImplementedError  # MediaHandlers'

    def tts_texts(self) -> list[str]:
        return [r.text for r in self.tts_requests]

    async def tts(self, request: Request) -> Response:
        raw = request.body
        form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
        entry = TtsRequest(form.get("text", ""), form.get("lang", "ru-RU"),
                           form.get("voice", ""), form.get("speed", "1.0"),
                           form.get("format", "oggopus"),
                           request.headers.get("Content-Type", ""))
        self.tts_requests.append(entry)
        if self.tts_gate is not None and not self.tts_gate.is_set():
            self.tts_waiting += 1
            await self.tts_gate.wait()
        if self.tts_forbidden:
            return _error(403, "PERMISSION_DENIED", "Permission denied")
        if self.tts_quota:
            return _error(429, "RESOURCE_EXHAUSTED", "ai.speechkitTts.requestsPerSecond.rate "
                          "quota limit exceed")
        if not entry.content_type.startswith("application/x-www-form-urlencoded"):
            return _error(400, "BAD_REQUEST", "the body must be a form")
        if not entry.text.strip():
            return _error(400, "BAD_REQUEST", "text or ssml is required")
        if len(entry.text) > 5000 or len(raw) > 15 * 1024:
            return _error(400, "BAD_REQUEST", "Too long text")
        if entry.format != "oggopus":
            return _error(400, "BAD_REQUEST", "format is not served by the fake")
        audio = ogg_opus(max(0.02, len(entry.text) * SECONDS_PER_CHAR))
        return text_response(audio, "audio/ogg")


    async def stt_async(self, request: Request) -> Response:
        try:
            body = json.loads(request.body)
            audio = base64.b64decode(body.get("content") or "", validate=True)
            model = body.get("recognitionModel") or {}
            container = model["audioFormat"]["containerAudio"]["containerAudioType"]
        except (ValueError, KeyError, TypeError, binascii.Error):
            return _error(400, "BAD_REQUEST", "content must be base64 audio with its format")
        seconds = ogg_duration(audio)
        if container != "OGG_OPUS" or seconds is None:
            return _error(400, "BAD_REQUEST", "audio should be in OggOpus format")
        operation_id = "f8d" + uuid.uuid4().hex[:17]
        languages = (model.get("languageRestriction") or {}).get("languageCode") or []
        self.stt_async_requests.append(SttAsyncRequest(seconds, list(languages), operation_id))
        text = self.heard(audio, seconds)
        self.stt_results[operation_id] = text
        self.operations[operation_id] = {"polls_left": self.stt_pending_polls,
                                         "description": "STT async recognition",
                                         "response": None}
        return json_response({"id": operation_id, "description": "STT async recognition",
                                  "createdAt": "2026-11-25T07:00:00Z", "createdBy": "fake",
                                  "modifiedAt": "2026-11-25T07:00:00Z", "done": False,
                                  "metadata": None})

    async def stt_result(self, request: Request) -> Response:
        operation_id = request.query.get("operationId") or request.query.get("operation_id", "")
        state = self.operations.get(operation_id)
        if operation_id not in self.stt_results or state is None:
            return _error(404, "NOT_FOUND", f"operation {operation_id} not found")
        if not state.get("done"):
            return _error(404, "NOT_FOUND", "results are not ready yet")
        lines = []
        for index, sentence in enumerate(_utterances(self.stt_results[operation_id])):
            raw = sentence.rstrip(".").lower()
            lines.append({"result": {"final": {"alternatives": [{"text": raw, "words": [],
                                                                 "confidence": 0}],
                                               "channelTag": "0"},
                                     "channelTag": "0"}})
            lines.append({"result": {"finalRefinement": {
                "finalIndex": str(index),
                "normalizedText": {"alternatives": [{"text": sentence}], "channelTag": "0"}},
                "channelTag": "0"}})
        body = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines)
        return text_response(body, "application/json")


def _utterances(text: str) -> list[str]:
    parts = [p.strip() for p in text.replace("? ", "?|").replace(". ", ".|").split("|")]
    return [p for p in parts if p]


def _error(status: int, code: str, message: str) -> Response:
    return json_response({"error_code": code, "error_message": message}, status=status)
