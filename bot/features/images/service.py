"""Durable image jobs: stored before submitting, operation id stored before polling, resumable.

A job's life: `pending` (stored, committed) -> submitted to YandexART -> `running` with the
operation id (committed before the first poll) -> `delivered` once the Telegram layer has sent
the photo; or `refused` (moderation, with the service's reason), `failed` (with the error
text) or `cancelled`. The image bytes are never stored: YandexART keeps an operation's result
for 3 days (reference §8.4), so a restart simply polls the same operation again.

After a restart `unfinished()` returns every job that may still reach its user. A job left
`pending` without an operation id died while its submit request was in flight; it is submitted
again (the user asked for a picture and should get one, and the window in which the first
request could have been accepted unrecorded is one HTTP round trip). A job that fails again
is returned with its final status, and `wait()` raises its stored error, so the caller can
tell the user either way. `wait()` cancelled (shutdown) leaves the job `running` for the next
start.

Alice AI ART has no operation: the synchronous Images API answers with the picture
(foundation_models/images_api.py). Its job is stored the same way and becomes `running` without
an operation id when started; `wait()` counts the request in the job (committed) before sending
it, and the answer's bytes are the picture. A restart while the request was in flight finds the
job `running` with one request counted and asks once more; one cut short twice ends `failed`,
so a job never asks for more than two pictures.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.features.images import metrics
from bot.features.images.models import ImageJob, ImageJobStatus
from bot.features.images.repository import ImageJobRepository
from bot.features.images.usage import count_image
from bot.plugin.models import (
    FoundationModelsError,
    ImageModel,
    ImageOptions,
    ImageRefusedError,
    InvalidRequestError,
    OperationFailedError,
    PollPolicy,
    uses_images_api,
)
from bot.plugin.storage import (
    UpdateReceipt,
    mark_settled,
    one_statement_sessions,
    settle_in,
    utc_today,
)

MAX_PROMPT_CHARS = 500  # YandexART's and Alice AI ART's limit (docs/images.md)
MAX_SYNC_REQUESTS = 2  # a synchronous request cut short by a restart is sent again once
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageJobRef:
    job_id: int
    chat_id: int
    user_id: int
    prompt: str
    options: ImageOptions
    status: ImageJobStatus
    operation_id: str | None = None
    error: str | None = None
    status_message_id: int | None = None


def validate_prompt(prompt: str) -> str:
    """The prompt stripped; InvalidRequestError when empty or over MAX_PROMPT_CHARS."""
    prompt = prompt.strip()
    if not prompt:
        raise InvalidRequestError("the image prompt is empty: describe the picture")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InvalidRequestError(
            f"the image prompt is {len(prompt)} characters long; "
            f"the image model takes at most {MAX_PROMPT_CHARS}"
        )
    return prompt


class ImageService:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        model: ImageModel,
        image_model: str,
        policy: PollPolicy,
        today: Callable[[], dt.date] = utc_today,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._reads = one_statement_sessions(sessionmaker)
        self._model = model
        self._image_model = image_model
        self._policy = policy
        self._today = today

    async def submit(
        self,
        chat_id: int,
        user_id: int,
        prompt: str,
        options: ImageOptions | None = None,
        *,
        status_message_id: int | None = None,
    ) -> ImageJobRef:
        """Store the job, submit it, store the operation id; then `wait(ref.job_id)`.

        Raises InvalidRequestError (nothing stored), ImageRefusedError (job refused) or
        another FoundationModelsError (job failed)."""
        job_id = await self.create(
            chat_id, user_id, prompt, options, status_message_id=status_message_id
        )
        return await self.start(job_id)

    async def create(
        self,
        chat_id: int,
        user_id: int,
        prompt: str,
        options: ImageOptions | None = None,
        *,
        status_message_id: int | None = None,
        receipts: Sequence[UpdateReceipt] = (),
    ) -> int:
        """Store the job (from here a restart resumes it); `start(job_id)` submits it.
        `receipts`: the queued updates that asked for it leave the queue in the same
        transaction. Raises InvalidRequestError for a bad prompt (nothing stored)."""
        prompt = validate_prompt(prompt)
        options = options or ImageOptions()
        async with self._sessionmaker() as session:
            job = await ImageJobRepository(session).create(
                chat_id,
                user_id,
                prompt,
                _options_to_json(options),
                model=self._image_model,
                status_message_id=status_message_id,
            )
            await settle_in(session, receipts)
            await session.commit()
        mark_settled(receipts)
        return job.id

    async def start(self, job_id: int) -> ImageJobRef:
        """Submit a stored job (see `submit` for what it raises)."""
        async with self._sessionmaker() as session:
            job = await _require(session, job_id)
        return await self._start(job)

    async def wait(self, job_id: int) -> bytes:
        """Poll the job's operation until the JPEG is ready. A refusal or failure is stored
        and raised; a job that already ended so raises its stored error again."""
        async with self._sessionmaker() as session:
            job = await _require(session, job_id)
        if job.status is ImageJobStatus.REFUSED:
            raise ImageRefusedError(job.error or "refused", operation_id=job.operation_id or "")
        if job.status in (ImageJobStatus.FAILED, ImageJobStatus.CANCELLED):
            raise OperationFailedError(
                job.error or job.status.value, operation_id=job.operation_id or ""
            )
        if job.operation_id is None and job.status is ImageJobStatus.RUNNING:
            return await self._generate(job)
        if job.operation_id is None:
            raise LookupError(f"image job {job_id} has not been submitted")
        async with self._ended_on_error(job_id):
            return await self._model.wait_for_image(job.operation_id, policy=self._policy)

    async def mark_delivered(self, job_id: int, telegram_message_id: int) -> None:
        async with self._sessionmaker() as session:
            await ImageJobRepository(session).set_status(
                job_id, ImageJobStatus.DELIVERED, result_message_id=telegram_message_id
            )
            await session.commit()
        metrics.image_job(ImageJobStatus.DELIVERED.value)

    async def set_status_message(self, job_id: int, telegram_message_id: int) -> None:
        """Remember the "drawing…" message, so it can be removed after a restart too."""
        async with self._sessionmaker() as session:
            await ImageJobRepository(session).set_status_message(job_id, telegram_message_id)
            await session.commit()

    async def cancel(self, job_id: int) -> None:
        """Cancel the operation (best effort) and mark the job cancelled."""
        async with self._sessionmaker() as session:
            job = await _require(session, job_id)
        if job.operation_id is not None:
            try:
                await self._model.cancel_operation(job.operation_id)
            except FoundationModelsError as exc:
                # The job is abandoned either way; YandexART may finish it unseen.
                logger.warning("image job %s: cancelling operation failed: %s", job_id, exc)
        await self._end(job_id, ImageJobStatus.CANCELLED, "cancelled")

    async def unfinished_ids(self, created_before: dt.datetime | None = None) -> list[int]:
        """The jobs a restart must resume (read at start-up, before new jobs are created);
        with several replicas, those created before `created_before` (the sweep for jobs a
        dead replica owned; each is then resumed only under its owner lease)."""
        async with self._reads() as session:  # one statement, no transaction (a sweep's)
            return await ImageJobRepository(session).unfinished_ids(created_before)

    async def unfinished(self, only: Collection[int] | None = None) -> list[ImageJobRef]:
        """Jobs to resume after a restart, oldest first (see the module docstring). Call once
        at start-up, before new jobs are submitted (or pass `only`, the `unfinished_ids()`
        read then): a job still being submitted looks the same as one whose submit was
        interrupted, and would be submitted twice."""
        async with self._sessionmaker() as session:
            jobs = await ImageJobRepository(session).unfinished()
        if only is not None:
            jobs = [job for job in jobs if job.id in only]
        refs: list[ImageJobRef] = []
        for job in jobs:
            metrics.image_job("resumed")
            if job.operation_id is not None or job.status is ImageJobStatus.RUNNING:
                refs.append(_ref(job))  # polled again, or (Images API) asked again by wait()
                continue
            try:
                refs.append(await self._start(job))
            except FoundationModelsError as exc:
                logger.warning("image job %s: resubmitting after restart failed: %s", job.id, exc)
                async with self._sessionmaker() as session:
                    refs.append(_ref(await _require(session, job.id)))
        return refs

    async def get(self, job_id: int) -> ImageJobRef:
        async with self._sessionmaker() as session:
            return _ref(await _require(session, job_id))

    # -- steps ---------------------------------------------------------------------------------

    def _model_of(self, job: ImageJob) -> str:
        return job.model or self._image_model

    async def _start(self, job: ImageJob) -> ImageJobRef:
        """Submit a stored job and commit its operation id (and the user's image count); a job
        of the synchronous Images API just becomes `running` (wait() asks for the picture)."""
        if uses_images_api(self._model_of(job)):
            async with self._sessionmaker() as session:
                stored = await ImageJobRepository(session).set_running(job.id)
                await count_image(session, job.user_id, self._today())
                await session.commit()
            metrics.image_job(ImageJobStatus.RUNNING.value)
            return _ref(stored)
        try:
            async with self._ended_on_error(job.id):
                operation = await self._model.start_image_generation(
                    job.prompt, model=self._model_of(job),
                    options=_options_from_json(job.options),
                )
        except asyncio.CancelledError:
            # Whether YandexART accepted it is unknown; without an operation id nobody could
            # ever deliver it, so the job ends here.
            await asyncio.shield(
                self._end(job.id, ImageJobStatus.CANCELLED, "cancelled while submitting")
            )
            raise
        async with self._sessionmaker() as session:
            stored = await ImageJobRepository(session).set_operation(job.id, operation.id)
            await count_image(session, job.user_id, self._today())
            await session.commit()
        metrics.image_job(ImageJobStatus.RUNNING.value)
        return _ref(stored)

    async def _generate(self, job: ImageJob) -> bytes:
        """The synchronous Images API: count the request (committed), then send it."""
        if job.requests >= MAX_SYNC_REQUESTS:
            error = (f"the picture was asked for {job.requests} times and every request was "
                     "cut short by a restart")
            await self._end(job.id, ImageJobStatus.FAILED, error)
            raise OperationFailedError(error, operation_id="")
        async with self._sessionmaker() as session:
            await ImageJobRepository(session).count_request(job.id)
            await session.commit()
        async with self._ended_on_error(job.id):
            return await self._model.generate_image(
                job.prompt, model=self._model_of(job), options=_options_from_json(job.options)
            )

    @contextlib.asynccontextmanager
    async def _ended_on_error(self, job_id: int) -> AsyncIterator[None]:
        """A request Yandex refused or failed ends its job (refused: with the reason)."""
        try:
            yield
        except ImageRefusedError as exc:
            await self._end(job_id, ImageJobStatus.REFUSED, exc.reason)
            raise
        except FoundationModelsError as exc:
            await self._end(job_id, ImageJobStatus.FAILED, str(exc))
            raise

    async def _end(self, job_id: int, status: ImageJobStatus, error: str) -> None:
        async with self._sessionmaker() as session:
            await ImageJobRepository(session).set_status(job_id, status, error=error)
            await session.commit()
        metrics.image_job(status.value)


async def _require(session: AsyncSession, job_id: int) -> ImageJob:
    job = await ImageJobRepository(session).get(job_id)
    if job is None:
        raise LookupError(f"no image job {job_id}")
    return job


def _ref(job: ImageJob) -> ImageJobRef:
    return ImageJobRef(
        job_id=job.id,
        chat_id=job.chat_id,
        user_id=job.user_id,
        prompt=job.prompt,
        options=_options_from_json(job.options),
        status=job.status,
        operation_id=job.operation_id,
        error=job.error,
        status_message_id=job.status_message_id,
    )


def _options_to_json(options: ImageOptions) -> dict[str, Any]:
    return {
        "aspect_ratio": list(options.aspect_ratio),
        "seed": options.seed,
        "mime_type": options.mime_type,
    }


def _options_from_json(data: dict[str, Any]) -> ImageOptions:
    width, height = data.get("aspect_ratio") or (1, 1)
    return ImageOptions(
        aspect_ratio=(int(width), int(height)),
        seed=data.get("seed"),
        mime_type=data.get("mime_type") or "image/jpeg",
    )
