"""Photos, images sent as files, albums and voice notes -> answers.

Each is a turn in the chat's FIFO like a text: the job downloads (bounded: downloads.py),
prepares (re-encodes the image, or recognises the voice) and then answers through the same
streamed delivery as text. Anything that cannot be taken (too big, too long, unreadable, a
recognition error) gets a clear localized reply; the update still leaves the durable queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace

from aiogram import F, Router
from aiogram.types import Message, MessageEntity

from bot.conversation import TurnResult
from bot.conversation.types import ImageInput
from bot.foundation_models.errors import FoundationModelsError
from bot.foundation_models.speech import MAX_SECONDS, AudioTooLongError, SpeechPermissionError
from bot.foundation_models.types import Snapshot
from bot.storage.models import utc_today
from bot.storage.repositories import MediaUsageRepository, UpdateReceipt
from bot.telegram.answer_parts import Target
from bot.telegram.chatqueue import Ticket
from bot.telegram.deps import Deps, speaker, target, thread_of
from bot.telegram.downloads import DownloadError, FileTooBigError
from bot.telegram.handlers.chat import AddressedToBot
from bot.telegram.media import MediaSupport
from bot.telegram.media.albums import Album
from bot.telegram.media.audio import AudioRef, audio_of
from bot.telegram.media.photos import ImageUnreadableError, image_of, is_image_document
from bot.telegram.render.text import RenderedText, utf16_len
from bot.telegram.texts import Translator

log = logging.getLogger(__name__)


async def _say(deps: Deps, message: Message, text: str) -> None:
    private = message.chat.type == "private"
    await deps.notify(
        message.chat.id,
        text,
        reply_to=None if private else message.message_id,
        thread_id=thread_of(message),
    )


def _where(message: Message, ticket: Ticket, deps: Deps, replayed: bool) -> Target:
    where = target(message)
    if where.reply_to is None and (replayed or deps.answers.answered_later(ticket)):
        where = replace(where, reply_to=message.message_id)  # answered later: quote it
    return where


# -- photos, images as files, albums -------------------------------------------------------------
async def handle_image(
    message: Message,
    prompt: str,
    ticket: Ticket,
    deps: Deps,
    t: Translator,
    receipts: tuple[UpdateReceipt, ...] = (),
    replayed: bool = False,
) -> None:
    media = deps.media
    if media is None or media.photos is None:
        await _say(deps, message, t("text_only"))  # VISION_MODEL is empty: today's answer
        return
    image = image_of(message, media.photos.max_bytes)
    album = media.albums.offer(
        message.chat.id, message.media_group_id, message.message_id, image, prompt, receipts
    )
    if album is None:
        log.info("message %s joins an album", message.message_id)
        return
    where = _where(message, ticket, deps, replayed)

    async def job() -> None:
        await media.albums.complete(message.chat.id, message.media_group_id, album)
        await _answer_images(deps, media, album, where, message, t)

    ticket.submit(job)


async def _answer_images(
    deps: Deps, media: MediaSupport, album: Album, where: Target, message: Message, t: Translator
) -> None:
    assert media.photos is not None
    limit = f"{media.max_image_mb:g}"
    if not album.images:
        await _say(deps, message, t("media_too_big", limit=limit))
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
            await _say(deps, message, t("media_too_big", limit=limit))
        elif isinstance(problem, ImageUnreadableError):
            await _say(deps, message, t("image_unreadable"))
        elif isinstance(problem, DownloadError):
            log.warning("download failed in chat %s: %s", message.chat.id, problem)
            await _say(deps, message, t("media_download_failed"))
        else:
            raise problem
        return
    if album.too_big:  # some parts of an album were over the limit: say so, answer the rest
        await _say(deps, message, t("media_too_big", limit=limit))
    question = album.caption or t("photo_question")
    who = speaker(message)

    async def runner(on_snapshot: Callable[[Snapshot], None]) -> TurnResult:
        return await deps.conversation.run_turn(
            where.chat, who, question, on_snapshot=on_snapshot,
            telegram_message_id=album.first_message_id, receipts=tuple(album.receipts),
            images=images,
        )

    await deps.answers.deliver(where, t, runner)


# -- voice notes ---------------------------------------------------------------------------------
async def handle_voice(
    message: Message,
    ticket: Ticket,
    deps: Deps,
    t: Translator,
    receipts: tuple[UpdateReceipt, ...] = (),
    replayed: bool = False,
) -> None:
    media = deps.media
    if media is None or media.voice is None:
        await _say(deps, message, t("text_only"))  # SPEECH_RECOGNITION is off
        return
    ref = audio_of(message)
    if ref is None:
        await _say(deps, message, t("media_unsupported"))
        return
    long = media.long_voice
    if long is not None and ref.duration > long.max_seconds:
        await _say(deps, message, t("voice_too_long_limit", seconds=ref.duration,
                                    limit=long.max_seconds))
        return
    if ref.too_long and long is None:
        await _say(deps, message, t("voice_too_long", seconds=MAX_SECONDS))
        return
    where = _where(message, ticket, deps, replayed)
    ticket.submit(lambda: _answer_voice(deps, media, ref, where, message, t, receipts))


async def _answer_voice(
    deps: Deps,
    media: MediaSupport,
    ref: AudioRef,
    where: Target,
    message: Message,
    t: Translator,
    receipts: tuple[UpdateReceipt, ...],
) -> None:
    assert media.voice is not None
    who = speaker(message)
    if where.asked is not None and deps.voice is not None:  # answered by voice too
        asked = where.asked.user_id  # noted, so an answer given again is spoken too
        where = replace(where, asked=replace(where.asked, spoken=True))
        await deps.voice.note_spoken(message.chat.id, message.message_id, asked)
    try:
        if ref.too_long and media.long_voice is not None:  # over 30 s: asynchronous, durable
            text = await media.long_voice.transcribe(
                ref, chat_id=message.chat.id, message_id=message.message_id, user_id=who.user_id,
                language_code=who.language, thread_id=where.thread_id, outbox=deps.outbox, t=t,
            )
        else:
            text = await media.voice.transcribe(ref, who.language)
    except AudioTooLongError:
        await _say(deps, message, t("voice_too_long", seconds=MAX_SECONDS))
        return
    except SpeechPermissionError:  # logged once, naming the role, by the client
        await _say(deps, message, t("voice_unavailable"))
        return
    except (FoundationModelsError, DownloadError) as exc:
        log.warning("voice message %s not recognised: %s", message.message_id, exc)
        await _say(deps, message, t("voice_failed"))
        return
    await _charge_seconds(deps, who.user_id, ref.duration)
    if not text:
        await _say(deps, message, t("voice_empty"))
        return
    # What was heard, as a quote before the answer, so a misheard word is visible.
    await deps.outbox.send_text(
        message.chat.id, quoted(text), reply_to=where.reply_to, thread_id=where.thread_id
    )

    async def runner(on_snapshot: Callable[[Snapshot], None]) -> TurnResult:
        return await deps.conversation.run_turn(
            where.chat, who, text, on_snapshot=on_snapshot,
            telegram_message_id=message.message_id, receipts=receipts,
        )

    await deps.answers.deliver(where, t, runner)


async def _charge_seconds(deps: Deps, user_id: int, seconds: int) -> None:
    """Recognised seconds in the daily usage (/stats); bookkeeping: a failure is logged."""
    try:
        async with deps.sessionmaker() as session:
            await MediaUsageRepository(session).add(user_id, utc_today(), speech_seconds=seconds)
            await session.commit()
    except Exception:
        log.exception("recognised seconds of user %s not counted", user_id)


def quoted(transcript: str) -> RenderedText:
    """The transcript as a blockquote (an entity: no parse mode that could fail)."""
    text = f"🎤 {transcript}"
    return RenderedText(text, [MessageEntity(type="blockquote", offset=0, length=utf16_len(text))])


def part_of_open_album(message: Message, deps: Deps) -> bool | dict[str, str]:
    """A later part of an album the bot is collecting (in groups only the first part's
    caption mentions the bot)."""
    media = deps.media
    if media is None or not media.albums.is_open(message.chat.id, message.media_group_id):
        return False
    return {"prompt": message.caption or ""}


def build_router() -> Router:
    router = Router(name=__name__)
    image_file = F.document.func(is_image_document)
    image = F.photo | image_file
    router.message.register(handle_image, image, AddressedToBot(), flags={"quota": "text"})
    router.message.register(handle_image, image, part_of_open_album, flags={"quota": "text"})
    router.message.register(
        handle_voice, F.voice | F.audio, AddressedToBot(), flags={"quota": "text"}
    )
    return router
