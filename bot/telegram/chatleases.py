"""Turns of one chat one at a time and in order across replicas (REDIS_URL), and recovery of
what a dead replica left undone.

Whichever replica receives an update stores it in the durable queue (intake.py), as always.
Then, instead of dispatching it, it *offers* the chat: the holder of the chat's lease
`chat:<id>` (Coordinator; one LeaseGroup renews all a replica holds) runs that chat's queue
from the database in update_id order, whichever replica received each update. A replica that
cannot get the lease leaves the update queued for the holder, who reads the chat's queue again:

- while holding, whenever an update of the chat arrives here, or is announced by another
  replica's *wake* (chatsignals.py: the replica whose offer found the lease held publishes
  it, every replica listens). The wake is what brings a `/stop` received elsewhere to the
  streaming answer at once: commands are fed as they are read and act at once (only turns
  wait in the chat's queue);
- right after releasing the lease, once the chat's in-process queue (chatqueue.py) has run
  dry. An update stored by another replica whose offer found the lease held was committed
  before that failed offer, so before this release: the read after the release sees it, and
  takes the lease again. Nothing is stranded while the holder lives, even when a wake is lost
  (pub/sub delivers at most once). One read a hold: none before the release as well.

The release is not a call of its own: it goes with the LeaseGroup's next renewal of this
replica's other leases (at most `ttl / 3` later). A wake in between (the chat's next message)
keeps the lease instead, and the chat runs again without asking for a grant.

The draft's stop button is not queued: the replica that receives it stops the draft if it
streams it, and otherwise publishes a *stop* for (chat, draft) that the streaming one obeys
(handlers/chat.py, chatsignals.py).

When a holder dies (SIGKILL) its lease expires after `ttl`. The replicas take turns at
sweeping (each every `sweep_every` seconds times the live replicas, jittered) for chats with
queued updates or a `streaming` (or undelivered) answer older than `grace`, and offer them (a
chat whose lease was held at the last try, only every `ttl / 2` or at the next sweep); the
replica that gets the lease first answers the cut-short question again after deleting the
partial messages a group saw (backlog.py, the same path a single process takes at start), then
the queued messages, each once.

The fencing check is the answer's row: it is stored only while still `streaming`
(MessageRepository.finish_answer), and a new holder marks a dead holder's answer failed before
answering again, so a replica that lost its lease cannot overwrite the new holder's turn. A
holder whose LeaseGroup reports the lease lost abandons the chat at once (its running answer
is relinquished: the messages it showed are deleted, a frame still on its way once Telegram
answers it, and nothing else is sent; its row stays `streaming`, so the next holder answers it
again; queued updates stay in the durable queue for the next holder). An answer whose turn had
ended (stored) is the exception: its final is delivered and noted first, since Telegram may
already show it (answers.py). A renewal is up to
`ttl / 3` old, and Redis may have come back empty since (another replica then granted the
lease): a holder woken with work confirms its lease with the store before reading the queue
(`LeaseGroup.confirm`, one call), and leaves the chat when it is gone, so no question is
answered twice and no answer another replica is streaming is marked failed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from aiogram.types import Update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import loop_time
from bot.coordination import CoordinationUnavailableError, Coordinator, LeaseGroup
from bot.coordination.leases import KeptLease
from bot.coordination.periodic import sweep_in_turns
from bot.coordination.stopping import stop_tasks
from bot.storage.models import utcnow
from bot.storage.outage import outage_of
from bot.storage.pooling import one_statement_sessions
from bot.storage.repositories import UpdateRepository
from bot.telegram import maintenance
from bot.telegram.backlog import Backlog
from bot.telegram.chatqueue import ChatQueues
from bot.telegram.chatsignals import ChatSignals, ReplicaRequests

log = logging.getLogger(__name__)


class ChatLeases:
    def __init__(
        self,
        *,
        coordinator: Coordinator,
        owner: str,
        backlog: Backlog,
        sessionmaker: async_sessionmaker[AsyncSession],
        ttl: float = 6.0,
        sweep_every: float = 1.0,
        grace: float = 2.0,
        requests: ReplicaRequests | None = None,
        replicas: Callable[[], int] = lambda: 1,
    ) -> None:
        """`owner` names this replica in the leases; `grace`: how old queued updates and
        streaming answers must be before the sweep offers their chat (younger ones are being
        handled by whoever received them); `requests`: the handlers' stop buttons and pressed
        tool turns, carried out here; `replicas`: the live replicas (the census), which
        share the sweeping: each sweeps every `sweep_every * replicas()` seconds."""
        self.coordinator = coordinator
        self.owner = owner
        self.backlog = backlog
        self.sessionmaker = sessionmaker
        # The sweep and the read after a release are one statement each, outside a
        # transaction: a backstop run every second across the cluster and a check after every
        # hold (the sweeps' transactions were most of an idle replica's CPU, py-spy).
        self.reads = one_statement_sessions(sessionmaker)
        self.ttl = ttl
        self.sweep_every = sweep_every
        self.replicas = replicas
        self.grace = dt.timedelta(seconds=grace)
        # An update accepted longer ago than this waited behind a dead replica: it is answered
        # as a replay (quoted; not counted again by the rate limit).
        self.late = dt.timedelta(seconds=ttl)
        self._held: dict[int, asyncio.Event] = {}  # chat -> woken when an update arrives
        # Chats whose lease another replica held at the last try -> when the sweep may offer
        # them again. A live holder's long answer looks like a dead one's until its lease is
        # tried; trying every ttl/2 instead of every sweep halves those Redis calls, for at
        # most ttl/2 more before a dead replica's chat is taken over.
        self._busy_until: dict[int, float] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        # Every chat lease held here is renewed by one call every ttl/3 (not one per chat).
        self.renewals = LeaseGroup(coordinator, ttl)
        self.signals = ChatSignals(
            coordinator,
            on_wake=self._woken,
            on_stop=backlog.answers.stop_draft,
            on_gap=self._wake_all,
        )
        self._listening = False
        self._closed = False
        self.outage = outage_of(sessionmaker)
        if requests is not None:
            requests.carried_out_by(stop_draft=self.signals.stop_draft, offer=self.offer)

    def start(self) -> None:
        """Listen to the other replicas' wakes and stops (until `aclose`)."""
        if not self._listening:
            self._listening = True
            self._spawn(self.signals.listen(), "chat-signals")

    @property
    def queues(self) -> ChatQueues:
        return self.backlog.queues

    def working_on(self, chat_id: int) -> bool:
        """Whether this replica has the chat in hand: holding its lease, or about to read its
        queue once more after releasing it (an update stored meanwhile is still its to run)."""
        return chat_id in self._held

    def route(self, update: Update) -> bool:
        """For the webhook handler, after the intake stored `update` (a message, not
        registered for a dispatch here: `Intake.accept(dispatch_here=False)`): True when it is
        taken care of here (its chat's lease holder runs it from the queue)."""
        if update.message is None:
            return False
        self.offer(update.message.chat.id, wake_holder=True)
        return True

    def offer(self, chat_id: int, *, wake_holder: bool = False) -> None:
        """Something of the chat is queued: run it here if the chat's lease can be had; if it
        is held elsewhere and `wake_holder` (a new update, not a sweep), wake the holder."""
        if self._woken(chat_id) or self._closed:
            return  # closed: it stays queued for another replica or the next start
        # Registered before the task starts, so a second offer only wakes it.
        self._held[chat_id] = asyncio.Event()
        self._spawn(self._hold(chat_id, wake_holder), f"chat-lease-{chat_id}")

    def _woken(self, chat_id: int) -> bool:
        """Wake the chat's holding task here, if there is one (for an offer or a signal)."""
        wake = self._held.get(chat_id)
        if wake is None:
            return False
        wake.set()
        return True

    def _wake_all(self) -> int:
        """Wake every chat held here: a wake for any of them may have been missed."""
        for wake in self._held.values():
            wake.set()
        return len(self._held)

    async def sweep(self, *, grace: dt.timedelta | None = None, within: float = 0.0) -> int:
        """Offer every chat with queued updates or a streaming answer older than `grace`
        that this replica is not working on; returns how many were offered."""
        before = utcnow() - (self.grace if grace is None else grace)
        async with self.reads() as session:
            chats = set(
                await maintenance.chats_left_undone(session, self.backlog.intake.bot_id, before)
            )
        now = loop_time()  # the sweep's own interval runs on the loop's clock
        self._busy_until = {c: t for c, t in self._busy_until.items() if t > now}
        candidates = sorted(chats - self._held.keys() - self._busy_until.keys())
        held = await self._held_elsewhere(candidates, within)
        offered = 0
        for chat_id in candidates:
            if chat_id in held:
                self._busy_until[chat_id] = now + self._recheck_after
                continue
            self.offer(chat_id)
            offered += 1
        return offered

    @property
    def _recheck_after(self) -> float:
        """How long a chat found held is left out of this replica's sweeps: `ttl / 2`, but
        never past its next sweep (sweeping less often already spaces the tries)."""
        return min(self.ttl / 2, 0.7 * self.sweep_period)

    async def _held_elsewhere(self, chats: list[int], within: float = 0.0) -> set[int]:
        """The chats whose lease a live replica holds, asked in one call (a queue waiting
        behind the generation cap is dozens of chats, most of them held)."""
        if not chats:
            return set()
        try:
            names = await self.coordinator.held_leases(
                [f"chat:{c}" for c in chats], within=within
            )
        except CoordinationUnavailableError:
            return set()  # the offers find out the same, and log it
        return {int(name.split(":", 1)[1]) for name in names}

    @property
    def sweep_period(self) -> float:
        """Seconds between this replica's sweeps: the cluster sweeps every `sweep_every` (a
        sweep is two queries and a Redis call: three replicas sweeping every second each
        read the same chats three times as often, to no use)."""
        return self.sweep_every * max(1, self.replicas())

    async def sweep_forever(self) -> None:
        # A backstop (a wake was lost): its Redis read may ride with another call.
        await sweep_in_turns(
            lambda: self.sweep(within=min(0.5, self.sweep_period / 4)), "chats left undone",
            every=self.sweep_every, replicas=self.replicas,
            expected=lambda exc: self.outage.failed(exc, "sweeping for chats left undone"),
        )

    async def aclose(self) -> None:
        self._closed = True  # a sweep still running offers nothing more
        # Again and again if need be: a cancellation can be lost in a Redis call (stopping.py).
        await stop_tasks(*self._tasks)
        await self.renewals.aclose()

    # -- holding a chat ------------------------------------------------------------------------

    async def _hold(self, chat_id: int, wake_holder: bool) -> None:
        wake = self._held[chat_id]
        fed: set[int] = set()  # updates this replica dispatched (never twice)
        kept: KeptLease | None = None
        try:
            while True:
                wake.clear()
                if kept is None:
                    try:
                        lease = await self.coordinator.acquire_lease(
                            f"chat:{chat_id}", self.owner, self.ttl
                        )
                    except CoordinationUnavailableError as exc:
                        # Stays queued: the sweep offers the chat again once Redis answers.
                        log.warning("chat %s left queued: %s", chat_id, exc)
                        return
                    log.debug("chat %s: lease %s", chat_id, lease)
                    if lease is None:
                        self._busy_until[chat_id] = loop_time() + self._recheck_after
                        if wake_holder:  # to read it now: a /stop must not wait for the answer
                            await self.signals.wake(chat_id)
                        return  # the holder reads the queue after releasing (module docstring)
                    wake_holder = False  # after our own turn, a new holder reads everything
                    kept = self.renewals.keep(lease)
                if not await self._run_held(chat_id, kept, wake, fed):
                    kept = None  # lost: the group forgot it
                    return
                # Idle: the lease goes back with the group's next renewal (one call for all
                # of this replica's chats, at most ttl/3 from now), unless the chat wakes
                # first (its next message, here or announced by another replica): then it
                # is kept, and no grant is asked for again.
                released = kept.release_soon()
                woken = asyncio.create_task(wake.wait())
                try:
                    either: set[asyncio.Future[Any]] = {released, woken}
                    await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    woken.cancel()
                if wake.is_set() and self.renewals.take_back(kept):
                    # The last renewal may be ttl/3 old: Redis may have come back empty since
                    # and another replica be running the chat (one call, only with work).
                    if not await self.renewals.confirm(kept):
                        log.error("chat %s: lease lost; leaving the chat to another replica",
                                  chat_id)
                        kept = None
                        return
                    continue
                await released
                kept = None
                # Read after the release, which it must: an update stored meanwhile by a
                # replica whose offer found the lease held (module docstring).
                if not wake.is_set() and not await self._queued(chat_id, fed):
                    return
        except Exception as exc:
            if not self.outage.failed(exc, f"reading chat {chat_id}'s queue"):
                raise
            # Not held any more: the sweep offers the chat again once the database is back.
            log.info("chat %s left queued: database unreachable", chat_id)
        finally:
            del self._held[chat_id]
            if kept is not None:  # cancelled (shutting down) while holding: release now
                await kept.stop()
                try:
                    await self.coordinator.release_lease(kept.lease)
                except CoordinationUnavailableError as exc:
                    log.warning("chat %s: lease not released (%s); it expires by itself",
                                chat_id, exc)

    async def _run_held(
        self, chat_id: int, kept: KeptLease, wake: asyncio.Event, fed: set[int]
    ) -> bool:
        """Run the chat's queue while holding `kept`'s lease; False when it was lost."""
        # This replica's last hold of the chat may still be noting an answer it delivered.
        await self.queues.until_abandoned_ended(chat_id)
        # Held: the chat's queue waits here for the database if it is away (outage.py).
        found = await self.outage.ride(
            f"resuming chat {chat_id}",
            lambda: self.backlog.resume(chat_id, skip=fed, late=self.late),
        )
        feeds = list(found.feeds)
        fed.update(found.update_ids)
        log.debug("chat %s: held; fed %s", chat_id, found.update_ids)
        while True:
            idle = asyncio.create_task(self._idle(chat_id, feeds))
            woken = asyncio.create_task(wake.wait())
            lost = asyncio.create_task(kept.lost.wait())
            await asyncio.wait({idle, woken, lost}, return_when=asyncio.FIRST_COMPLETED)
            for task in (idle, woken, lost):
                task.cancel()
            if kept.lost.is_set():
                log.error("chat %s: lease lost; leaving the chat to another replica", chat_id)
                self.queues.abandon(chat_id)
                return False
            if not wake.is_set():
                return True  # idle: `_hold` releases the lease, then reads the queue
            wake.clear()
            # Woken with work: confirm the lease first (see `_hold`); the running answer, if
            # any, is relinquished like on any loss.
            if not await self.renewals.confirm(kept):
                log.error("chat %s: lease lost; leaving the chat to another replica", chat_id)
                self.queues.abandon(chat_id)
                return False
            new = await self.outage.ride(
                f"reading chat {chat_id}'s queue",
                lambda: self.backlog.intake.pending(self.backlog.bot, chat_id, fed),
            )
            log.debug("chat %s: read its queue (woken): %s new",
                      chat_id, [update.update_id for update, _, _ in new])
            for update, _receipt, row in new:
                fed.add(update.update_id)
                replayed = row.accepted_at < utcnow() - self.late
                feeds.append(
                    asyncio.create_task(
                        self.backlog.dp.feed_update(self.backlog.bot, update, replayed=replayed)
                    )
                )
            if new:
                # Each feed takes its place in the chat's queue at its first step.
                await asyncio.sleep(0)

    async def _idle(self, chat_id: int, feeds: list[asyncio.Task[Any]]) -> None:
        # wait(), not gather(): this is cancelled whenever a wake comes first, and cancelling
        # a gather cancels its feeds, which drops a message still in its middlewares.
        if feeds:
            await asyncio.wait(feeds)
        await self.queues.wait_chat(chat_id)

    async def _queued(self, chat_id: int, fed: set[int]) -> bool:
        async with self.reads() as session:
            ids = await UpdateRepository(session, self.backlog.intake.bot_id).pending_ids(chat_id)
        return any(update_id not in fed for update_id in ids)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
