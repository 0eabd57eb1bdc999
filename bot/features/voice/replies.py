"""Answers spoken: after the text answer is delivered, SpeechKit speaks it and the voice goes
as a reply to the question (sendVoice), made once and stored with the answer.

The order of a reply: a pending row is stored with the answer (so a restart finishes it),
the user's daily character budget is checked, the Markdown becomes plain words (speakable.py)
cut into parts SpeechKit takes in one request, the parts are synthesised (a "recording voice"
action shows meanwhile), joined into one OggOpus stream (oggjoin.py) or, past the size of one
voice message, into several sent in order, and each voice message sent is noted at once, so a
restart never sends one twice. Any failure (a missing role, the quota, an error) leaves the
text answer as it is: one log line naming the role or limit, and at most one short notice per
user per day.

With several replicas (a `coordinator`), a reply is spoken only under its lease
`voice:<id>`: the replica that stored it takes the lease at once, and every replica sweeps
for pending replies older than `grace` whose lease is free (their replica died) and finishes
them; the row is read again under the lease, so one finished meanwhile is never spoken twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiogram.exceptions import TelegramAPIError
from aiogram.methods import SendChatAction, SendMessage, SendVoice
from aiogram.types import BufferedInputFile, ReplyParameters
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.features.voice import metrics
from bot.features.voice.leases import ReplyLeases
from bot.features.voice.models import (
    VoiceReply,
    VoiceReplyStatus,
)
from bot.features.voice.oggjoin import OggError, voice_messages
from bot.features.voice.oggjoin import duration as ogg_duration
from bot.features.voice.policy import VoiceConfig
from bot.features.voice.repository import VoiceRepository
from bot.features.voice.speakable import parts, speakable
from bot.features.voice.spoken import as_asked, note_spoken
from bot.plugin.conversation import TurnResult
from bot.plugin.coordination import Coordinator
from bot.plugin.models import (
    MAX_BODY,
    MAX_CHARS,
    TTS_ROLE,
    FoundationModelsError,
    SpeechSynthesizer,
    SynthesisPermissionError,
    SynthesisQuotaError,
    form_size,
    tts_language,
)
from bot.plugin.storage import Message, MessageStatus, one_statement_sessions, utc_today
from bot.plugin.telegram import Asked, BotRun, BotService, Outbox, OutboxError, Target, Translator

log = logging.getLogger(__name__)

ACTION_EVERY = 4.0  # seconds between "recording voice" actions (Telegram shows one for 5 s)
SPOKEN = (MessageStatus.COMPLETE, MessageStatus.TRUNCATED)


@dataclass(frozen=True, slots=True)
class _Job:
    reply_id: int
    chat_id: int
    user_id: int
    reply_to: int | None
    thread_id: int | None
    language: str
    sent: int  # voice messages already out (a resumed reply)
    unsure: bool = False  # a restart cut a sendVoice short: that message may be out already


class VoiceReplies(BotService):
    def __init__(
        self,
        *,
        synthesizer: SpeechSynthesizer,
        sessionmaker: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        config: VoiceConfig,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        coordinator: Coordinator | None = None,
        owner: str = "",
    ) -> None:
        """With a `coordinator` (several replicas), `owner` names this replica in the
        replies' leases."""
        self.synthesizer = synthesizer
        self.sessionmaker = sessionmaker
        self.reads = one_statement_sessions(sessionmaker)
        self.outbox = outbox
        self.config = config
        self._sleep = sleep
        self.coordinator = coordinator  # None: one process
        # The sweep, the leases and the background tasks (`leases.aclose()` at shutdown).
        self.leases = ReplyLeases(sessionmaker, self._resume_one, coordinator=coordinator,
                                  owner=owner, sleep=sleep)

    def help_line(self, t: Translator) -> str:
        """/help's line on spoken answers and /voice."""
        return t("help_voice")

    async def stats_line(self, session: AsyncSession, user_id: int, t: Translator) -> str:
        """/stats's line: voice replies and characters spoken today, of the budget."""
        spoken = await VoiceRepository(session).day(user_id, utc_today())
        return t("stats_voice", replies=spoken.replies, chars=spoken.chars,
                 limit=self.config.chars_per_day)

    async def admin_line(self, session: AsyncSession, t: Translator) -> str:
        """/stats's line for admins: none (`fmbot report` has the voice replies' figures)."""
        return ""

    async def note_spoken(self, chat_id: int, message_id: int, user_id: int) -> None:
        """Before the question is answered: the voice note `message_id` asked it."""
        await note_spoken(self.sessionmaker, chat_id, message_id, user_id)

    async def choice(self, user_id: int) -> bool | None:
        """The user's /voice on|off (None: never chosen)."""
        async with self.sessionmaker() as session:
            return await VoiceRepository(session).preference(user_id)

    async def choose(self, user_id: int, enabled: bool) -> None:
        async with self.sessionmaker() as session:
            await VoiceRepository(session).set_preference(user_id, enabled)
            await session.commit()

    background = True  # the next question need not wait for the voice reply

    async def delivered(
        self, target: Target, result: TurnResult, ids: list[int], t: Translator
    ) -> None:
        """The Answerer's hook: speak a delivered answer when wanted."""
        if not ids:
            return
        await self.after_answer(
            target.asked, target.chat.chat_id, target.private, result, t, target.thread_id
        )

    async def after_answer(
        self, ask: Asked | None, chat_id: int, private: bool, result: TurnResult,
        t: Translator, thread_id: int | None = None,
    ) -> None:
        """Speak a delivered answer when the policy and the user want it."""
        if ask is None or result.error is not None or result.status not in SPOKEN:
            return
        if not result.text.strip() or result.status is MessageStatus.WAITING:
            return
        policy = self.config.policy
        if not policy.may_speak(private=private):
            return  # whatever was asked and chosen
        try:
            # What decides, in one read outside a transaction (every answer asks it; most
            # are not spoken): whether the question was spoken (/retry, a restart), the
            # user's /voice.
            async with self.reads() as session:
                question_id = 0 if ask.spoken else result.user_message_id
                spoken_id, choice = await VoiceRepository(session).voice_facts(
                    question_id, ask.user_id
                )
            ask = as_asked(ask, spoken_id)
            if not policy.wanted(ask, private=private, choice=choice):
                return
            # One transaction: the pending row, today's usage.
            async with self.sessionmaker() as session:
                repo = VoiceRepository(session)
                language = tts_language(ask.language)
                row = await repo.create_reply(
                    answer_id=result.message_id, chat_id=chat_id, user_id=ask.user_id,
                    reply_to=ask.question_id, thread_id=thread_id, language=language,
                )
                if row is None:  # spoken already (a replayed update): never twice
                    return
                used = (await repo.day(ask.user_id, utc_today())).chars
                await session.commit()
                job = _Job(row.id, row.chat_id, ask.user_id, ask.question_id, thread_id,
                           language, 0)
        except Exception:  # bookkeeping of an optional extra: the text answer stands
            log.exception("voice reply for answer %s not started", result.message_id)
            return
        text = result.text
        await self.leases.owning(job.reply_id, lambda: self._speak(job, text, t, used))

    async def ready(self, run: BotRun) -> None:
        """Voice replies a restart cut short are finished; with replicas, a dead one's too
        (swept for)."""
        if run.replicas is None:
            run.spawn(self.resume(), "voice-resume")
            return
        await self.resume()
        run.spawn(self.leases.sweep_forever(replicas=run.replicas), "voice-sweep")

    async def resume(self) -> int:
        """Finish the voice replies a restart interrupted; the number resumed (started, with
        several replicas: only those whose lease is free, in the background)."""
        if self.coordinator is not None:
            return await self.leases.sweep(grace=dt.timedelta(0))
        async with self.sessionmaker() as session:
            rows = await VoiceRepository(session).pending()
            ids = [row.id for row in rows]
        for reply_id in ids:
            await self._resume_one(reply_id)
        return len(ids)


    async def _resume_one(self, reply_id: int) -> None:
        """Finish one pending reply, read afresh (under its lease with several replicas:
        one another replica finished meanwhile is left alone)."""
        async with self.sessionmaker() as session:
            row = await session.get(VoiceReply, reply_id)
            if row is None or row.status not in (VoiceReplyStatus.PENDING,
                                                 VoiceReplyStatus.SENDING):
                return
            answer = await session.get(Message, row.answer_id)
            text = answer.text if answer is not None else ""
            job = _Job(row.id, row.chat_id, row.user_id, row.reply_to, row.thread_id,
                       row.language, len(row.file_ids),
                       unsure=row.status == VoiceReplyStatus.SENDING)
            used = (await VoiceRepository(session).day(job.user_id, utc_today())).chars
        metrics.voice_reply("resumed")
        log.info("resuming the voice reply %s in chat %s", job.reply_id, job.chat_id)
        if job.unsure:  # at least once: a voice message twice beats one never sent
            metrics.voice_reply("resent")
            log.warning("voice reply %s: voice message %d was being sent when the process "
                        "stopped; sending it again (it may arrive twice)", job.reply_id,
                        job.sent + 1)
        await self._speak(job, text, Translator.for_code(job.language), used)

    # --- making and sending -----------------------------------------------------------------
    async def _speak(self, job: _Job, markdown: str, t: Translator, used: int) -> None:
        text = speakable(markdown, t("voice_code"))
        chars = len(text)
        if job.sent == 0 and used + chars > self.config.chars_per_day:
            log.info("voice reply %s skipped: user %s is over TTS_CHARS_PER_USER_DAY (%d + %d "
                     "> %d)", job.reply_id, job.user_id, used, chars,
                     self.config.chars_per_day)
            await self._end(job, VoiceReplyStatus.SKIPPED, 0, "over the daily budget")
            metrics.voice_reply("over_budget")
            await self._notice(job, t("voice_reply_budget", chars=self.config.chars_per_day))
            return
        ticker = asyncio.create_task(self._record_voice(job))
        try:
            audio = await self._synthesize(text, job.language)
        except (FoundationModelsError, OggError) as exc:
            await self._failed(job, exc, t)
            return
        finally:
            ticker.cancel()
        last = len(audio) - 1
        for index, voice in enumerate(audio):
            if index < job.sent:
                continue  # out before a restart
            if not await self._note_sending(job):
                return
            message = await self._send(job, voice)
            if message is None:
                await self._end(job, VoiceReplyStatus.FAILED, chars, "not delivered")
                return
            if index == last:  # noted with the reply's end: one transaction
                await self._end(job, VoiceReplyStatus.SENT, chars, None, replies=1, sent=message)
            else:
                async with self.sessionmaker() as session:
                    await VoiceRepository(session).note_sent(job.reply_id, *message)
                    await session.commit()
        metrics.voice_reply("sent", chars)

    async def _note_sending(self, job: _Job) -> bool:
        """Committed before each sendVoice, so a restart knows whether one was under way."""
        try:
            async with self.sessionmaker() as session:
                await VoiceRepository(session).note_sending(job.reply_id)
                await session.commit()
        except Exception:  # not sent unrecorded: a restart (or the sweep) sends it then
            log.exception("voice reply %s: sending not recorded", job.reply_id)
            return False
        return True

    async def _synthesize(self, text: str, language: str) -> list[bytes]:
        """The voice messages of ``text``: parts synthesised (a few at once) and joined."""
        pieces = parts(text, MAX_CHARS, lambda s: form_size(s) <= MAX_BODY - 256)
        gate = asyncio.Semaphore(self.config.concurrency)
        voice = self.config.voice_for(language)

        async def one(piece: str) -> bytes:
            async with gate:
                return await self.synthesizer.synthesize(
                    piece, language=language, voice=voice, speed=self.config.speed
                )

        audio = await asyncio.gather(*(one(piece) for piece in pieces))
        return voice_messages(audio, self.config.max_bytes)

    async def _record_voice(self, job: _Job) -> None:
        action = SendChatAction(chat_id=job.chat_id, action="record_voice",
                                message_thread_id=job.thread_id)
        while True:
            try:
                await self.outbox.call(job.chat_id, action)
            except (TelegramAPIError, OutboxError) as exc:
                log.debug("record_voice in chat %s not shown: %s", job.chat_id, exc)
            await self._sleep(ACTION_EVERY)

    async def _send(self, job: _Job, voice: bytes) -> tuple[str, int] | None:
        method = SendVoice(
            chat_id=job.chat_id,
            voice=BufferedInputFile(voice, filename="answer.ogg"),
            duration=_seconds(voice),
            message_thread_id=job.thread_id,
            reply_parameters=_reply(job.reply_to),
        )
        try:
            sent = await self.outbox.call(job.chat_id, method)
        except (TelegramAPIError, OutboxError) as exc:
            log.warning("voice reply %s not delivered to chat %s: %s", job.reply_id,
                        job.chat_id, exc)
            return None
        file_id = sent.voice.file_id if sent.voice is not None else ""
        return file_id, sent.message_id

    async def _failed(self, job: _Job, exc: Exception, t: Translator) -> None:
        if isinstance(exc, SynthesisPermissionError):
            reason = f"the service account needs the role {TTS_ROLE}"  # logged by the client too
        elif isinstance(exc, SynthesisQuotaError):
            reason = "SpeechKit's quota (40 requests a second) was exceeded"
        else:
            reason = str(exc) or type(exc).__name__
        log.warning("voice reply %s in chat %s failed, the text answer stands: %s",
                    job.reply_id, job.chat_id, reason)
        await self._end(job, VoiceReplyStatus.FAILED, 0, reason[:500], failures=1)
        metrics.voice_reply("failed")
        await self._notice(job, t("voice_reply_failed"))

    async def _notice(self, job: _Job, text: str) -> None:
        """Tell the user, at most once per day (whatever went wrong)."""
        try:
            async with self.sessionmaker() as session:
                claimed = await VoiceRepository(session).claim_notice(job.user_id, utc_today())
                await session.commit()
        except Exception:
            log.exception("voice notice for user %s not recorded", job.user_id)
            return
        if not claimed:
            return
        method = SendMessage(chat_id=job.chat_id, text=text, message_thread_id=job.thread_id,
                             reply_parameters=_reply(job.reply_to))
        try:
            await self.outbox.call(job.chat_id, method)
        except (TelegramAPIError, OutboxError) as exc:
            log.info("voice notice not delivered to chat %s: %s", job.chat_id, exc)

    async def _end(
        self, job: _Job, status: VoiceReplyStatus, chars: int, error: str | None,
        *, replies: int = 0, failures: int = 0, sent: tuple[str, int] | None = None,
    ) -> None:
        try:
            async with self.sessionmaker() as session:
                repo = VoiceRepository(session)
                if sent is not None:
                    await repo.note_sent(job.reply_id, *sent)
                await repo.finish(job.reply_id, status, chars=chars, error=error)
                if chars or replies or failures:
                    await repo.add_usage(job.user_id, utc_today(), chars=chars, replies=replies,
                                         failures=failures)
                await session.commit()
        except Exception:
            log.exception("voice reply %s not recorded as %s", job.reply_id, status.value)


def _reply(message_id: int | None) -> ReplyParameters | None:
    if message_id is None:
        return None
    return ReplyParameters(message_id=message_id, allow_sending_without_reply=True)


def _seconds(voice: bytes) -> int | None:
    """The voice message's length in whole seconds, as sendVoice's `duration` takes it:
    without it some clients show 0:00 until the message is played."""
    try:
        return max(1, math.ceil(ogg_duration(voice)))
    except OggError:
        return None
