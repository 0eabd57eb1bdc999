"""SpeechKit asynchronous recognition (STT API v3, REST) for long audio, with the models'
credentials.

https://yandex.cloud/en/docs/speechkit/stt-v3/api-ref/AsyncRecognizer/recognizeFile:
``POST {STT_URL}/stt/v3/recognizeFileAsync`` with JSON ``{"content": "<base64 audio>",
"recognitionModel": {"model": "general", "audioFormat": {"containerAudio":
{"containerAudioType": "OGG_OPUS"}}, "textNormalization": {...}, "languageRestriction":
{"restrictionType": "WHITELIST", "languageCode": ["ru-RU"]}}}`` answers an Operation
``{"id", "done": false, ...}``. Its state is read at ``GET {operation_url}/operations/{id}``
until ``done``; then ``GET {STT_URL}/stt/v3/getRecognition?operationId={id}`` answers the
results as JSON lines, each ``{"result": {...}}`` with either ``final.alternatives[0].text``
(an utterance) or ``finalRefinement.normalizedText.alternatives[0].text`` (the same utterance
normalised, preferred). The role is ``ai.speechkit-stt.user``, as for short audio.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import quote

import httpx

import bot.foundation_models.errors as errors
from bot.foundation_models.auth import Auth
from bot.foundation_models.base import ApiClient
from bot.foundation_models.speech import STT_ROLE, SpeechError, SpeechPermissionError
from bot.foundation_models.transport import RetryPolicy, Timeouts

logger = logging.getLogger(__name__)


class RecognitionPending(SpeechError):
    """The operation is not done yet (poll again later)."""


class AsyncSpeechRecognizer(ApiClient):
    """Submits long OGG/Opus audio and reads its text when SpeechKit is done."""

    def __init__(
        self,
        *,
        base_url: str,
        operation_url: str,
        auth: Auth,
        folder_id: str = "",
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        http: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.operation_url = operation_url.rstrip("/")
        super().__init__(
            auth=auth, folder_id=folder_id, timeouts=timeouts or Timeouts(first_byte=60.0),
            retry=retry, http=http, sleep=sleep, read_timeout=60.0,
        )

    async def submit(self, audio: bytes, *, language: str = "ru-RU") -> str:
        """Start recognising ``audio`` (OGG/Opus); the operation's id."""
        body = {
            "content": base64.b64encode(audio).decode("ascii"),
            "recognitionModel": {
                "model": "general",
                "audioFormat": {"containerAudio": {"containerAudioType": "OGG_OPUS"}},
                "textNormalization": {"textNormalization": "TEXT_NORMALIZATION_ENABLED",
                                      "literatureText": True},
                "languageRestriction": {"restrictionType": "WHITELIST",
                                        "languageCode": [language]},
            },
        }
        raw = await self._call("POST", f"{self.base_url}/stt/v3/recognizeFileAsync", json=body)
        operation = _object(raw)
        operation_id = operation.get("id")
        if not isinstance(operation_id, str) or not operation_id:
            raise SpeechError("SpeechKit's answer names no operation")
        return operation_id

    async def result(self, operation_id: str) -> str:
        """The text of a done operation; RecognitionPending while it runs, SpeechError when
        it failed."""
        state = _object(await self._call("GET", f"{self.operation_url}/operations/"
                                                f"{quote(operation_id, safe='')}"))
        if not state.get("done"):
            raise RecognitionPending(operation_id)
        error = state.get("error")
        if isinstance(error, dict) and (error.get("code") or error.get("message")):
            raise SpeechError(f"recognition failed: {error.get('message') or error.get('code')}")
        raw = await self._call("GET", f"{self.base_url}/stt/v3/getRecognition"
                                      f"?operationId={quote(operation_id, safe='')}")
        return transcript(raw)

    async def _call(self, method: str, url: str, json: object = None) -> bytes:
        try:
            return await self._transport.request(method, url, json=json, folder_header=False)
        except (errors.AuthenticationError, errors.PermissionDeniedError) as exc:
            logger.error(
                "speech recognition refused (HTTP %s): the service account needs the role %s",
                exc.status_code, STT_ROLE,
            )
            raise SpeechPermissionError(f"{exc.message} (role {STT_ROLE} needed)") from None
        except errors.BadRequestError as exc:
            raise SpeechError(f"recognition refused: {exc.message}") from None


def transcript(raw: bytes) -> str:
    """The text of getRecognition's JSON lines: each utterance once, normalised when given."""
    finals: dict[int, str] = {}
    refined: dict[int, str] = {}
    count = 0
    for line in raw.splitlines():
        if not line.strip():
            continue
        try:
            result = json.loads(line).get("result") or {}
        except (ValueError, AttributeError):
            raise SpeechError("unreadable answer from SpeechKit") from None
        if str(result.get("channelTag", "0")) != "0":
            continue
        final = result.get("final")
        if isinstance(final, dict):
            finals[count] = _first_text(final)
            count += 1
        refinement = result.get("finalRefinement")
        if isinstance(refinement, dict):
            index = int(refinement.get("finalIndex", count - 1) or 0)
            refined[index] = _first_text(refinement.get("normalizedText") or {})
    texts = [refined.get(i) or finals[i] for i in sorted(finals)]
    texts += [refined[i] for i in sorted(refined) if i not in finals]
    return " ".join(t.strip() for t in texts if t and t.strip())


def _first_text(part: dict[str, object]) -> str:
    alternatives = part.get("alternatives")
    if isinstance(alternatives, list) and alternatives and isinstance(alternatives[0], dict):
        return str(alternatives[0].get("text") or "")
    return ""


def _object(raw: bytes) -> dict[str, object]:
    try:
        body = json.loads(raw)
    except ValueError:
        raise SpeechError("unreadable answer from SpeechKit") from None
    if not isinstance(body, dict):
        raise SpeechError("unexpected answer from SpeechKit")
    return body
