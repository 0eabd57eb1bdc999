"""Images in a conversation: which ones a prompt shows the vision model, and how.

A question may carry images (a photo, a screenshot, an album). They are stored by their
Telegram file id with the question and cost `image_tokens` each in prompts (Gemma 3: "each
image uses 256 context tokens", https://yandex.cloud/en/docs/ai-studio/concepts/generation/models).
A later question in the same conversation ("and what is the error code?") shows the model the
images of the latest few questions again (fetched again by file id, within `max_images`);
older ones are only named in the history ("[photo]"), not sent.

Images go only through the OpenAI-compatible API, so a turn that shows any image is answered
by the vision model; the others stay with the chat's text model.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

from bot.foundation_models.types import ChatMessage, ChatModel
from bot.storage.repositories import HistoryEntry, StoredImage

logger = logging.getLogger(__name__)

IMAGE_TOKENS = 256
# An earlier image that cannot be fetched again (expired, Telegram away) is named, not sent.
ImageSource = Callable[[StoredImage], Awaitable[bytes]]


@dataclass(frozen=True, slots=True)
class ImageInput:
    """An image of the new question, ready for the model (JPEG) and for storage."""

    file_id: str
    file_unique_id: str
    jpeg: bytes
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class Vision:
    """The vision model and how many earlier images a prompt shows again."""

    model: ChatModel  # OpenAI-compatible: the only API that takes images
    model_name: str
    fetch: ImageSource | None = None
    image_tokens: int = IMAGE_TOKENS
    max_images: int = 3  # images per prompt, newest kept
    recent_questions: int = 3  # earlier images come only from this many latest questions

    def stored(self, images: Sequence[ImageInput]) -> list[StoredImage]:
        return [
            StoredImage(i.file_id, i.file_unique_id, i.width, i.height, self.image_tokens)
            for i in images
        ]


@dataclass(slots=True)
class TurnImages:
    """The images of a turn: its own (bytes in hand) and earlier ones (by file id)."""

    new: tuple[bytes, ...] = ()
    earlier: dict[int, list[StoredImage]] | None = None  # by message id, within the window
    resend: list[StoredImage] | None = None  # the earlier ones to show again, oldest first

    @property
    def uses_vision(self) -> bool:
        return bool(self.new or self.resend)


def pick_resend(
    questions: Sequence[int], earlier: dict[int, list[StoredImage]], max_images: int
) -> list[StoredImage]:
    """The earlier images to show again: those of `questions` (the latest few, oldest first),
    at most `max_images` (the newest), oldest first."""
    picked = [image for message_id in questions for image in earlier.get(message_id, [])]
    return picked[-max_images:] if max_images > 0 else []


def name_images(
    window: Sequence[HistoryEntry], earlier: dict[int, list[StoredImage]]
) -> list[HistoryEntry]:
    """The window with the images of its messages named in their text ("[photo] ...")."""
    if not earlier:
        return list(window)
    out = []
    for entry in window:
        count = len(earlier.get(entry.id, ()))
        if count:
            tag = "[photo]" if count == 1 else f"[{count} photos]"
            entry = replace(entry, text=f"{tag} {entry.text}".rstrip())
        out.append(entry)
    return out


async def fetch_all(vision: Vision, images: Sequence[StoredImage]) -> list[bytes]:
    """The earlier images' bytes, those that could not be fetched left out (and logged)."""
    if vision.fetch is None or not images:
        return []
    fetch = vision.fetch
    results = await asyncio.gather(*(fetch(image) for image in images), return_exceptions=True)
    out: list[bytes] = []
    for image, result in zip(images, results, strict=True):
        if isinstance(result, BaseException):
            if isinstance(result, asyncio.CancelledError):
                raise result
            logger.info("earlier image %s not shown again: %s", image.file_id, result)
            continue
        out.append(result)
    return out


def with_images(
    messages: list[ChatMessage], earlier: Sequence[bytes], new: Sequence[bytes]
) -> list[ChatMessage]:
    """The prompt with the images on its last (the new) message: earlier ones first."""
    last = messages[-1]
    text = last.text
    if earlier:
        what = "the photo" if len(earlier) == 1 else f"the {len(earlier)} photos"
        note = f"[{what} from earlier in this conversation attached again"
        note += ", then this message's]" if new else "]"
        text = f"{note}\n{text}"
    return [*messages[:-1], replace(last, text=text, images=(*earlier, *new))]
