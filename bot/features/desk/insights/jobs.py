"""Durable deferred model jobs: one job type for all the work nobody waits for.

A job's life (the image jobs' rules, features/images): `pending` (stored and committed before
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

This module stores, leases, sweeps and starts jobs; one job's steps are in steps.py, the
model protocol and result types in protocol.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.features.desk import metrics
from bot.features.desk.insights.protocol import (
    AsyncModel,
    Handler,
    JobResult,
    NotYet,
    supports_async,
)
from bot.features.desk.insights.steps import JobSteps
from bot.features.desk.storage.insight_jobs import InsightJobRepository
from bot.plugin.helpers import wall_now
from bot.plugin.models import ChatMessage, ChatModel, HourlyCap, Pacer, PollPolicy

log = logging.getLogger(__name__)

__all__ = ["AsyncModel", "InsightJobs", "JobResult", "NotYet", "supports_async"]


class InsightJobs(JobSteps):
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
                                           deadline=600.0)
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
                        self.model_name)
        request = {
            "messages": [{"role": m.role.value, "text": m.text} for m in messages],
            "schema": dict(schema) if schema is not None else None,
            "max_tokens": max_tokens,
        }
        async with self.sessionmaker() as session:
            job = await InsightJobRepository(session).create(
                kind, request, model=self.model_name, mode=self.mode, case_id=case_id,
                user_id=user_id,
            )
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
            due = await repo.due(wall_now(), limit=500)
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

    async def _owning(self, job_id: int) -> None:
        """Work on the job while holding its lease (renewed in the background)."""
        async with self.sessionmaker() as session:
            repo = InsightJobRepository(session)
            won = await repo.claim(job_id, self.owner, wall_now(), self.lease)
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
                          job_id)
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
                        job_id, self.owner, wall_now(), self.lease
                    )
                    await session.commit()
            except Exception as exc:
                log.warning("insights: lease of job %s not renewed: %s", job_id, exc)

    async def _release(self, job_id: int) -> None:
        async with self.sessionmaker() as session:
            await InsightJobRepository(session).release(job_id, self.owner)
            await session.commit()
