"""Voice notes over 30 s (up to MAX_VOICE_SECONDS): SpeechKit's asynchronous recognition as a
durable job, with a "Listening…" status while it runs.

The job is stored (keyed by the chat and the note's message id) before the audio is
submitted, and the operation's id right after: the note's update stays in the durable queue
until its question is stored, so a restart replays it, finds the job and polls the same
operation — the audio is never submitted twice, and a job already done is not recognised
again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiogram.exceptions import TelegramAPIError
from aiogram.methods import DeleteMessage, SendMessage
from aiogram.types import ReplyParameters
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.features.voice import metrics
from bot.features.voice.models import (
    SpeechJobStatus,
)
from bot.features.voice.speech_jobs import SpeechJobRepository
from bot.plugin.models import AsyncSpeechRecognizer, RecognitionPending, SpeechError, stt_language
from bot.plugin.telegram import AudioRef, Outbox, OutboxError, TelegramFiles, Translator

log = logging.getLogger(__name__)

MAX_LONG_BYTES = 20 * 1024 * 1024  # what a bot may download from Telegram


class LongNotes:
    def __init__(
        self,
        *,
        files: TelegramFiles,
        recognizer: AsyncSpeechRecognizer,
        sessionmaker: async_sessionmaker[AsyncSession],
        max_seconds: int,
        poll_interval: float,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.files = files
        self.recognizer = recognizer
        self.sessionmaker = sessionmaker
        self.max_seconds = max_seconds
        self.poll_interval = poll_interval
        self._sleep = sleep

    def deadline_polls(self, seconds: int) -> int:
        """Polls before giving up: ten times the audio's length, at least ten minutes."""
        return max(1, int(max(600.0, 10.0 * seconds) / self.poll_interval))

    async def transcribe(
        self, ref: AudioRef, *, chat_id: int, message_id: int, user_id: int,
        language_code: str | None, thread_id: int | None, outbox: Outbox, t: Translator,
    ) -> str:
        """The recognised text of a long note. Raises SpeechError (stored as failed), the
        download errors and the client's errors."""
        language = stt_language(language_code)
        async with self.sessionmaker() as session:
            job = await SpeechJobRepository(session).get_or_create(
                chat_id=chat_id, message_id=message_id, user_id=user_id, file_id=ref.file_id,
                seconds=ref.duration, language=language,
            )
            await session.commit()
            job_id, status, text = job.id, job.status, job.text
            operation_id, old_status = job.operation_id, job.status_message_id
        if status is SpeechJobStatus.DONE:
            return text or ""  # recognised before a restart: never again
        if old_status is not None:  # a restart left the status of an earlier attempt
            await _delete(outbox, chat_id, old_status)
        if operation_id is None:
            metrics.speech_job("stored")
        else:
            metrics.speech_job("resumed")
        shown = await _status(outbox, chat_id, thread_id, message_id,
                              t("voice_listening", seconds=ref.duration))
        await self._set(job_id, status_message_id=shown)
        try:
            if operation_id is None:
                async with self.files.download(
                    ref.file_id, max_bytes=MAX_LONG_BYTES, known_size=ref.file_size
                ) as got:
                    audio = got.read_bytes()
                operation_id = await self.recognizer.submit(audio, language=language)
                await self._set(job_id, operation_id=operation_id,
                                status=SpeechJobStatus.SUBMITTED)
                metrics.speech_job("submitted")
                log.info("voice note %s in chat %s submitted for recognition (%d s): %s",
                         message_id, chat_id, ref.duration, operation_id)
            text = await self._wait(operation_id, ref.duration)
        except SpeechError as exc:
            await self._set(job_id, status=SpeechJobStatus.FAILED, error=str(exc)[:500])
            metrics.speech_job("failed")
            raise
        finally:
            if shown is not None:
                await _delete(outbox, chat_id, shown)
        await self._set(job_id, status=SpeechJobStatus.DONE, text=text, status_message_id=None)
        metrics.speech_job("done")
        return text

    async def _wait(self, operation_id: str, seconds: int) -> str:
        for _ in range(self.deadline_polls(seconds)):
            try:
                return await self.recognizer.result(operation_id)
            except RecognitionPending:
                await self._sleep(self.poll_interval)
        raise SpeechError(f"recognition {operation_id} took too long")

    async def _set(self, job_id: int, **values: object) -> None:
        async with self.sessionmaker() as session:
            await SpeechJobRepository(session).set(job_id, **values)
            await session.commit()


async def _status(
    outbox: Outbox, chat_id: int, thread_id: int | None, reply_to: int, text: str
) -> int | None:
    method = SendMessage(chat_id=chat_id, text=text, message_thread_id=thread_id,
                         reply_parameters=ReplyParameters(message_id=reply_to,
                                                          allow_sending_without_reply=True))
    try:
        return (await outbox.call(chat_id, method)).message_id
    except (TelegramAPIError, OutboxError) as exc:
        log.info("listening status not shown in chat %s: %s", chat_id, exc)
        return None


async def _delete(outbox: Outbox, chat_id: int, message_id: int) -> None:
    try:
        await outbox.call(chat_id, DeleteMessage(chat_id=chat_id, message_id=message_id))
    except (TelegramAPIError, OutboxError) as exc:
        log.debug("listening status %s in chat %s not deleted: %s", message_id, chat_id, exc)
