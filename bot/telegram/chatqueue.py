"""Per-chat FIFO of answer jobs, in the order Telegram delivered the updates.

aiogram runs every update as its own task, so two quick messages from one chat race through
the middlewares (database round trips) and could reach the model in either order. A chat's
update takes a *ticket* before its first await (see `OrderingMiddleware`); the chat's worker
runs jobs strictly in ticket order, and a ticket whose update produced no job is released.
The running job is an asyncio task of its own, so `/stop` and the draft stop button cancel it
while the worker and the polling loop carry on.

A handler's own short reply (`say`: a sticker's, an unknown command's, a refusal) is sent by
the handler, not as a job; `in_turn` keeps those in order too: it waits until the updates
taken before it are through their handlers, so two quick messages are not answered the
other way round when the first one's middlewares happened to be slower.

A ticket may carry `on_done`, run by the worker once the ticket's job has ended (or at once,
in order, when the update produced no job): the durable queue settles the update there
(bot/telegram/intake.py). Shutdown skips it for what it cancels or never ran, so those updates
are replayed at the next start.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field

from bot.conversation import RELINQUISHED

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]
Hook = Callable[[], Awaitable[None]]

# The ticket of the update the running handler serves (set by `OrderingMiddleware` for the
# handler's task alone): `say` finds its place in the chat's order through it.
HANDLING: ContextVar[Ticket | None] = ContextVar("HANDLING", default=None)


class Ticket:
    """A place in a chat's queue; resolve it with `submit(job)` or `release()` exactly once."""

    __slots__ = ("_abandoned", "_future", "chat_id", "on_done")

    def __init__(self, chat_id: int) -> None:
        self.chat_id = chat_id
        self.on_done: Hook | None = None
        self._future: asyncio.Future[Job | None] = asyncio.get_running_loop().create_future()
        self._abandoned = False

    def submit(self, job: Job) -> None:
        if self._abandoned:
            # The chat's lease was lost while this update went through the middlewares: the
            # job is not run here (its update stays queued for the chat's next holder).
            log.info("chat %s: a job for an abandoned queue dropped", self.chat_id)
            return
        if self._future.done():
            raise RuntimeError("ticket already used")
        self._future.set_result(job)

    def release(self) -> None:
        if not self._future.done():
            self._future.set_result(None)

    @property
    def used(self) -> bool:
        return self._future.done()


@dataclass(slots=True)
class _Lane:
    tickets: deque[Ticket] = field(default_factory=deque)
    worker: asyncio.Task[None] | None = None
    current: asyncio.Task[None] | None = None
    abandoned: bool = False
    behind: asyncio.Task[None] | None = None  # an abandoned lane's worker, to end first


class ChatQueues:
    def __init__(self, arriving: Callable[[int], bool] | None = None) -> None:
        """`arriving(chat_id)`: a message of the chat is accepted and not yet dispatched (the
        intake's, `Intake.arriving`), for `on_their_way`."""
        self._arriving = arriving
        self._lanes: dict[int, _Lane] = {}
        # Set when shutdown cancels: what it cuts short is not done, so `on_done` is skipped.
        self._cancelling = False

    def take(self, chat_id: int) -> Ticket:
        """Must be called before the update's first await to keep delivery order."""
        lane = self._lanes.get(chat_id)
        if lane is None or lane.abandoned:
            # An abandoned lane lives on while its cancelled job finalises its answer; the
            # chat's lease may be back here by then (several replicas), and what the new
            # holder queues must run, not be dropped with the old lane's tickets. The old
            # worker still ends first: the new one starts behind it (`_work`).
            lane = self._lanes[chat_id] = _Lane(behind=lane.worker if lane else None)
        ticket = Ticket(chat_id)
        lane.tickets.append(ticket)
        if lane.worker is None:
            lane.worker = asyncio.create_task(self._work(chat_id, lane), name=f"chat-{chat_id}")
        return ticket

    def is_busy(self, chat_id: int) -> bool:
        lane = self._lanes.get(chat_id)
        return lane is not None and lane.current is not None

    def queued_behind(self, ticket: Ticket) -> bool:
        """True when other updates of the ticket's chat wait ahead of it (not the running job)."""
        lane = self._lanes.get(ticket.chat_id)
        return lane is not None and bool(lane.tickets) and lane.tickets[0] is not ticket

    def on_their_way(self, chat_id: int) -> bool:
        """An update of the chat is on its way through the bot: accepted and not yet
        dispatched, or in its middlewares and handler (its ticket unresolved). An album's
        next part or the rest of a long paste may be among them (gathering.py)."""
        if self._arriving is not None and self._arriving(chat_id):
            return True
        lane = self._lanes.get(chat_id)
        return lane is not None and any(not ticket.used for ticket in lane.tickets)

    async def in_turn(self, ticket: Ticket) -> None:
        """Until every update of the ticket's chat taken before it is through its handler
        (its ticket submitted or released): a reply the handler sends itself then follows
        theirs. Jobs ahead are not waited for; an answer still streaming does not hold a
        sticker's note back."""
        lane = self._lanes.get(ticket.chat_id)
        if lane is None or ticket.used:
            return
        ahead = []
        for earlier in lane.tickets:
            if earlier is ticket:
                break
            if not earlier.used:
                ahead.append(earlier._future)
        else:
            return  # not in this lane (an abandoned one's): nothing to keep order with
        if ahead:
            await asyncio.wait(ahead)

    def waiting(self) -> int:
        """Updates waiting in every chat's queue (the running jobs not counted)."""
        # A lane's running job has left its deque already (the worker pops it first).
        return sum(len(lane.tickets) for lane in self._lanes.values())

    def pending(self, chat_id: int) -> int:
        """Jobs (and unresolved tickets) waiting behind the running one."""
        lane = self._lanes.get(chat_id)
        return len(lane.tickets) if lane else 0

    def stop(self, chat_id: int) -> bool:
        """Cancel the chat's running job (the queued ones still run). True if one was running."""
        lane = self._lanes.get(chat_id)
        if lane is None or lane.current is None or lane.current.done():
            return False
        lane.current.cancel()
        return True

    async def _work(self, chat_id: int, lane: _Lane) -> None:
        try:
            if lane.behind is not None:
                # The abandoned lane's job is still storing its stopped answer: the chat's next
                # turn must read the history after it.
                await asyncio.wait({lane.behind})
                lane.behind = None
            while lane.tickets:
                ticket = lane.tickets[0]
                job = await ticket._future
                lane.tickets.popleft()
                if lane.abandoned:
                    continue
                if job is not None:
                    lane.current = asyncio.create_task(_run(job), name=f"chat-{chat_id}-job")
                    # wait() never raises the job's CancelledError into the worker.
                    await asyncio.wait({lane.current})
                    lane.current = None
                if ticket.on_done is not None and not (self._cancelling or lane.abandoned):
                    await _run(ticket.on_done)
        finally:
            lane.current = None
            if self._lanes.get(chat_id) is lane:
                del self._lanes[chat_id]

    async def wait_chat(self, chat_id: int) -> None:
        """Until the chat's queue is empty (its jobs and their `on_done` have run)."""
        while (lane := self._lanes.get(chat_id)) is not None and lane.worker is not None:
            await asyncio.wait({lane.worker})

    async def until_abandoned_ended(self, chat_id: int) -> None:
        """Until the chat's abandoned jobs have ended (a relinquished answer that was out
        already is still being noted as delivered): the chat's next holder reads what they
        stored, not what they were about to."""
        lane = self._lanes.get(chat_id)
        if lane is None:
            return
        earlier = lane.worker if lane.abandoned else lane.behind
        if earlier is not None:
            await asyncio.wait({earlier})

    def abandon(self, chat_id: int) -> None:
        """The chat's lease was lost (several replicas): another replica may take the chat
        over, so nothing more runs here. The running job is relinquished (cancelled with
        `RELINQUISHED`: its answer is left unfinished, and the new holder removes what was
        shown and answers the question again; an answer whose turn had ended is delivered and
        noted first, answers.py); queued jobs are dropped without `on_done`, so
        their updates stay in the durable queue for the new holder."""
        lane = self._lanes.get(chat_id)
        if lane is None:
            return
        lane.abandoned = True
        for ticket in lane.tickets:
            ticket._abandoned = True
            ticket.release()
        if lane.current is not None:
            lane.current.cancel(RELINQUISHED)

    async def abandon_all(self, settle: float) -> None:
        """`abandon` every chat (the poller's lease was lost: another replica polls now), then
        wait up to `settle` seconds for the relinquished answers to end."""
        workers = [lane.worker for lane in self._lanes.values() if lane.worker is not None]
        for chat_id in list(self._lanes):
            self.abandon(chat_id)
        if workers:
            _, pending = await asyncio.wait(workers, timeout=settle)
            if pending:
                log.warning("%d chats still finalising a cancelled answer", len(pending))

    async def wait_idle(self) -> None:
        """Until every chat's queue is empty (tests, and shutdown via `drain`)."""
        while self._lanes:
            workers = [lane.worker for lane in self._lanes.values() if lane.worker is not None]
            await asyncio.wait(workers)

    async def drain(self, grace: float, settle: float = 10.0) -> None:
        """Graceful shutdown: let queued and running jobs finish for `grace` seconds, then
        cancel what still runs (jobs finalise a cancelled answer) and wait `settle` more."""
        workers = [lane.worker for lane in self._lanes.values() if lane.worker is not None]
        if not workers:
            return
        _, pending = await asyncio.wait(workers, timeout=grace)
        if not pending:
            return
        log.warning("shutdown: cancelling %d unfinished answers", len(pending))
        self._cancelling = True
        for lane in list(self._lanes.values()):
            for ticket in lane.tickets:
                ticket.release()
            lane.tickets.clear()
            if lane.current is not None:
                lane.current.cancel()
        await asyncio.wait(pending, timeout=settle)


async def _run(job: Job) -> None:
    try:
        await job()
    except asyncio.CancelledError:
        raise
    except Exception:
        # Jobs report their own failures to the user; this is the last line of defence.
        log.exception("answer job failed")
