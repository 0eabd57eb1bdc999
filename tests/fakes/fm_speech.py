"""SpeechKit speech synthesis (TTS API v1) and asynchronous recognition (STT v3), for the fake
Foundation Models server.

TTS (``POST /speech/v1/tts:synthesize``, a form): ``text`` at most 5,000 characters and the
body at most 15 KB, else 400 with SpeechKit's ``{"error_code", "error_message"}``;
``format`` must be ``oggopus`` (the only one served). The answer is a real OggOpus file
(ogg_opus.py) lasting 20 ms per character, so a test can tell from the audio how much text it
carries; every request is kept in ``tts_requests``. ``tts_forbidden`` answers 403 as for a
service account without ``ai.speechkit-tts.user``, ``tts_quota`` 429 as over the quota, and
while ``tts_gate`` is set and not released a request waits (a test kills the bot meanwhile).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import parse_qs

from aiohttp import web

from tests.fakes.ogg_opus import ogg_opus

TTS_PATH = "/speech/v1/tts:synthesize"
SECONDS_PER_CHAR = 0.02


@dataclass
class TtsRequest:
    text: str
    lang: str
    voice: str
    speed: str
    format: str
    content_type: str


class SpeechHandlers:
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

    def tts_texts(self) -> list[str]:
        return [r.text for r in self.tts_requests]

    async def tts(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
        entry = TtsRequest(form.get("text", ""), form.get("lang", "ru-RU"),
                           form.get("voice", ""), form.get("speed", "1.0"),
                           form.get("format", "oggopus"),
                           request.headers.get("Content-Type", ""))  # fmt: skip
        self.tts_requests.append(entry)
        if self.tts_gate is not None and not self.tts_gate.is_set():
            self.tts_waiting += 1
            await self.tts_gate.wait()
        if self.tts_forbidden:
            return _error(403, "PERMISSION_DENIED", "Permission denied")
        if self.tts_quota:
            return _error(429, "RESOURCE_EXHAUSTED", "ai.speechkitTts.requestsPerSecond.rate "
                          "quota limit exceed")  # fmt: skip
        if not entry.content_type.startswith("application/x-www-form-urlencoded"):
            return _error(400, "BAD_REQUEST", "the body must be a form")
        if not entry.text.strip():
            return _error(400, "BAD_REQUEST", "text or ssml is required")
        if len(entry.text) > 5000 or len(raw) > 15 * 1024:
            return _error(400, "BAD_REQUEST", "Too long text")
        if entry.format != "oggopus":
            return _error(400, "BAD_REQUEST", "format is not served by the fake")
        audio = ogg_opus(max(0.02, len(entry.text) * SECONDS_PER_CHAR))
        return web.Response(body=audio, content_type="audio/ogg")


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error_code": code, "error_message": message}, status=status)
