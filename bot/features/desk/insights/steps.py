"""One deferred job's steps, from its stored state: submit, poll, parse the JSON answer, apply
it through its kind's handler, retry with backoff or give up (the scheduling, leases and
sweeps around them: jobs.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.features.desk import metrics
from bot.features.desk.insights.jsonanswer import parse_json
from bot.features.desk.insights.protocol import AsyncModel, Handler, JobResult, NotYet
from bot.features.desk.storage.insight_jobs import InsightJobRepository
from bot.features.desk.storage.insights_models import InsightJob, InsightJobStatus
from bot.plugin.helpers import wall_now
from bot.plugin.models import (
    BadRequestError,
    ChatMessage,
    ChatModel,
    Completion,
    CompletionOptions,
    CompletionResult,
    FoundationModelsError,
    HourlyCap,
    Operation,
    Pacer,
    PollPolicy,
    RateLimitError,
    Role,
    completion_of,
    parse_obj,
)
from bot.plugin.storage import utcnow

log = logging.getLogger(__name__)


class JobSteps:
    """The steps InsightJobs runs on a job it holds the lease of (set up by its __init__)."""

    sessionmaker: async_sessionmaker[AsyncSession]
    model: AsyncModel
    sync_model: ChatModel | AsyncModel
    policy: PollPolicy
    max_attempts: int
    retry_base: float
    _polls: Pacer
    _submits: Pacer
    _hourly: HourlyCap
    _handlers: dict[str, Handler]
    _failed: dict[str, Handler]

    async def _load(self, job_id: int) -> InsightJob | None:
        async with self.sessionmaker() as session:
            return await InsightJobRepository(session).get(job_id)

    async def _work(self, job_id: int) -> None:
        job = await self._load(job_id)
        while job is not None and job.status in (
            InsightJobStatus.PENDING, InsightJobStatus.RUNNING, InsightJobStatus.DONE
        ):
            if job.next_try_at > wall_now():
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
            ), resubmit=True)
            return
        try:
            result = parse_obj(operation.response or {}, CompletionResult)
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
                               completion.usage.completion_tokens)
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
            # A request Yandex refuses as malformed (400) is refused the same way every time.
            if row.attempts >= self.max_attempts or isinstance(exc, BadRequestError):
                row.status = InsightJobStatus.FAILED
                row.finished_at = utcnow()
                outcome = "failed"
            else:
                delay = self.retry_base * 2 ** (row.attempts - 1)
                if isinstance(exc, RateLimitError) and exc.retry_after:
                    delay = max(delay, exc.retry_after)
                row.next_try_at = wall_now() + dt.timedelta(seconds=delay)
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
                row.next_try_at = wall_now() + dt.timedelta(seconds=seconds)
                await session.commit()
