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
from dataclasses import dataclass, field, replace

from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.vision.store import MessageImageRepository, StoredImage
from bot.plugin.helpers import loop_time
from bot.plugin.models import ChatModel
from bot.plugin.storage import HistoryEntry, MessageRole

logger = logging.getLogger(__name__)

IMAGE_TOKENS = 256
# How long a conversation seen without images skips the image query.
IMAGELESS_TTL = 60.0
# An earlier image that cannot be fetched again (expired, Telegram away) is named, not sent.
ImageSource = Callable[[StoredImage], Awaitable[bytes]]


@dataclass(frozen=True, slots=True)
class Vision:
    """The vision model and how many earlier images a prompt shows again."""

    model: ChatModel  # OpenAI-compatible: the only API that takes images
    model_name: str
    fetch: ImageSource | None = None
    image_tokens: int = IMAGE_TOKENS
    max_images: int = 3  # images per prompt, newest kept
    recent_questions: int = 3  # earlier images come only from this many latest questions



@dataclass(slots=True)
class TurnImages:
    """The images of a turn: its own (bytes in hand) and earlier ones (by file id)."""

    new: tuple[bytes, ...] = ()
    earlier: dict[int, list[StoredImage]] | None = None  # by message id, within the window
    resend: list[StoredImage] | None = None  # the earlier ones to show again, oldest first

    @property
    def uses_vision(self) -> bool:
        return bool(self.new or self.resend)


@dataclass(slots=True)
class SeenImages:
    """Which images a turn shows, read when the turn is opened; and which conversations were
    lately seen without any, so that their text turns pay no extra query. Only for a short
    time, as another replica may store images in one meanwhile."""

    imageless: dict[int, float] = field(default_factory=dict)  # conversation -> until when

    async def for_turn(
        self,
        session: AsyncSession,
        vision: Vision,
        window: list[HistoryEntry],
        question_id: int,
        conversation_id: int,
        new_images: tuple[bytes, ...],
    ) -> TurnImages:
        """The turn's images: its own, and those stored with the window's latest questions."""
        now = loop_time()  # the loop's clock: a tester's virtual clock ages the cache too
        if not new_images and self.imageless.get(conversation_id, 0.0) > now:
            return TurnImages()  # known to hold no images: a text turn pays no extra query
        asked = [e.id for e in window if e.role is MessageRole.USER and e.id < question_id]
        if not new_images:  # /retry of a question with images: its own are fetched again
            asked.append(question_id)
        earlier = await MessageImageRepository(session).for_messages(asked) if asked else {}
        images = TurnImages(new_images, earlier)
        images.resend = pick_resend(asked[-vision.recent_questions :], earlier, vision.max_images)
        if earlier or new_images:
            self.imageless.pop(conversation_id, None)
        else:
            self.imageless[conversation_id] = now + IMAGELESS_TTL
            if len(self.imageless) > 10_000:  # forget the expired ones now and then
                self.imageless = {k: v for k, v in self.imageless.items() if v > now}
        return images


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

