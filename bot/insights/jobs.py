"""Durable deferred model jobs: one job type for all the work nobody waits for.

A job's life (the image jobs' rules, bot/images.py): `pending` (stored and committed before
anything is sent) -> `completionAsync` submitted -> `running` with the operation id (committed
before the first poll) -> `done` with the parsed JSON result and its tokens -> `applied` once
its handler put the result in its place (a card edited, drafts stored). A failed submit or a
failed operation is tried again with backoff up to `max_attempts`, then `failed`.

Whoever works on a job holds its lease (stored in the row, renewed while held): after a restart,
or when a replica died, the sweep finds unfinished jobs whose lease expired and goes on from
the stored state: a running job is polled again, never submitted again. The one window in
which a submit may be repeated is a process dying during the submit request itself (the
operation id was never learnt, so nothing could ever poll it).

Polls go through one pacer per process (`poll_rate` GETs a second; Yandex allows 50 a second
per cloud for operations) with per-job backoff, so a thousand jobs never trip the quota. A
model without an asynchronous mode (the open models: Qwen, gpt-oss, Gemma, Llama) runs the
same jobs synchronously; the log says so once.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.foundation_models import wire
from bot.foundation_models.chunks import completion_of
from bot.foundation_models.errors import FoundationModelsError, RateLimitError
from bot.foundation_models.types import (
    ChatMessage,
    ChatModel,
    Completion,
    CompletionOptions,
    Operation,
    PollPolicy,
    Role,
)
from bot.insights.pacing import HourlyCap, Pacer, parse_json
from bot.metrics import registry as metrics
from bot.storage.models import InsightJob, InsightJobStatus, utcnow
from bot.storage.repositories import InsightJobRepository

log = logging.getLogger(__name__)

# Only YandexGPT and Alice AI have an asynchronous mode (multimodal-and-modes.md §0.4).
NO_ASYNC = ("llama-lite",)


def supports_async(model: str) -> bool:
    """Whether `completionAsync` takes this model (short name or gpt:// URI)."""
    name = model.split("://", 1)[-1]
    if "://" in model:
        name = name.split("/", 1)[-1]
    base = name.split("/", 1)[0].lower()
    return base.startswith(("yandexgpt", "aliceai", "alice-ai")) and base not in NO_ASYNC


class NotYet(Exception):
    """Raised by a result handler when what the result updates is not there yet (a case's
    card not posted): an expected race, so the job is applied again later and the log
    says so in one INFO line, without a traceback."""


class AsyncModel(Protocol):
    """What deferred jobs need from Foundation Models (FoundationModelsClient has it)."""

    async def completion_async(
        self, messages: Sequence[ChatMessage], *, model: str,
        options: CompletionOptions | None = None,
    ) -> Operation: ...  # fmt: skip

    async def get_operation(self, operation_id: str) -> Operation: ...

    async def complete(
        self, messages: Sequence[ChatMessage], *, model: str,
        options: CompletionOptions | None = None,
    ) -> Completion: ...  # fmt: skip


@dataclass(frozen=True, slots=True)
class JobResult:
    job_id: int
    kind: str
    case_id: int | None
    user_id: int | None
    data: dict[str, Any]


Handler = Callable[[JobResult], Awaitable[None]]


class InsightJobs:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        model: AsyncModel,
        *,
        model_name: str,
        owner: str = "local",
        policy: PollPolicy | None = None,
        poll_rate: float = 10.0,
        submit_rate: float = 5.0,
        submits_per_hour: int = 4500,
        hour: float = 3600.0,
        max_attempts: int = 5,
        retry_base: float = 5.0,
        lease: dt.timedelta = dt.timedelta(seconds=30),
        concurrency: int = 50,
        sweep_every: float = 5.0,
        sync_model: ChatModel | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.model = model
        # Synchronous jobs go through the deployment's wire (TEXT_API), where the open models
        # live, with its structured output (response_format, text.format); async ones are
        # native only (completionAsync).
        self.sync_model: ChatModel | AsyncModel = sync_model or model
        self.model_name = model_name
        self.owner = owner
        self.policy = policy or PollPolicy(initial=2.0, multiplier=1.5, max_interval=30.0,
                                           deadline=600.0)  # fmt: skip
        self.mode = "async" if supports_async(model_name) else "sync"
        self.max_attempts = max_attempts
        self.retry_base = retry_base
        self.lease = lease
        self.sweep_every = sweep_every
        self._polls = Pacer(poll_rate)
        self._submits = Pacer(submit_rate)
        # Under Yandex's async quotas (10 submits a second, 5,000 an hour, 50 GETs a second)
        # with room for the other replicas' and the CLI's jobs.
        self._hourly = HourlyCap(submits_per_hour, hour)
        self._slots = asyncio.Semaphore(concurrency)
        self._handlers: dict[str, Handler] = {}
        self._failed: dict[str, Handler] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._closed = False
        self._said_sync = False

    def on_failed(self, kind: str, handler: Handler) -> None:
        """`handler` hears of a job given up (its `data` is empty); best effort."""
        self._failed[kind] = handler

    def on_done(self, kind: str, handler: Handler) -> None:
        """`handler` puts a finished job's result in its place; raising leaves it `done`, to be
        tried again (so it must be idempotent)."""
        self._handlers[kind] = handler

    # -- submitting ------------------------------------------------------------------------------
    async def submit(
        self,
        kind: str,
        messages: Sequence[ChatMessage],
        *,
        schema: Mapping[str, Any] | None = None,
        case_id: int | None = None,
        user_id: int | None = None,
        max_tokens: int = 800,
        start: bool = True,
    ) -> int:
        """Store the job (from here a restart resumes it) and start it in the background."""
        if self.mode == "sync" and not self._said_sync:
            self._said_sync = True
            log.warning("insights: %s has no asynchronous mode (only YandexGPT and Alice AI "
                        "do); deferred jobs run synchronously, at the synchronous price",
                        self.model_name)  # fmt: skip
        request = {
            "messages": [{"role": m.role.value, "text": m.text} for m in messages],
            "schema": dict(schema) if schema is not None else None,
            "max_tokens": max_tokens,
        }
        async with self.sessionmaker() as session:
            job = await InsightJobRepository(session).create(
                kind, request, model=self.model_name, mode=self.mode, case_id=case_id,
                user_id=user_id,
            )  # fmt: skip
            await session.commit()
            job_id = job.id
        metrics.insight_job(kind, "stored")
        if start:
            self._start(job_id)
        return job_id

    def _start(self, job_id: int) -> None:
        if self._closed or job_id in self._tasks:
            return
        task = asyncio.create_task(self._owning(job_id), name=f"insight-{job_id}")
        self._tasks[job_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(job_id, None))

    # -- resuming --------------------------------------------------------------------------------
    async def sweep(self, *, take_over: bool = False) -> int:
        """Start every unfinished job that is due and whose lease is free (after a restart, or
        left by a dead replica); returns how many were started. `take_over` (one process, at
        start): the leases left by the killed process before it are released first, instead
        of waiting for them to expire."""
        if self._closed:
            return 0
        async with self.sessionmaker() as session:
            repo = InsightJobRepository(session)
            if take_over:
                await repo.release_all()
                await session.commit()
            due = await repo.due(utcnow(), limit=500)
        started = 0
        for job_id in due:
            if job_id not in self._tasks:
                self._start(job_id)
                started += 1
        return started

    async def sweep_forever(self, every: float | None = None) -> None:
        every = self.sweep_every if every is None else every
        while True:
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be away; the next sweep tries again
                log.exception("insights: sweeping for unfinished jobs failed")
            await asyncio.sleep(every * random.uniform(0.75, 1.25))

    async def wait_idle(self) -> None:
        """Until every job started here has stopped (tests, `bench`)."""
        while self._tasks:
            await asyncio.wait(list(self._tasks.values()))

    async def wait_for(self, job_ids: Sequence[int]) -> None:
        """Until these jobs have stopped here (finished, failed, or left for a retry)."""
        while True:
            tasks = [self._tasks[i] for i in job_ids if i in self._tasks]
            if not tasks:
                return
            await asyncio.wait(tasks)

    async def aclose(self) -> None:
        """Stop working; running jobs stay running (polled again on the next start)."""
        self._closed = True
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    # -- one job ---------------------------------------------------------------------------------
    async def _owning(self, job_id: int) -> None:
        """Work on the job while holding its lease (renewed in the background)."""
        async with self.sessionmaker() as session:
            repo = InsightJobRepository(session)
            won = await repo.claim(job_id, self.owner, utcnow(), self.lease)
            await session.commit()
        if not won:
            return
        renew = asyncio.create_task(self._renew(job_id))
        try:
            async with self._slots:
                await self._work(job_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("insights: job %s stopped by an error; the sweep takes it again",
                          job_id)  # fmt: skip
        finally:
            renew.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renew
            with contextlib.suppress(Exception):
                await asyncio.shield(self._release(job_id))

    async def _renew(self, job_id: int) -> None:
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            try:
                async with self.sessionmaker() as session:
                    await InsightJobRepository(session).claim(
                        job_id, self.owner, utcnow(), self.lease
                    )
                    await session.commit()
            except Exception as exc:
                log.warning("insights: lease of job %s not renewed: %s", job_id, exc)

    async def _release(self, job_id: int) -> None:
        async with self.sessionmaker() as session:
            await InsightJobRepository(session).release(job_id, self.owner)
            await session.commit()

    async def _load(self, job_id: int) -> InsightJob | None:
        async with self.sessionmaker() as session:
            return await InsightJobRepository(session).get(job_id)

    async def _work(self, job_id: int) -> None:
        job = await self._load(job_id)
        while job is not None and job.status in (
            InsightJobStatus.PENDING, InsightJobStatus.RUNNING, InsightJobStatus.DONE
        ):  # fmt: skip
            if job.next_try_at > utcnow():
                return  # a retry later; the sweep starts it when due
            if job.status is InsightJobStatus.PENDING:
                await self._submit(job)
            elif job.status is InsightJobStatus.RUNNING:
                if not await self._poll(job):
                    return  # still running after the poll deadline: the sweep goes on later
            else:
                await self._apply(job)
            job = await self._load(job_id)

    def _request(self, job: InsightJob) -> tuple[list[ChatMessage], CompletionOptions]:
        messages = [
            ChatMessage(Role(m["role"]), str(m["text"])) for m in job.request.get("messages", [])
        ]
        schema = job.request.get("schema")
        options = CompletionOptions(
            temperature=0.1,
            max_tokens=int(job.request.get("max_tokens") or 800),
            json_schema=schema,
            json_object=schema is None,
        )
        return messages, options

    async def _submit(self, job: InsightJob) -> None:
        messages, options = self._request(job)
        if not messages:
            # Its questions were erased (/forget, retention, a finished report): nothing to ask,
            # and asking would only fail the same way at every retry.
            await self._give_up(job, "nothing to ask: the job's messages were erased")
            return
        if job.mode == "async":
            await self._hourly.wait()
        await self._submits.wait()
        try:
            if job.mode == "sync":
                completion = await self.sync_model.complete(
                    messages, model=job.model, options=options
                )
                await self._finish(job, completion)
                return
            operation = await self.model.completion_async(
                messages, model=job.model, options=options
            )
        except FoundationModelsError as exc:
            await self._retry(job, exc)
            return
        async with self.sessionmaker() as session:
            row = await InsightJobRepository(session).get(job.id)
            if row is not None:
                row.operation_id = operation.id
                row.status = InsightJobStatus.RUNNING
                await session.commit()
        metrics.insight_job(job.kind, "submitted")

    async def _poll(self, job: InsightJob) -> bool:
        """Poll until done (True) or the poll deadline passes (False: polled again later)."""
        assert job.operation_id is not None
        loop = asyncio.get_running_loop()
        started = loop.time()
        interval = self.policy.initial
        while True:
            await self._polls.wait()
            try:
                operation = await self.model.get_operation(job.operation_id)
            except FoundationModelsError as exc:
                if isinstance(exc, RateLimitError) and exc.retry_after:
                    interval = max(interval, exc.retry_after)
                log.warning("insights: polling job %s failed: %s", job.id, exc)
            else:
                if operation.done:
                    await self._finish_operation(job, operation)
                    return True
            if loop.time() - started > self.policy.deadline:
                await self._later(job, self.policy.max_interval)
                return False
            await asyncio.sleep(interval * random.uniform(0.9, 1.1))
            interval = min(self.policy.max_interval, interval * self.policy.multiplier)

    async def _finish_operation(self, job: InsightJob, operation: Operation) -> None:
        if operation.error is not None:
            await self._retry(job, FoundationModelsError(
                operation.error.message or f"operation failed (code {operation.error.code})"
            ), resubmit=True)  # fmt: skip
            return
        try:
            result = wire.parse_obj(operation.response or {}, wire.CompletionResult)
        except FoundationModelsError as exc:
            await self._retry(job, exc, resubmit=True)
            return
        await self._finish(job, completion_of(result))

    async def _finish(self, job: InsightJob, completion: Completion) -> None:
        data = parse_json(completion.text)
        async with self.sessionmaker() as session:
            row = await InsightJobRepository(session).get(job.id)
            if row is None:
                return  # erased meanwhile (/forget, retention)
            row.input_tokens += completion.usage.input_tokens
            row.output_tokens += completion.usage.completion_tokens
            if data is None:
                row.error = f"the model's answer is not a JSON object: {completion.text[:200]!r}"
                await session.commit()
                await self._retry(job, FoundationModelsError(row.error), resubmit=True)
                return
            row.result = data
            row.status = InsightJobStatus.DONE
            row.error = None
            await session.commit()
        metrics.insight_tokens(job.kind, completion.usage.input_tokens,
                               completion.usage.completion_tokens)  # fmt: skip
        metrics.insight_job(job.kind, "done")

    async def _apply(self, job: InsightJob) -> None:
        handler = self._handlers.get(job.kind)
        if handler is not None:
            try:
                await handler(
                    JobResult(job.id, job.kind, job.case_id, job.user_id, dict(job.result or {}))
                )
            except asyncio.CancelledError:
                raise
            except NotYet as exc:
                await self._retry(job, exc, resubmit=False, expected=True)
                return
            except Exception as exc:
                log.exception("insights: applying job %s (%s) failed", job.id, job.kind)
                await self._retry(job, exc, resubmit=False)
                return
        async with self.sessionmaker() as session:
            row = await InsightJobRepository(session).get(job.id)
            if row is not None:
                row.status = InsightJobStatus.APPLIED
                row.finished_at = utcnow()
                await session.commit()
        metrics.insight_job(job.kind, "applied")

    async def _retry(
        self, job: InsightJob, exc: Exception, *, resubmit: bool = False, expected: bool = False
    ) -> None:
        """Try again later with backoff (a failed operation is submitted anew); `failed` after
        `max_attempts`. ``expected``: a race the job waits out (`NotYet`), logged at INFO."""
        async with self.sessionmaker() as session:
            row = await InsightJobRepository(session).get(job.id)
            if row is None:
                return
            row.attempts += 1
            row.error = str(exc)[:2000]
            if resubmit:
                row.status = InsightJobStatus.PENDING
                row.operation_id = None
            if row.attempts >= self.max_attempts:
                row.status = InsightJobStatus.FAILED
                row.finished_at = utcnow()
                outcome = "failed"
            else:
                delay = self.retry_base * 2 ** (row.attempts - 1)
                if isinstance(exc, RateLimitError) and exc.retry_after:
                    delay = max(delay, exc.retry_after)
                row.next_try_at = utcnow() + dt.timedelta(seconds=delay)
                outcome = "retried"
            await session.commit()
        level = logging.INFO if expected and outcome == "retried" else logging.WARNING
        log.log(level, "insights: job %s (%s) %s: %s", job.id, job.kind, outcome, exc)
        metrics.insight_job(job.kind, outcome)
        handler = self._failed.get(job.kind)
        if outcome == "failed" and handler is not None:
            try:
                await handler(JobResult(job.id, job.kind, job.case_id, job.user_id, {}))
            except Exception:  # best effort: the job is failed either way
                log.exception("insights: telling of failed job %s failed", job.id)

    async def _give_up(self, job: InsightJob, reason: str) -> None:
        async with self.sessionmaker() as session:
            row = await InsightJobRepository(session).get(job.id)
            if row is None:
                return
            row.status = InsightJobStatus.FAILED
            row.error = reason
            row.finished_at = utcnow()
            await session.commit()
        log.info("insights: job %s (%s) given up: %s", job.id, job.kind, reason)
        metrics.insight_job(job.kind, "failed")

    async def _later(self, job: InsightJob, seconds: float) -> None:
        async with self.sessionmaker() as session:
            row = await InsightJobRepository(session).get(job.id)
            if row is not None:
                row.next_try_at = utcnow() + dt.timedelta(seconds=seconds)
                await session.commit()
