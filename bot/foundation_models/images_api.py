"""The OpenAI-compatible Images API: `POST {images_url}/images/generations`, synchronous.

Alice AI ART (`art://<folder>/aliceai-image-art-3.0`) is served only here
(https://aistudio.yandex.ru/docs/ru/ai-studio/api-ref/Images/createImage): the request is
`{"model", "prompt", "size"}`, where `size` is the aspect ratio as two positive integers joined
by `x` (the reference's example is `"1x1"`; third-party clients send pixel sizes such as
`"1024x1024"`, which are ratios too); the answer is `{"created", "data": [{"b64_json"}]}` with
the picture in Base64. `n`, `quality`, `response_format`, `output_format`, `background`,
`style` are "CURRENTLY NOT SUPPORTED", and there is no seed. Generation takes seconds: the
answer is the picture, there is no operation to poll. docs/images.md records the sources.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.foundation_models.errors import OperationFailedError
from bot.foundation_models.types import ImageOptions

IMAGES_PATH = "/images/generations"
# Where Yandex serves the Images API: `POST https://ai.api.cloud.yandex.net/v1/images/generations`
# (https://aistudio.yandex.ru/docs/ru/ai-studio/api-ref/Images/createImage), not the
# llm.api host the native API lives on.
IMAGES_BASE_URL = "https://ai.api.cloud.yandex.net/v1"
_YANDEX_LLM_URL = "https://llm.api.cloud.yandex.net"
# The largest picture taken: Telegram's sendPhoto takes at most 10 MB
# (https://core.telegram.org/bots/api#sendphoto), and a larger one could not be shown anyway.
MAX_PICTURE_BYTES = 10 * 1000 * 1000
# Base64 of such a picture, and room for the rest of the JSON answer: a longer body is not read.
_MAX_B64 = -(-MAX_PICTURE_BYTES // 3) * 4
MAX_ANSWER_BYTES = _MAX_B64 + 64 * 1024
# Models of the Images API (by the model segment of the URI): Alice AI ART and its successors.
IMAGES_API_PREFIXES = ("aliceai-image",)
JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
WEBP_MAGIC = (b"RIFF", b"WEBP")


class ImageData(BaseModel):
    """One picture of the answer: `b64_json` (Base64 bytes); `url` is not served."""

    model_config = ConfigDict(extra="ignore")
    b64_json: str | None = None


class ImagesResponse(BaseModel):
    """`{"created": <unix time>, "data": [ImageData], "size", "output_format", "usage"}`."""

    model_config = ConfigDict(extra="ignore")
    created: int | None = None
    data: list[ImageData] = []


def model_name(name: str) -> str:
    """The model segment of a name or URI: `art://f/aliceai-image-art-3.0/latest` ->
    `aliceai-image-art-3.0`."""
    rest = name.strip().split("://", 1)[-1]
    parts = rest.split("/")
    return parts[1] if "://" in name and len(parts) > 1 else parts[0]


def images_base_url(llm_url: str) -> str:
    """The Images API's base for a client of `llm_url`: Yandex's documented host when that is
    Yandex's own, else `{llm_url}/v1` (a proxy, or a fake server serving both)."""
    llm_url = llm_url.rstrip("/")
    return IMAGES_BASE_URL if llm_url == _YANDEX_LLM_URL else f"{llm_url}/v1"


def uses_images_api(name: str) -> bool:
    """Whether the image model `name` (short name or URI) is served by the Images API."""
    return model_name(name).startswith(IMAGES_API_PREFIXES)


def images_uri(name: str, folder_id: str) -> str:
    """A full URI is kept; a short name becomes `art://<folder>/<name>`, without a branch
    (Yandex's own example names no branch)."""
    name = name.strip()
    return name if "://" in name else f"art://{folder_id}/{name}"


def images_body(uri: str, prompt: str, options: ImageOptions | None) -> dict[str, Any]:
    width, height = (options or ImageOptions()).aspect_ratio
    return {"model": uri, "prompt": prompt, "size": f"{width}x{height}"}


def image_of(answer: ImagesResponse) -> bytes:
    """The first picture's bytes, as Yandex sent them (JPEG, PNG or WebP by their magic)."""
    encoded = answer.data[0].b64_json if answer.data else None
    if encoded is not None and len(encoded) > _MAX_B64:
        # Refused before decoding: the bytes would only be refused by sendPhoto.
        raise OperationFailedError(
            f"the Images API's picture is over {MAX_PICTURE_BYTES // 1_000_000} MB, more than "
            "Telegram shows as a photo", operation_id="")
    try:
        image = base64.b64decode(encoded or "", validate=True)
    except (binascii.Error, ValueError):
        image = b""
    if not image_kind(image):
        raise OperationFailedError("the Images API answered without a picture", operation_id="")
    return image


def image_kind(image: bytes) -> str:
    """`jpg`, `png`, `webp` by the file's magic, or "" when it is none of them."""
    if image.startswith(JPEG_MAGIC):
        return "jpg"
    if image.startswith(PNG_MAGIC):
        return "png"
    if image[:4] == WEBP_MAGIC[0] and image[8:12] == WEBP_MAGIC[1]:
        return "webp"
    return ""
