"""SpeechKit short-audio recognition (STT v1, synchronous), with the models' credentials.

https://yandex.cloud/en/docs/speechkit/stt/api/request-api:
``POST {STT_URL}/speech/v1/stt:recognize?lang=ru-RU&format=oggopus[&folderId=...]`` with the raw
audio as the body; the answer is ``{"result": "<text>"}``, errors ``{"error_code",
"error_message"}``. OGG/Opus (Telegram's voice format) is accepted as it is. Limits: 30 s,
1 MB, one channel. The API key needs the scope ``yc.ai.speechkitStt.execute`` (or
``yc.ai.foundationModels.execute``) and the service account the role ``ai.speechkit-stt.user``:
``ai.languageModels.user`` alone answers 403.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

import httpx

import bot.foundation_models.errors as errors
from bot.foundation_models.auth import Auth
from bot.foundation_models.base import ApiClient
from bot.foundation_models.transport import RetryPolicy, Timeouts

logger = logging.getLogger(__name__)

MAX_SECONDS = 30
MAX_BYTES = 1024 * 1024
STT_ROLE = "ai.speechkit-stt.user"
# Telegram's language codes -> SpeechKit's (v1 knows these; anything else is recognised as
# Russian, the service's default, unless a deployment passes another default).
_LANGUAGES = {
    "ru": "ru-RU", "en": "en-US", "de": "de-DE", "es": "es-ES", "fi": "fi-FI", "fr": "fr-FR",
    "he": "he-IL", "it": "it-IT", "kk": "kk-KZ", "nl": "nl-NL", "pl": "pl-PL", "pt": "pt-PT",
    "sv": "sv-SE", "tr": "tr-TR", "uz": "uz-UZ",
}


class SpeechError(errors.FoundationModelsError):
    """Recognition failed (the service's message is in the text)."""


class SpeechPermissionError(SpeechError):
    """401/403 from SpeechKit: the service account lacks the role ``ai.speechkit-stt.user``
    (or the API key the scope ``yc.ai.speechkitStt.execute``)."""


class AudioTooLongError(SpeechError):
    """Over the synchronous API's limits (30 s or 1 MB)."""


def stt_language(code: str | None, default: str = "ru-RU") -> str:
    """A Telegram ``language_code`` ("en", "ru-RU", "pt-br") as SpeechKit's ``lang``."""
    if not code:
        return default
    return _LANGUAGES.get(code.split("-", 1)[0].lower(), default)


class SpeechRecognizer(ApiClient):
    """Recognises short OGG/Opus audio (a voice note) as text."""

    def __init__(
        self,
        *,
        base_url: str,
        auth: Auth,
        folder_id: str = "",
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        http: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(
            auth=auth, folder_id=folder_id, timeouts=timeouts or Timeouts(first_byte=30.0),
            retry=retry, http=http, sleep=sleep, read_timeout=30.0,
        )
        self.url = base_url.rstrip("/") + "/speech/v1/stt:recognize"

    async def recognize(
        self, audio: bytes, *, language: str = "ru-RU", seconds: float | None = None
    ) -> str:
        """The text of ``audio`` (OGG/Opus); "" when nothing was heard.

        Raises AudioTooLongError before any request when ``audio`` or ``seconds`` is over the
        limits, SpeechPermissionError on 401/403, SpeechError on other refusals, and the
        client's connection errors (retried first) when the service cannot be reached."""
        if len(audio) > MAX_BYTES or (seconds is not None and seconds > MAX_SECONDS):
            raise AudioTooLongError(f"over {MAX_SECONDS} s or {MAX_BYTES} bytes")
        query = {"lang": language, "format": "oggopus"}
        if self.folder_id and self._transport.auth.needs_folder_header:
            query["folderId"] = self.folder_id  # user accounts (IAM token) only
        try:
            raw = await self._transport.request(
                "POST", f"{self.url}?{urlencode(query)}", content=audio, folder_header=False
            )
        except (errors.AuthenticationError, errors.PermissionDeniedError) as exc:
            logger.error(
                "speech recognition refused (HTTP %s): the service account needs the role %s",
                exc.status_code, STT_ROLE,
            )
            raise SpeechPermissionError(f"{exc.message} (role {STT_ROLE} needed)") from None
        except errors.BadRequestError as exc:
            raise SpeechError(f"recognition refused: {exc.message}") from None
        try:
            body = json.loads(raw)
        except ValueError:
            raise SpeechError("unreadable answer from SpeechKit") from None
        if not isinstance(body, dict) or not isinstance(body.get("result", ""), str):
            raise SpeechError("unexpected answer from SpeechKit")
        return str(body.get("result", "")).strip()
