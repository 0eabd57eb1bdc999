"""The OpenAI-compatible Images API of the fake server: `POST /v1/images/generations`.

As Yandex's reference documents it (https://aistudio.yandex.ru/docs/ru/ai-studio/api-ref/Images/
createImage): a JSON body `{"model": "art://<folder>/aliceai-image-art-3.0", "prompt", "size"}`
where `size` is an aspect ratio, two positive integers joined by "x" ("1x1", "16x9"; pixel
sizes such as "1024x1024" are ratios too); the answer is synchronous, `{"created", "data":
[{"b64_json"}], "output_format", "size"}`. The prompt is held to 500 characters (the model
list's limit for Alice AI ART), a model of another folder or scheme is refused with 400, and
`refuse_images` answers the moderation refusal with 400, as on imageGenerationAsync.

`images_api_bytes` is the picture (a tiny JPEG by default); `images_api_requests` counts the
requests that reached the model; with `images_api_gate` set to an unset event, a request is
held there until it is set (a test stops the bot meanwhile), and `images_api_held` is set when
one is waiting.
"""

from __future__ import annotations

import asyncio
import base64
import re
import time
from typing import TYPE_CHECKING, Any

from bot.testing.yandex import payloads as p
from bot.testing.yandex.exchange import Response, json_response

IMAGES_PATH = "/v1/images/generations"
_SIZE = re.compile(r"^([1-9]\d{0,4})x([1-9]\d{0,4})$")
MAX_PROMPT = 500


class ImagesApiHandlers:
    refuse_images: bool

    if TYPE_CHECKING:  # provided by the server class
        def model_problem(self, uri: Any, scheme: str) -> str | None: ...

        @staticmethod
        def error(status: int, message: str, *, form: str = "object",
                  headers: dict[str, str] | None = None) -> Response: ...

    def init_images_api(self) -> None:
        self.images_api_bytes = p.tiny_jpeg()
        self.images_api_requests = 0
        self.images_api_sizes: list[str] = []
        self.images_api_gate: asyncio.Event | None = None
        self.images_api_held = asyncio.Event()

    async def images_generations(self, body: Any) -> Response:
        if not isinstance(body, dict):
            return self.error(400, "the body must be a JSON object")
        problem = self.model_problem(body.get("model"), "art")
        prompt = body.get("prompt")
        size = body.get("size", "1x1")
        if problem is None and (not isinstance(prompt, str) or not prompt.strip()):
            problem = "prompt must not be empty"
        if problem is None and isinstance(prompt, str) and len(prompt) > MAX_PROMPT:
            problem = f"prompt is too long: {len(prompt)} characters, the limit is {MAX_PROMPT}"
        if problem is None and not (isinstance(size, str) and _SIZE.match(size)):
            problem = f"invalid size {size!r}: two positive integers separated by 'x'"
        if problem is not None:
            return self.error(400, problem)
        if self.refuse_images:
            return self.error(400, p.REFUSAL, form="string")
        self.images_api_requests += 1
        self.images_api_sizes.append(str(size))
        if self.images_api_gate is not None:
            self.images_api_held.set()
            await self.images_api_gate.wait()
        return json_response({
            "created": int(time.time()),
            "data": [{"b64_json": base64.b64encode(self.images_api_bytes).decode()}],
            "output_format": "jpeg",
            "size": str(size),
        })
