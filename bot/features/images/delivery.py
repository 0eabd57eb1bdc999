"""Delivering /image jobs: status message with elapsed time, `upload_photo`, the photo.

Every job runs as a background task, so pictures never hold up chat answers, and many run at
once. The job itself is durable (service.py): shutdown only stops the pollers, and
`resume()` at the next start picks up every unfinished job, so the user still gets the image.

With several replicas (`coordinate`), a job is worked on only under its owner lease
`image:<id>` (renewed while held): the replica that created it takes it at once, and every
replica sweeps for unfinished jobs older than `grace` whose lease is free (their owner died)
and resumes them, so each is delivered by one replica.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from aiogram.exceptions import TelegramAPIError
from aiogram.methods import DeleteMessage, EditMessageText, SendChatAction, SendMessage, SendPhoto
from aiogram.types import BufferedInputFile, Message, ReplyParameters
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.features.images.args import ImageRequest
from bot.features.images.service import ImageJobRef, ImageService
from bot.plugin.coordination import Coordinator, run_while_held, sweep_in_turns
from bot.plugin.models import (
    FoundationModelsError,
    ImageRefusedError,
    InvalidRequestError,
    image_kind,
)
from bot.plugin.storage import UpdateReceipt, UserRepository, outage_of, utcnow
from bot.plugin.telegram import BotRun, BotService, Outbox, OutboxError, Translator

log = logging.getLogger(__name__)
CAPTION_LIMIT = 1024
GROUP_EDIT_FACTOR = 3


@dataclass(frozen=True, slots=True)
class Place:
    """Where a job's messages go."""

    chat_id: int
    reply_to: int | None = None
    thread_id: int | None = None


class ImageDelivery(BotService):
    def __init__(
        self,
        *,
        service: ImageService,
        outbox: Outbox,
        sessionmaker: async_sessionmaker[AsyncSession],
        status_interval: float = 3.0,
        action_interval: float = 4.5,
        coordinator: Coordinator | None = None,
        owner: str = "",
    ) -> None:
        """With a `coordinator` (several replicas), `owner` names this replica in the image
        jobs' leases."""
        self.service = service
        self.outbox = outbox
        self.sessionmaker = sessionmaker
        self.status_interval = status_interval
        self.action_interval = action_interval
        self._tasks: set[asyncio.Task[None]] = set()
        self.coordinator = coordinator  # None: one process
        self.owner = owner
        self.ttl = 6.0
        self.grace = dt.timedelta(seconds=2)
        self._owned: set[int] = set()  # jobs whose lease this replica holds or is asking for

    async def start(
        self,
        place: Place,
        user_id: int,
        request: ImageRequest,
        t: Translator,
        receipts: Sequence[UpdateReceipt] = (),
    ) -> None:
        """Store the job before returning (the /image update leaves the durable queue with
        it, and a restart resumes it), then draw and deliver it in the background."""
        try:
            job_id = await self.service.create(
                place.chat_id, user_id, request.prompt, request.options, receipts=receipts
            )
        except InvalidRequestError:
            await self._end(place, None, t("image_usage"))
            return
        self._spawn(self._owning(job_id, lambda: self._new_job(place, job_id, t)))

    async def resume(self) -> None:
        """Start delivering every job a previous run left unfinished: they are read now
        (before any new job can be created), resubmitted and delivered in the background.
        With several replicas, only those whose owner lease is free."""
        if self.coordinator is not None:
            await self.sweep(grace=dt.timedelta(0))
            return
        ids = set(await self.service.unfinished_ids())
        if ids:
            self._spawn(self._resume(ids))

    async def sweep(self, *, grace: dt.timedelta | None = None) -> None:
        """Several replicas: try to own every unfinished job older than `grace` that this
        replica does not own; the owner of one left by a dead replica resumes it."""
        before = utcnow() - (self.grace if grace is None else grace)
        for job_id in set(await self.service.unfinished_ids(before)) - self._owned:
            resume = functools.partial(self._resume, {job_id}, owned=True)
            self._spawn(self._owning(job_id, resume))

    async def sweep_forever(
        self, every: float = 3.0, *, replicas: Callable[[], int] = lambda: 1
    ) -> None:
        # The cluster sweeps every 3 s, not every second: an image takes longer than that to
        # make, and a sweep is a database transaction.
        outage = outage_of(self.sessionmaker)
        await sweep_in_turns(
            self.sweep, "unfinished image jobs", every=every, replicas=replicas,
            expected=lambda exc: outage.failed(exc, "sweeping for unfinished image jobs"),
        )

    async def _owning(self, job_id: int, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run `work` for the job while holding its owner lease (one process: at once)."""
        if self.coordinator is None:
            await work()
            return
        self._owned.add(job_id)
        try:
            name = f"image:{job_id}"
            await run_while_held(self.coordinator, name, self.owner, self.ttl, work)
        finally:
            self._owned.discard(job_id)

    async def _resume(self, ids: set[int], *, owned: bool = False) -> None:
        """Deliver the jobs in the background, or (`owned`: one job under its owner lease)
        before returning, so the lease is held until the job has ended."""
        refs = await self.service.unfinished(only=ids)
        if refs:
            log.info("resuming %d image jobs", len(refs))
        for ref in refs:
            async with self.sessionmaker() as session:
                user = await UserRepository(session).get(ref.user_id)
            t = Translator.for_code(user.language if user else None)
            delivery = self._deliver(ref, Place(ref.chat_id), t, ref.status_message_id)
            if owned:
                await delivery
            else:
                self._spawn(delivery)

    async def startup(self, run: BotRun) -> None:
        """Image jobs resume before the replayed /image commands make new ones; with
        replicas, a dead one's jobs are swept for."""
        await self.resume()
        if run.replicas is not None:
            run.spawn(self.sweep_forever(replicas=run.replicas), "image-sweep")

    async def shutdown(self) -> None:
        await self.stop()

    async def stand_down(self) -> None:
        """The jobs stay pending in the database: the new poller resumes them."""
        await self.stop()

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def wait_idle(self) -> None:
        """Until every running job has ended."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _spawn(self, coro: object) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- steps ----------------------------------------------------------------------------------

    async def _new_job(self, place: Place, job_id: int, t: Translator) -> None:
        status_id = await self._send_status(place, t)
        try:
            if status_id is not None:
                await self.service.set_status_message(job_id, status_id)
            ref = await self.service.start(job_id)
        except ImageRefusedError as exc:
            await self._end(place, status_id, t("image_refused", reason=exc.reason))
            return
        except FoundationModelsError as exc:
            log.warning("image submit failed in chat %s: %s", place.chat_id, exc)
            await self._end(place, status_id, t("image_failed"))
            return
        await self._deliver(ref, place, t, status_id)

    async def _deliver(
        self, ref: ImageJobRef, place: Place, t: Translator, status_id: int | None
    ) -> None:
        ticker = asyncio.create_task(self._tick(place, t, status_id))
        try:
            jpeg = await self.service.wait(ref.job_id)
        except ImageRefusedError as exc:
            await self._end(place, status_id, t("image_refused", reason=exc.reason))
            return
        except (FoundationModelsError, LookupError) as exc:
            log.warning("image job %s failed: %s", ref.job_id, exc)
            await self._end(place, status_id, t("image_failed"))
            return
        finally:
            ticker.cancel()
        sent = await self._send_photo(place, jpeg, ref.prompt)
        if sent is None:
            await self.service.cancel(ref.job_id)  # undeliverable; don't resume it forever
            return
        await self.service.mark_delivered(ref.job_id, sent.message_id)
        await self._delete(place.chat_id, status_id)

    async def _send_status(self, place: Place, t: Translator) -> int | None:
        method = SendMessage(
            chat_id=place.chat_id,
            text=t("image_status", seconds=0),
            message_thread_id=place.thread_id,
            reply_parameters=_reply(place.reply_to),
        )
        try:
            message = await self.outbox.call(place.chat_id, method)
        except (TelegramAPIError, OutboxError) as exc:
            log.warning("could not show image status in chat %s: %s", place.chat_id, exc)
            return None
        return message.message_id

    async def _tick(self, place: Place, t: Translator, status_id: int | None) -> None:
        """Elapsed time on the status message and the upload_photo action, until cancelled.
        Both go through the Outbox, so the status edits never crowd out chat answers."""
        # A group's 20 messages a minute are shared with answers: edit it less often there.
        edit_every = self.status_interval * (1 if place.chat_id > 0 else GROUP_EDIT_FACTOR)
        clock = asyncio.get_running_loop().time  # the clock its sleeps run on
        started = clock()
        next_action, next_edit = 0.0, edit_every
        while True:
            elapsed = clock() - started
            try:
                if elapsed >= next_action:
                    next_action = elapsed + self.action_interval
                    action = SendChatAction(
                        chat_id=place.chat_id,
                        action="upload_photo",
                        message_thread_id=place.thread_id,
                    )
                    await self.outbox.call(place.chat_id, action)
                if status_id is not None and elapsed >= next_edit:
                    next_edit = elapsed + edit_every
                    edit = EditMessageText(
                        chat_id=place.chat_id,
                        message_id=status_id,
                        text=t("image_status", seconds=int(elapsed)),
                    )
                    await self.outbox.call(place.chat_id, edit)
            except (TelegramAPIError, OutboxError) as exc:
                log.debug("image status in chat %s not updated: %s", place.chat_id, exc)
            wake = min(next_action, next_edit if status_id is not None else next_action)
            await asyncio.sleep(max(0.01, wake - (clock() - started)))

    async def _send_photo(self, place: Place, jpeg: bytes, prompt: str) -> Message | None:
        method = SendPhoto(
            chat_id=place.chat_id,
            # The bytes Yandex sent, as they are (a JPEG from either model so far).
            photo=BufferedInputFile(jpeg, filename=f"image.{image_kind(jpeg) or 'jpg'}"),
            caption=prompt[:CAPTION_LIMIT],
            message_thread_id=place.thread_id,
            reply_parameters=_reply(place.reply_to),
        )
        try:
            # The Outbox waits out retry_after and retries transient errors.
            return await self.outbox.call(place.chat_id, method)
        except (TelegramAPIError, OutboxError) as exc:
            log.warning("could not deliver an image to chat %s: %s", place.chat_id, exc)
            return None

    async def _end(self, place: Place, status_id: int | None, text: str) -> None:
        """Replace the status message with `text` (or just send it when there is none)."""
        await self._delete(place.chat_id, status_id)
        try:
            await self.outbox.send_text(
                place.chat_id, text, reply_to=place.reply_to, thread_id=place.thread_id
            )
        except (TelegramAPIError, OutboxError) as exc:
            log.warning("could not tell chat %s about its image: %s", place.chat_id, exc)

    async def _delete(self, chat_id: int, message_id: int | None) -> None:
        if message_id is None:
            return
        try:
            await self.outbox.call(chat_id, DeleteMessage(chat_id=chat_id, message_id=message_id))
        except (TelegramAPIError, OutboxError) as exc:
            log.debug("status message %s in chat %s not deleted: %s", message_id, chat_id, exc)


def _reply(message_id: int | None) -> ReplyParameters | None:
    if message_id is None:
        return None
    return ReplyParameters(message_id=message_id, allow_sending_without_reply=True)
