"""Voice notes (and OGG/Opus audio) -> answers: each is a turn in the chat's FIFO like a
text. The job hears the note (SpeechKit; over 30 s as a durable asynchronous job, up to
MAX_VOICE_SECONDS), shows what was heard as a quote, then answers it through the same
streamed delivery as text. A note that cannot be taken (too long, unheard, recognition off or
failing) gets a clear localized reply; the update still leaves the durable queue."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from aiogram import F, Router
from aiogram.types import Message, MessageEntity

from bot.features.voice.usage import count_seconds
from bot.plugin.conversation import Employee, Speaker, TurnResult
from bot.plugin.models import (
    MAX_SECONDS,
    AudioTooLongError,
    FoundationModelsError,
    Snapshot,
    SpeechPermissionError,
)
from bot.plugin.storage import UpdateReceipt, utc_today
from bot.plugin.telegram import (
    AddressedToBot,
    AudioRef,
    Deps,
    DownloadError,
    Hearing,
    LongHearing,
    RenderedText,
    Target,
    Ticket,
    Translator,
    answer_target,
    audio_of,
    say,
    speaker,
    utf16_len,
)

if TYPE_CHECKING:
    from bot.features.voice.replies import VoiceReplies

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class VoiceInput:
    """Voice notes heard (SPEECH_RECOGNITION): up to 30 s at once, longer ones (up to
    `long.max_seconds`) through the asynchronous API."""

    notes: Hearing
    long: LongHearing | None = None


async def handle_voice(
    message: Message,
    ticket: Ticket,
    deps: Deps,
    t: Translator,
    voice_input: VoiceInput | None = None,
    voice_replies: VoiceReplies | None = None,
    receipts: tuple[UpdateReceipt, ...] = (),
    replayed: bool = False,
    is_admin: bool = False,
    employee: Employee | None = None,
) -> None:
    """`voice_replies`: answers spoken too (VOICE_REPLIES): an answer to a note may be."""
    if voice_input is None:
        await say(deps, message, t("text_only"))  # SPEECH_RECOGNITION is off
        return
    ref = audio_of(message)
    if ref is None:
        await say(deps, message, t("media_unsupported"))
        return
    long = voice_input.long
    if long is not None and ref.duration > long.max_seconds:
        await say(deps, message, t("voice_too_long_limit", seconds=ref.duration,
                                   limit=long.max_seconds))
        return
    if ref.too_long and long is None:
        await say(deps, message, t("voice_too_long", seconds=MAX_SECONDS))
        return
    where = answer_target(message, ticket, deps, replayed)
    who = speaker(message, is_admin=is_admin, employee=employee)
    ticket.submit(lambda: _answer_voice(deps, voice_input, voice_replies, ref, where, message,
                                        t, receipts, who))


async def _answer_voice(
    deps: Deps,
    heard: VoiceInput,
    spoken: VoiceReplies | None,
    ref: AudioRef,
    where: Target,
    message: Message,
    t: Translator,
    receipts: tuple[UpdateReceipt, ...],
    who: Speaker,
) -> None:
    if where.asked is not None and spoken is not None:  # answered by voice too
        asked = where.asked.user_id  # noted, so an answer given again is spoken too
        where = replace(where, asked=replace(where.asked, spoken=True))
        await spoken.note_spoken(message.chat.id, message.message_id, asked)
    try:
        if ref.too_long and heard.long is not None:  # over 30 s: asynchronous, durable
            text = await heard.long.transcribe(
                ref, chat_id=message.chat.id, message_id=message.message_id, user_id=who.user_id,
                language_code=who.language, thread_id=where.thread_id, outbox=deps.outbox, t=t,
            )
        else:
            text = await heard.notes.transcribe(ref, who.language)
    except AudioTooLongError:
        await say(deps, message, t("voice_too_long", seconds=MAX_SECONDS))
        return
    except SpeechPermissionError:  # logged once, naming the role, by the client
        await say(deps, message, t("voice_unavailable"))
        return
    except (FoundationModelsError, DownloadError) as exc:
        log.warning("voice message %s not recognised: %s", message.message_id, exc)
        await say(deps, message, t("voice_failed"))
        return
    await _charge_seconds(deps, who.user_id, ref.duration)
    if not text:
        await say(deps, message, t("voice_empty"))
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
            await count_seconds(session, user_id, utc_today(), seconds)
            await session.commit()
    except Exception:
        log.exception("recognised seconds of user %s not counted", user_id)


def quoted(transcript: str) -> RenderedText:
    """The transcript as a blockquote (an entity: no parse mode that could fail)."""
    text = f"🎤 {transcript}"
    return RenderedText(text, [MessageEntity(type="blockquote", offset=0, length=utf16_len(text))])


def build_router() -> Router:
    """Voice notes and audio addressed to the bot (the `voice_input` the handler gets is
    the part's data: None with SPEECH_RECOGNITION off)."""
    router = Router(name=__name__)
    router.message.register(
        handle_voice, F.voice | F.audio, AddressedToBot(), flags={"quota": "text"}
    )
    return router
