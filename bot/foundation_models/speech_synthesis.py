"""SpeechKit speech synthesis (TTS API v1) to OggOpus, with the models' credentials.

https://yandex.cloud/en/docs/speechkit/tts/request (API v1):
``POST {TTS_URL}/speech/v1/tts:synthesize`` with a form-urlencoded body: ``text`` (at most
5,000 characters, the whole body at most 15 KB), ``lang``, ``voice``, ``speed`` (0.1-3.0),
``format=oggopus`` (the default) and ``folderId`` for user accounts only. The answer is the
audio itself, an OggOpus file Telegram's ``sendVoice`` plays as a voice message. Errors come as
``{"error_code", "error_message"}``. The service account needs the role
``ai.speechkit-tts.user`` (403 without it); 429 is the quota (40 requests a second).

API v1 is used rather than REST v3 ``utteranceSynthesis``: v1 answers OggOpus by default in one
body, takes 5,000 characters a request where v3 takes 250 (without ``unsafeMode``), and is
billed per character where v3 is billed per 250-character request.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

import httpx

import bot.foundation_models.errors as errors
from bot.foundation_models.auth import Auth
from bot.foundation_models.base import ApiClient
from bot.foundation_models.transport import RetryPolicy, Timeouts

logger = logging.getLogger(__name__)

TTS_ROLE = "ai.speechkit-tts.user"
MAX_CHARS = 5000  # characters of text in one request
MAX_BODY = 15 * 1024  # bytes of the form-encoded body of one request
FORM = "application/x-www-form-urlencoded"
# SpeechKit's languages for synthesis, by Telegram's two-letter code.
LANGUAGES = {"ru": "ru-RU", "en": "en-US", "de": "de-DE", "kk": "kk-KK", "uz": "uz-UZ",
             "he": "he-IL"}


class SynthesisError(errors.FoundationModelsError):
    """Synthesis failed (the service's message is in the text)."""


class SynthesisPermissionError(SynthesisError):
    """401/403: the service account lacks the role ``ai.speechkit-tts.user``."""


class SynthesisQuotaError(SynthesisError):
    """429 after the retries: SpeechKit's request quota."""


def tts_language(code: str | None) -> str:
    """A Telegram ``language_code`` as SpeechKit's ``lang`` (Russian when unknown)."""
    return LANGUAGES.get((code or "ru").split("-", 1)[0].lower(), "ru-RU")


def form_size(text: str) -> int:
    """Bytes ``text`` takes in the request's form (what the 15 KB body limit counts)."""
    return len(urlencode({"text": text}))


class SpeechSynthesizer(ApiClient):
    """Speaks text as OggOpus audio."""

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
        self.base_url = base_url.rstrip("/")
        self.url = self.base_url + "/speech/v1/tts:synthesize"
        super().__init__(
            auth=auth, folder_id=folder_id, timeouts=timeouts or Timeouts(first_byte=60.0),
            retry=retry, http=http, sleep=sleep, read_timeout=60.0,
        )

    async def synthesize(
        self, text: str, *, language: str = "ru-RU", voice: str = "", speed: float = 1.0
    ) -> bytes:
        """OggOpus audio of ``text`` (at most MAX_CHARS characters and MAX_BODY bytes).

        Raises SynthesisPermissionError on 401/403 (logged naming the role),
        SynthesisQuotaError on 429, SynthesisError on other refusals or a body that is not
        OggOpus, and the client's connection errors (retried first)."""
        if not text.strip():
            raise SynthesisError("nothing to say")
        if len(text) > MAX_CHARS or form_size(text) > MAX_BODY - 256:
            raise SynthesisError(f"over {MAX_CHARS} characters or {MAX_BODY} bytes")
        form = {"text": text, "lang": language, "format": "oggopus", "speed": f"{speed:g}"}
        if voice:
            form["voice"] = voice
        if self.folder_id and self._transport.auth.needs_folder_header:
            form["folderId"] = self.folder_id  # user accounts (IAM token) only
        try:
            audio = await self._transport.request(
                "POST", self.url, content=urlencode(form).encode(), content_type=FORM,
                folder_header=False,
            )
        except (errors.AuthenticationError, errors.PermissionDeniedError) as exc:
            logger.error(
                "speech synthesis refused (HTTP %s): the service account needs the role %s",
                exc.status_code, TTS_ROLE,
            )
            raise SynthesisPermissionError(f"{exc.message} (role {TTS_ROLE} needed)") from None
        except errors.RateLimitError as exc:
            logger.warning("speech synthesis over SpeechKit's quota: %s", exc.message)
            raise SynthesisQuotaError(f"quota: {exc.message}") from None
        except errors.BadRequestError as exc:
            raise SynthesisError(f"synthesis refused: {exc.message}") from None
        if not audio.startswith(b"OggS"):
            raise SynthesisError("SpeechKit's answer is not OggOpus audio")
        return audio
