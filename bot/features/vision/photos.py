"""Photos, images sent as files and albums -> answers (VISION_MODEL), on the Telegram front.

Each is a turn in the chat's FIFO like a text: the job downloads (bounded: downloads.py),
re-encodes the image and then answers through the same streamed delivery as text, the images
on the question (the vision feature's turn part, turn.py). Anything that cannot be taken
(too big, unreadable; photos off) gets a clear localized reply; the update still leaves the
durable queue."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from aiogram import F, Router
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.vision.usage import photos_of
from bot.plugin.conversation import Employee, ImageInput, Speaker, TurnResult
from bot.plugin.models import Snapshot
from bot.plugin.storage import UpdateReceipt, utc_today
from bot.plugin.telegram import (
    AddressedToBot,
    Album,
    AlbumJoiner,
    Deps,
    DownloadError,
    FileTooBigError,
    FrontParts,
    ImageUnreadableError,
    PhotoPreparer,
    Target,
    TelegramPart,
    Ticket,
    Translator,
    answer_target,
    image_of,
    is_image_document,
    say,
    speaker,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PhotoSupport:
    """Photos prepared for the vision model (at most `max_image_mb` each), albums joined."""

    photos: PhotoPreparer
    max_image_mb: float = 10.0
    albums: AlbumJoiner = field(default_factory=AlbumJoiner)


class PhotoLines:
    """What /stats says of photos: a line when the user's questions carried some today
    (photos counted earlier still show when VISION_MODEL is off now)."""

    def help_line(self, t: Translator) -> str:
        return ""

    async def stats_line(self, session: AsyncSession, user_id: int, t: Translator) -> str:
        photos = await photos_of(session, user_id, utc_today())
        return t("stats_photos", photos=photos) if photos else ""

    async def admin_line(self, session: AsyncSession, t: Translator) -> str:
        return ""


def photos_on_telegram(front: FrontParts, support: PhotoSupport | None) -> TelegramPart:
    """Photos on the Telegram front: answered with `support` (VISION_MODEL); without it, a
    photo is told the bot reads text. /help lists them when they are taken; /stats shows the
    day's."""

    return TelegramPart(late=[build_router()], data={"photo_support": support},
                        takes=("help_takes_photos",) if support is not None else (),
                        lines=PhotoLines())


async def handle_image(
    message: Message,
    prompt: str,
    ticket: Ticket,
    deps: Deps,
    t: Translator,
    photo_support: PhotoSupport | None = None,
    receipts: tuple[UpdateReceipt, ...] = (),
    replayed: bool = False,
    arrived_at: float | None = None,
    is_admin: bool = False,
    employee: Employee | None = None,
) -> None:
    media = photo_support
    if media is None:
        await say(deps, message, t("text_only"))  # VISION_MODEL is empty: today's answer
        return
    image = image_of(message, media.photos.max_bytes)
    chat_id, group_id = message.chat.id, message.media_group_id
    album = media.albums.offer(
        chat_id, group_id, message.message_id, image, prompt, receipts, arrived_at
    )
    if album is None:
        log.info("message %s joins an album", message.message_id)
        return
    where = answer_target(message, ticket, deps, replayed)
    who = speaker(message, is_admin=is_admin, employee=employee)

    async def job() -> None:
        await media.albums.complete(
            chat_id, group_id, album, lambda: deps.queues.on_their_way(chat_id)
        )
        await _answer_images(deps, media, album, where, message, t, who)

    ticket.submit(job)


async def _answer_images(
    deps: Deps, media: PhotoSupport, album: Album, where: Target, message: Message, t: Translator,
    who: Speaker,
) -> None:
    limit = f"{media.max_image_mb:g}"
    if not album.images:
        await say(deps, message, t("media_too_big", limit=limit))
        return
    results = await asyncio.gather(
        *(media.photos.prepare(ref) for ref in album.images), return_exceptions=True
    )
    images: list[ImageInput] = []
    problem: BaseException | None = None
    for result in results:
        if isinstance(result, ImageInput):
            images.append(result)
        elif isinstance(result, asyncio.CancelledError):
            raise result
        else:
            problem = problem or result
    if problem is not None:
        log.info("image of message %s refused: %r", message.message_id, problem)
        if isinstance(problem, FileTooBigError):
            await say(deps, message, t("media_too_big", limit=limit))
        elif isinstance(problem, ImageUnreadableError):
            await say(deps, message, t("image_unreadable"))
        elif isinstance(problem, DownloadError):
            log.warning("download failed in chat %s: %s", message.chat.id, problem)
            await say(deps, message, t("media_download_failed"))
        else:
            raise problem
        return
    if album.too_big:  # some parts of an album were over the limit: say so, answer the rest
        await say(deps, message, t("media_too_big", limit=limit))
    question = album.caption or t("photo_question")

    async def runner(on_snapshot: Callable[[Snapshot], None]) -> TurnResult:
        return await deps.conversation.run_turn(
            where.chat, who, question, on_snapshot=on_snapshot,
            telegram_message_id=album.first_message_id, receipts=tuple(album.receipts),
            images=images,
        )

    await deps.answers.deliver(where, t, runner)


def part_of_open_album(
    message: Message, photo_support: PhotoSupport | None = None
) -> bool | dict[str, str]:
    """A later part of an album the bot is collecting (in groups only the first part's
    caption mentions the bot)."""
    media = photo_support
    if media is None or not media.albums.is_open(message.chat.id, message.media_group_id):
        return False
    return {"prompt": message.caption or ""}


def build_router() -> Router:
    router = Router(name=__name__)
    image_file = F.document.func(is_image_document)
    image = F.photo | image_file
    router.message.register(handle_image, image, AddressedToBot(), flags={"quota": "text"})
    router.message.register(handle_image, image, part_of_open_album, flags={"quota": "text"})
    return router
