"""Drafting eval cases in the background, durably (docs/console.md).

A press stores a `ConsoleCaseDraft` row and returns; the drafting runs here, as the desk's
deferred jobs and the image jobs do: whoever works on a draft holds its lease, stored in the
row and taken by one conditional UPDATE (so two replicas never both draft it), renewed while
held. The steps, each committed before the next: `pending` -> `completionAsync` submitted ->
`running` with the operation id (stored before the first poll, so a restart polls that
operation, never submits again) -> `done` with the case (written to EVAL_CASES_FILE, or kept
for the download), or `failed` with its reason. A transient failure (connection, 429, 5xx)
is tried again with backoff, up to `max_attempts`; an operation Yandex failed, a refused
request, or polling past `deadline` fails the draft with the reason shown. At start, and
every `sweep_every` seconds, unfinished drafts whose lease is free are taken up.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy import or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.features.console.casemaking import CaseError, CaseMaker
from bot.features.console.models import ConsoleCaseDraft, DraftStatus
from bot.features.console.transcript import transcript
from bot.plugin.models import (
    APIConnectionError,
    APIStatusError,
    CompletionResult,
    FoundationModelsError,
    completion_of,
    parse_obj,
)
from bot.plugin.offers import CaseFacts
from bot.plugin.storage import utcnow
from bot.plugin.telegram import BotRun, BotService

log = logging.getLogger(__name__)
UNFINISHED = (DraftStatus.PENDING.value, DraftStatus.RUNNING.value)
Audit = Callable[[ConsoleCaseDraft, str], Awaitable[None]]


class RetryError(Exception):
    """A transient failure: tried again after a backoff."""


def transient(exc: FoundationModelsError) -> bool:
    if isinstance(exc, APIConnectionError):
        return True
    return isinstance(exc, APIStatusError) and (exc.status_code == 429
                                                or exc.status_code >= 500)


class Drafting(BotService):
    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], maker: CaseMaker,
        facts: CaseFacts | None, *, audit: Audit | None = None, owner: str = "",
        lease: dt.timedelta = dt.timedelta(seconds=30), max_attempts: int = 5,
        retry_base: float = 2.0, poll_every: float = 1.0, deadline: float = 600.0,
        sweep_every: float = 10.0,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.maker = maker
        self.facts = facts
        self.audit = audit
        self.owner = owner or f"console-{uuid.uuid4().hex[:12]}"
        self.lease = lease
        self.max_attempts = max_attempts
        self.retry_base = retry_base
        self.poll_every = poll_every
        self.deadline = dt.timedelta(seconds=deadline)
        self.sweep_every = sweep_every
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._closed = False

    # -- the press -------------------------------------------------------------------------
    async def request(self, conversation_id: int, user_id: int, identity: str,
                      criteria: str) -> tuple[int, bool]:
        """Store a draft of the conversation and start it; a draft of it still under way is
        returned instead (no second one). (draft id, whether it is new)."""
        async with self.sessionmaker() as session:
            running = await self._unfinished(session, conversation_id)
            if running is not None:
                return running, False
            draft = ConsoleCaseDraft(
                conversation_id=conversation_id, user_id=user_id, identity=identity,
                criteria=criteria, to_file=self.maker.cases_file is not None,
                status=DraftStatus.PENDING.value, attempts=0, next_try_at=utcnow(),
                case_text="", written="", error="")
            session.add(draft)
            try:
                await session.commit()
            except IntegrityError:  # another request (or replica) stored one first
                await session.rollback()
                running = await self._unfinished(session, conversation_id)
                if running is None:
                    raise
                return running, False
            draft_id = draft.id
        self._start(draft_id)
        return draft_id, True

    @staticmethod
    async def _unfinished(session: AsyncSession, conversation_id: int) -> int | None:
        return await session.scalar(select(ConsoleCaseDraft.id).where(
            ConsoleCaseDraft.conversation_id == conversation_id,
            ConsoleCaseDraft.status.in_(UNFINISHED)))

    async def get(self, draft_id: int) -> ConsoleCaseDraft | None:
        async with self.sessionmaker() as session:
            return await session.get(ConsoleCaseDraft, draft_id)

    # -- the service -----------------------------------------------------------------------
    async def startup(self, run: BotRun) -> None:
        await self.sweep()
        run.spawn(self._sweep_forever(), "console eval-case drafts")

    async def shutdown(self) -> None:
        await self.aclose()

    async def stand_down(self) -> None:
        await self.aclose()

    async def wait_idle(self) -> None:
        while self._tasks:
            await asyncio.wait(list(self._tasks.values()))

    async def aclose(self) -> None:
        """Stop drafting here; a running draft stays running (its operation polled by the
        next start, or another replica once the lease expires)."""
        self._closed = True
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    async def sweep(self) -> int:
        """Start every unfinished draft that is due and whose lease is free."""
        if self._closed:
            return 0
        now = utcnow()
        async with self.sessionmaker() as session:
            due = list(await session.scalars(select(ConsoleCaseDraft.id).where(
                ConsoleCaseDraft.status.in_(UNFINISHED), ConsoleCaseDraft.next_try_at <= now,
                or_(ConsoleCaseDraft.lease_until.is_(None),
                    ConsoleCaseDraft.lease_until < now)).order_by(ConsoleCaseDraft.id)))
        for draft_id in due:
            self._start(draft_id)
        return len(due)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_every * random.uniform(0.75, 1.25))
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be away: the next sweep tries again
                log.exception("console: sweeping for unfinished eval-case drafts failed")

    def _start(self, draft_id: int) -> None:
        if self._closed or draft_id in self._tasks:
            return
        task = asyncio.create_task(self._owning(draft_id), name=f"case-draft-{draft_id}")
        self._tasks[draft_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(draft_id, None))

    async def _claim(self, draft_id: int) -> bool:
        """Take or renew the lease: one conditional UPDATE, so one owner wins."""
        now = utcnow()
        async with self.sessionmaker() as session:
            result = await session.execute(
                update(ConsoleCaseDraft).where(
                    ConsoleCaseDraft.id == draft_id, ConsoleCaseDraft.status.in_(UNFINISHED),
                    or_(ConsoleCaseDraft.lease_until.is_(None),
                        ConsoleCaseDraft.lease_until < now,
                        ConsoleCaseDraft.owner == self.owner))
                .values(owner=self.owner, lease_until=now + self.lease)
                .execution_options(synchronize_session=False))
            await session.commit()
        assert isinstance(result, CursorResult)
        return result.rowcount == 1

    async def _owning(self, draft_id: int) -> None:
        if not await self._claim(draft_id):
            return
        renew = asyncio.create_task(self._renew(draft_id))
        try:
            await self._draft(draft_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("console: eval-case draft %s stopped by an error; the sweep takes "
                          "it again", draft_id)
        finally:
            renew.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renew
            with contextlib.suppress(Exception):
                await asyncio.shield(self._set(draft_id, owner=None, lease_until=None))

    async def _renew(self, draft_id: int) -> None:
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            try:
                await self._claim(draft_id)
            except Exception as exc:
                log.warning("console: lease of eval-case draft %s not renewed: %s",
                            draft_id, exc)

    async def _set(self, draft_id: int, **values: object) -> None:
        async with self.sessionmaker() as session:
            await session.execute(update(ConsoleCaseDraft)
                                  .where(ConsoleCaseDraft.id == draft_id).values(**values)
                                  .execution_options(synchronize_session=False))
            await session.commit()

    # -- one draft -------------------------------------------------------------------------
    async def _draft(self, draft_id: int) -> None:
        draft = await self.get(draft_id)
        if draft is None or draft.status not in UNFINISHED:
            return
        async with self.sessionmaker() as session:
            shown = await transcript(session, draft.conversation_id, self.facts)
            await session.commit()
        if shown is None:  # erased meanwhile: its draft went with it
            return
        try:
            # Without `fmbot eval` no case is made: failed before the model is asked.
            self.maker.checker()
            operation_id = draft.operation_id
            if operation_id is None:
                operation = await self.maker.submit(shown)
                operation_id = operation.id
                # From here a restart polls this operation, never submits another.
                await self._set(draft_id, operation_id=operation_id,
                                status=DraftStatus.RUNNING.value)
            text = await self._poll(operation_id, draft.created_at)
            made = self.maker.case_toml(shown, self.maker.parse(text, shown),
                                        draft.criteria.splitlines())
            self.maker.check(made)
            written = await self.maker.write(made) if draft.to_file else None
        except RetryError as exc:
            await self._retry(draft, str(exc))
            return
        except CaseError as exc:
            await self._fail(draft, str(exc))
            return
        except FoundationModelsError as exc:
            if transient(exc):
                await self._retry(draft, str(exc))
            else:
                await self._fail(draft, f"the model could not draft the case ({exc})")
            return
        await self._set(draft_id, status=DraftStatus.DONE.value, case_text=made,
                        written=str(written) if written else "", error="",
                        finished_at=utcnow())
        if self.audit is not None:
            await self.audit(draft, f"from conversation {draft.conversation_id}" + (
                f" into {written.name}" if written else ", downloaded"))

    async def _poll(self, operation_id: str, since: dt.datetime) -> str:
        """The operation's completion text, polled every `poll_every` seconds (RetryError when a
        poll fails for a while; CaseError past `deadline` or when Yandex failed it)."""
        while True:
            try:
                operation = await self.maker.client.get_operation(operation_id)
            except FoundationModelsError as exc:
                if not transient(exc):
                    raise
                raise RetryError(f"polling the operation failed ({exc})") from None
            if operation.done:
                if operation.error is not None:
                    why = operation.error.message or f"code {operation.error.code}"
                    raise CaseError(f"the model's operation {operation_id} failed: {why}")
                return completion_of(parse_obj(operation.response or {},
                                               CompletionResult)).text
            if utcnow() - since > self.deadline:
                raise CaseError(f"the model's operation {operation_id} was not done after "
                                f"{int(self.deadline.total_seconds())} s")
            await asyncio.sleep(self.poll_every)

    async def _retry(self, draft: ConsoleCaseDraft, why: str) -> None:
        attempts = draft.attempts + 1
        if attempts >= self.max_attempts:
            await self._fail(draft, f"gave up after {attempts} attempts: {why}")
            return
        delay = self.retry_base * 2 ** (attempts - 1) * random.uniform(0.8, 1.2)
        log.info("console: eval-case draft %s tried again in %.1f s: %s", draft.id, delay, why)
        # The sweep takes it up once it is due (on whichever replica's sweep comes first).
        await self._set(draft.id, attempts=attempts, error=why,
                        next_try_at=utcnow() + dt.timedelta(seconds=delay))

    async def _fail(self, draft: ConsoleCaseDraft, why: str) -> None:
        log.warning("console: eval-case draft %s failed: %s", draft.id, why)
        await self._set(draft.id, status=DraftStatus.FAILED.value, error=why,
                        finished_at=utcnow())
        if self.audit is not None:
            await self.audit(draft, f"from conversation {draft.conversation_id} failed: {why}")
