"""Images on the OpenAI-compatible route and SpeechKit STT v1 (issue 28), for the fake server.

Images: a user message's ``content`` may be a list of parts, ``{"type": "text", "text"}`` and
``{"type": "image_url", "image_url": {"url": "data:image/<fmt>;base64,..."}}`` (the only form in
Yandex's examples). Every image part is decoded (Pillow): a part that is not a base64 data URL
of a decodable image answers 400, as a real model refuses it. Decoded images are kept
(``images_received``, one list per request) so a test can compare them with the photo the user
sent, and an unscripted echo names them ("[image 640x480]").

STT (``POST /speech/v1/stt:recognize?lang=..&format=oggopus``): the body must be OGG/Opus, at
most 1 MB and 30 s (read from the last page's granule position), else 400 with SpeechKit's
``{"error_code", "error_message"}``; ``stt_forbidden`` answers 403 as for a service account
without ``ai.speechkit-stt.user``. The answer is ``{"result": text}``: queued transcripts first
(``queue_transcript``), else "speech of N.N seconds".
"""

from __future__ import annotations

import base64
import binascii
import io
from collections import deque
from dataclasses import dataclass
from typing import Any

from PIL import Image

from bot.testing.ogg_opus import ogg_duration
from bot.testing.yandex.exchange import Request, Response, json_response
from bot.testing.yandex.text import Decider

STT_PATH = "/speech/v1/stt:recognize"
IMAGE_TOKENS = 256


class BadImageError(ValueError):
    pass


@dataclass
class SttRequest:
    lang: str
    format: str
    seconds: float | None
    size: int


def decode_image_url(url: str) -> Image.Image:
    head, _, data = url.partition(",")
    if not head.startswith("data:image/") or not head.endswith(";base64"):
        raise BadImageError(f"unsupported image url {head[:40]!r}")
    try:
        raw = base64.b64decode(data, validate=True)
        image = Image.open(io.BytesIO(raw))
        image.load()
    except (binascii.Error, OSError, ValueError) as exc:
        raise BadImageError(f"image cannot be decoded: {exc}") from None
    return image.convert("RGB")


def flatten_content(content: Any) -> tuple[str, list[Image.Image]]:
    """The text and the decoded images of one message's content (a string or parts)."""
    if not isinstance(content, list):
        return str(content or ""), []
    texts, images = [], []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            texts.append(str(part.get("text") or ""))
        elif kind == "image_url":
            url = (part.get("image_url") or {}).get("url")
            if not isinstance(url, str):
                raise BadImageError("image_url.url is required")
            images.append(decode_image_url(url))
        else:
            raise BadImageError(f"unknown content part type {kind!r}")
    return "\n".join(texts), images


class MediaHandlers:
    images_received: list[list[Image.Image]]
    transcripts: deque[str]
    stt_requests: list[SttRequest]
    stt_forbidden: bool
    decider: Decider | None

    def init_media(self) -> None:
        self.images_received = []
        self.transcripts = deque()
        self.stt_requests = []
        self.stt_forbidden = False

    def queue_transcript(self, text: str) -> None:
        self.transcripts.append(text)

    def heard(self, audio: bytes, seconds: float) -> str:
        """What a recording says: the decider's word for it, a queued transcript, else
        "speech of N.N s"."""
        said = self.decider.heard(audio) if self.decider is not None else None
        if said is not None:
            return said
        return self.transcripts.popleft() if self.transcripts else f"speech of {seconds:.1f} s"

    def flatten_messages(
        self, messages: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], int] | str:
        """Messages with text-only content (images named in it) and the images' count; or
        the problem with an image part."""
        flat, seen = [], []
        try:
            for message in messages:
                text, images = flatten_content(message.get("content"))
                if images:
                    names = ", ".join(f"image {i.width}x{i.height}" for i in images)
                    text = f"{text} [{names}]"
                seen.extend(images)
                flat.append({**message, "content": text})
        except BadImageError as exc:
            return str(exc)
        if seen:
            self.images_received.append(seen)
        return flat, len(seen)

    async def stt(self, request: Request) -> Response:
        audio = request.body
        lang = request.query.get("lang", "ru-RU")
        fmt = request.query.get("format", "oggopus")
        seconds = ogg_duration(audio)
        self.stt_requests.append(SttRequest(lang, fmt, seconds, len(audio)))
        if self.stt_forbidden:
            return _stt_error(403, "PERMISSION_DENIED", "Permission denied")
        if fmt != "oggopus" or seconds is None:
            return _stt_error(400, "BAD_REQUEST", "audio should be in OggOpus format")
        if len(audio) > 1024 * 1024:
            return _stt_error(400, "BAD_REQUEST", "audio size should be less than 1MB")
        if seconds > 30:
            return _stt_error(400, "BAD_REQUEST", "audio duration should be less than 30s")
        text = self.heard(audio, seconds)
        return json_response(
            {"result": text}, headers={"YaCloud-Billing-Units": str(15 * (1 + int(seconds) // 15))}
        )


def _stt_error(status: int, code: str, message: str) -> Response:
    return json_response({"error_code": code, "error_message": message}, status=status)
