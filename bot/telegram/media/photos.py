"""Photos and images users send, made ready for the vision model.

A photo arrives as several sizes (``Message.photo``, smallest first): the largest whose size
fits MAX_IMAGE_MB is taken. An image sent "as a file" is a ``Document`` with an ``image/*``
MIME type. Either is downloaded (bounded, to disk: downloads.py), decoded and re-encoded as a
JPEG of at most 1,600 px on its long side: the model scales to 896 px anyway
(https://yandex.cloud/en/docs/ai-studio/concepts/generation/models: Gemma "scales the longer
side of the image to 896 pixels"), so more only costs upload time.
Re-encoded images are kept in a small LRU by file id, so a follow-up question showing the
image again rarely downloads it again.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aiogram.types import Document, Message, PhotoSize
from PIL import Image, UnidentifiedImageError

from bot.conversation.types import ImageInput, TelegramFile
from bot.telegram.downloads import TelegramFiles

log = logging.getLogger(__name__)

MAX_SIDE = 1600
# Gemma 3 scales the long side to 896 px: JPEG decoding may reduce (by 1/2, 1/4, 1/8) as long
# as the result keeps at least this much (https://yandex.cloud/en/docs/ai-studio/concepts/
# generation/models: "scales the longer side of the image to 896 pixels").
MODEL_SIDE = 896
MAX_PIXELS = 50_000_000  # a decompression bomb is refused, not decoded
JPEG_QUALITY = 85
CACHE_BYTES = 32 * 1024 * 1024


class ImageUnreadableError(Exception):
    """The file is not an image we can decode (corrupt, truncated, or not an image)."""


@dataclass(frozen=True, slots=True)
class ImageRef:
    """One image of a message: which Telegram file, and the size the message announced."""

    file_id: str
    file_unique_id: str
    file_size: int | None


def pick_photo(sizes: Sequence[PhotoSize], max_bytes: int) -> PhotoSize | None:
    """The largest size that fits ``max_bytes`` (None when even the smallest does not)."""
    fitting = [s for s in sizes if s.file_size is None or s.file_size <= max_bytes]
    return max(fitting, key=lambda s: s.width * s.height, default=None)


def is_image_document(document: Document | None) -> bool:
    return document is not None and (document.mime_type or "").startswith("image/")


def image_of(message: Message, max_bytes: int) -> ImageRef | None:
    """The image ``message`` carries, or None when it is over ``max_bytes`` in every size."""
    if message.photo:
        size = pick_photo(message.photo, max_bytes)
        if size is None:
            return None
        return ImageRef(size.file_id, size.file_unique_id, size.file_size)
    document = message.document
    assert document is not None
    return ImageRef(document.file_id, document.file_unique_id, document.file_size)


def reencode(source: Path | bytes, max_side: int = MAX_SIDE) -> tuple[bytes, int, int]:
    """A JPEG of the image, at most ``max_side`` px on its long side; (bytes, width, height).

    JPEG sources are decoded at a reduced scale (draft mode: libjpeg's DCT scaling) when that
    still leaves at least MODEL_SIDE px, what the model looks at: a 3000 x 2250 photo decodes
    at 1500 x 1125 in about a third of the time of a full decode and resize."""
    try:
        with Image.open(source if isinstance(source, Path) else io.BytesIO(source)) as image:
            # Checked on the header, before a decompression bomb is decoded.
            if image.width * image.height > MAX_PIXELS:
                raise ImageUnreadableError(f"{image.width}x{image.height} is too many pixels")
            # Pillow keeps each side at least the size asked: ask it of the long side only.
            floor = min(MODEL_SIDE, max_side)
            image.draft("RGB", (floor, 1) if image.width >= image.height else (1, floor))
            image.load()
            picture = image if image.mode == "RGB" else _flatten(image)
            picture.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
            out = io.BytesIO()
            picture.save(out, "JPEG", quality=JPEG_QUALITY)
            return out.getvalue(), picture.width, picture.height
    except ImageUnreadableError:
        raise
    except (
        UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError
    ) as exc:
        # Pillow reports truncated or corrupt data as OSError/SyntaxError/ValueError.
        raise ImageUnreadableError(f"{type(exc).__name__}: {exc}") from None


def _flatten(image: Image.Image) -> Image.Image:
    """RGB for JPEG: transparency over white (a screenshot's alpha would turn black)."""
    if image.mode in ("RGBA", "LA", "P"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


class PhotoPreparer:
    """Downloads and re-encodes images; fetches stored ones again for follow-up questions."""

    def __init__(
        self, files: TelegramFiles, *, max_bytes: int, cache_bytes: int = CACHE_BYTES
    ) -> None:
        self.files = files
        self.max_bytes = max_bytes
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._cache_bytes = cache_bytes
        self._cached = 0

    async def prepare(self, ref: ImageRef) -> ImageInput:
        """Raises FileTooBigError and the other DownloadErrors, ImageUnreadableError."""
        async with self.files.download(
            ref.file_id, max_bytes=self.max_bytes, known_size=ref.file_size
        ) as got:
            jpeg, width, height = await asyncio.to_thread(reencode, got.path)
        self._remember(ref.file_id, jpeg)
        return ImageInput(ref.file_id, ref.file_unique_id, jpeg, width, height)

    async def fetch(self, image: TelegramFile) -> bytes:
        """An image stored with an earlier question, for the vision model (conversation
        core's ImageSource): from the cache, else downloaded again by its file id."""
        cached = self._cache.get(image.file_id)
        if cached is not None:
            self._cache.move_to_end(image.file_id)
            return cached
        ref = ImageRef(image.file_id, image.file_unique_id, None)
        return (await self.prepare(ref)).jpeg

    def _remember(self, file_id: str, jpeg: bytes) -> None:
        if file_id in self._cache:
            return
        self._cache[file_id] = jpeg
        self._cached += len(jpeg)
        while self._cached > self._cache_bytes and self._cache:
            _, old = self._cache.popitem(last=False)
            self._cached -= len(old)
