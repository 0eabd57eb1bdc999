"""The per-folder cap on concurrent generations, shared by every replica (Yandex counts them
per folder: reference §8.3), as a semaphore with leases in the store: a replica that dies
mid-stream stops renewing, and its slots come back after `ttl` seconds.

A slot costs few round trips to the store:

- **One asker per folder and replica.** Generations wait in this process, in order; one task
  asks the store for a slot for the first of them, so a hundred questions queued behind the
  cap cost one ask at a time, not a hundred.
- **A replica keeps its share.** A generation that ends hands its slot to the next one waiting
  here, without telling the store, while this replica holds no more than its share (the cap
  divided by the live replicas, rounded down). Under a full quota the store hears of a slot
  only when it moves between replicas.
- **Slots above the share move to who is short.** An ask refused while the replica holds less
  than its share (or, when there are fewer slots than replicas, none) is marked *short* in
  the store, and the next release anywhere gives that replica the slot, claimed by its next
  ask. A replica above its share offers a slot back at an end at most every `KEEP_CHECK`
  seconds, and keeps it when nobody is short; a replica at its share asks for more only every
  `AT_SHARE_POLL` seconds (to pick up what a replica with nothing queued gave back). A
  replica that has just started is short until the others count it in the census and give
  back what is above their new share.
- **One renewal a replica**: every slot held here is renewed by one call every `ttl / 3`.

If the store cannot be reached, generations do not fail for it: the cap falls back to this
process's own semaphore of this replica's share (logged once per outage), so the replicas
together stay within the cap, and the shared cap resumes when the store answers.

**What is in flight is counted again.** A store that comes back empty (a restart, a failover
that lost the keys) has forgotten the slots of generations still running, and one that was
away never heard of those started under the local cap. The replica's next renewal (or its next
ask, for those started under the local cap) finds them missing and counts them again, and the
store then grants no new slot for `REBUILD` x `ttl` seconds (longer than a renewal period), so
every other replica counts its own before anyone is let in on a count that is too low. Such a
slot ends in the store, not handed on here. An ask may come first (before any renewal since
the store came back): a replica that has talked to the store about the folder before and finds
it without the folder's *known* mark starts the same hold, so nobody is let in on the emptied
count while the others' renewals (every `ttl / 3`) count theirs again. A replica that ran
generations under the local cap counts as having talked to the store: it may have been away
because it restarted empty.

**A 429 while the count is not sure is the cap's own doing** (`overran`). While the store is
away, within a recount (`REBUILD` x `ttl` after slots were found lost), and for a renewal
period plus a recount after this replica talked to the store for the first time or again
(other replicas may find it emptied at their next renewal), the cap may have let one
generation too many through, and Yandex refuses it (the quota counts every replica's). Such a
refusal is not the user's error: the generation gives its slot back, waits `QUOTA_PAUSE`, and
asks again (which waits out a recount), for up to `quota_wait` seconds in all. Outside those
windows a refusal is first checked with the store (one renewal, at once): a store that lost
this replica's slots starts the recount, and the refusal is waited out too.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from bot.coordination.periodic import Period
from bot.coordination.protocol import CoordinationUnavailableError, Coordinator
from bot.coordination.semaphores import ShareSemaphore
from bot.coordination.slots import Folder, first_waiting, hand
from bot.coordination.stopping import stop_tasks

log = logging.getLogger(__name__)

# Seconds between asks of a replica already holding its share (see the module docstring).
AT_SHARE_POLL = 4.0
# How long a refused ask below the share stays marked short in the store, and how long a slot
# given to it by a release waits to be claimed: three polls (Backoff.max_poll 0.5 s).
SHORT_MARK = 1.5
# Seconds between two offers of a slot above the share to replicas asking short: the ends of
# generations in between hand it on here without asking the store.
KEEP_CHECK = 1.0
# After the store was found to have lost slots in use: no new slot for this part of `ttl`
# (a renewal period is a third: every replica renews, and so counts its own, before it ends).
REBUILD = 0.5
# Seconds a generation Yandex refused (429) while the count was not sure waits before it asks
# for a slot again, and the most it waits so in all before the refusal is the caller's.
QUOTA_PAUSE = 2.0
QUOTA_WAIT = 60.0


class SharedGenerationLimit:
    """Implements bot.foundation_models.limits.GenerationLimit over a Coordinator; `replicas`
    counts the live replicas (the census), for this replica's share."""

    def __init__(
        self,
        coordinator: Coordinator,
        limit: int,
        *,
        ttl: float = 30.0,
        replicas: Callable[[], int] = lambda: 1,
        quota_wait: float = QUOTA_WAIT,
    ) -> None:
        if limit < 1:
            raise ValueError("the concurrency limit must be at least 1")
        self.coordinator = coordinator
        self.limit = limit
        self.ttl = ttl
        self.replicas = replicas
        self.quota_wait = quota_wait
        self._folders: dict[str, Folder] = {}
        self._local: dict[str, ShareSemaphore] = {}
        self._renewer: asyncio.Task[None] | None = None
        self._degraded = False
        self._waiting = 0

    @property
    def waiting(self) -> int:
        """Generations of this replica waiting for a slot right now."""
        return self._waiting

    @property
    def share(self) -> int:
        """How many slots this replica keeps for its own next generations."""
        return self.limit // max(1, self.replicas())

    @asynccontextmanager
    async def slot(self, folder: str) -> AsyncIterator[float]:
        started = asyncio.get_running_loop().time()
        place = self._folders.get(folder)
        if place is None:
            place = self._folders[folder] = Folder(f"generations:{folder}")
        self._waiting += 1
        try:
            holder = await self._take(place)
        except CoordinationUnavailableError as exc:
            if not self._degraded:
                log.warning("generation cap: %s; capping this replica alone until it is "
                            "back", exc)
            self._degraded = True
            # It may come back empty: the first ask then looks for the folder's mark.
            place.seen = True
            holder = None
        finally:
            self._waiting -= 1
        if holder is None:
            async with self._local_slot(folder):
                unshared = uuid.uuid4().hex  # told to the store when it answers again
                place.unshared.add(unshared)
                self._keep_renewing()
                try:
                    yield asyncio.get_running_loop().time() - started
                finally:
                    place.unshared.discard(unshared)
                    await self._give_back(place, unshared)
            return
        try:
            yield asyncio.get_running_loop().time() - started
        finally:
            await self._give_back(place, holder)

    async def overran(self, folder: str, waited: float) -> float | None:
        """See bot.foundation_models.limits.GenerationLimit and the module docstring."""
        place = self._folders.get(folder)
        if place is None:
            return None
        unknown = False  # the store cannot say what it counts
        if not self._unsure(place):
            held = sorted(place.holders | place.rebuilt | place.unshared)
            try:  # the renewal due within ttl / 3, now: has the store lost what runs here?
                if held:
                    await self._count_again(place, held)
            except CoordinationUnavailableError:
                unknown = True
            except Exception:  # a script error: the refusal is the caller's, as before
                log.exception("generation cap: slots of %s not checked", place.name)
                return None
        if not unknown and not self._unsure(place):
            return None
        if waited >= self.quota_wait:
            log.warning("generation cap: a generation refused for the quota for %.0f s while "
                        "the count was being rebuilt: its error is shown", waited)
            return None
        return QUOTA_PAUSE

    def _unsure(self, place: Folder) -> bool:
        return self._degraded or asyncio.get_running_loop().time() < place.unsure_until

    def _unsure_for(self, place: Folder, seconds: float) -> None:
        until = asyncio.get_running_loop().time() + seconds
        place.unsure_until = max(place.unsure_until, until)

    async def aclose(self) -> None:
        """Stop asking and renewing; slots still held expire by themselves."""
        await stop_tasks(self._renewer, *(place.asker for place in self._folders.values()))

    # -- taking and giving back -------------------------------------------------------------------

    async def _take(self, place: Folder) -> str:
        """A slot's holder id: handed on by a generation that ended here, or from the store."""
        waiter: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        place.waiters.append(waiter)
        if place.asker is None:
            place.asker = asyncio.create_task(self._ask(place), name=f"ask-{place.name}")
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                await self._give_back(place, waiter.result())  # handed as it was cancelled
            raise

    async def _ask(self, place: Folder) -> None:
        """Ask the store for slots while generations wait here (one task per folder)."""
        backoff = place.backoff
        holder = uuid.uuid4().hex  # kept until granted: a release may give it the slot
        marked = False  # the store has `holder` marked as asking short
        eager = False  # just granted: ask again at once
        try:
            while first_waiting(place.waiters) is not None:
                if self.share >= self.limit <= len(place.holders):
                    # Alone, holding all of them: only a lost renewal frees one here (a
                    # release is handed on); ask the store again only now and then.
                    backoff.delay = max(backoff.delay, self.ttl / 3)
                    eager = False
                if backoff.delay and not eager:  # refused lately: a release here, or a poll
                    await backoff.pause()
                    if first_waiting(place.waiters) is None:
                        break
                # Without a share (fewer slots than replicas), one that holds none asks short.
                short = len(place.holders) < max(1, self.share)
                unshared = sorted(place.unshared)
                # At the share, a paced look for a slot to spare may ride with another call.
                paced = not short and not eager and bool(backoff.delay)
                blind = not place.seen  # nothing to compare the store with
                try:
                    if unshared:  # those started while the store was away count first
                        await self._count_again(place, unshared)
                    granted = await self.coordinator.acquire_slot(
                        place.name, holder, limit=self.limit, ttl=self.ttl,
                        short=SHORT_MARK if short else 0.0, within=KEEP_CHECK if paced else 0.0,
                        rebuild=REBUILD * self.ttl if place.seen else 0.0,
                    )
                    place.seen = True
                except Exception as exc:  # each waiter falls back; none may hang
                    if not isinstance(exc, CoordinationUnavailableError):
                        log.exception("generation cap: asking for a slot failed")
                        exc = CoordinationUnavailableError(f"{type(exc).__name__}: {exc}")
                    while place.waiters:
                        waiter = place.waiters.popleft()
                        if not waiter.done():
                            waiter.set_exception(exc)
                    backoff.reset()
                    return
                if self._degraded or blind:
                    # The others may find the store emptied at their next renewal, then
                    # recount: what this replica is granted meanwhile may be one too many.
                    self._unsure_for(place, self.ttl / 3 + REBUILD * self.ttl)
                if self._degraded:
                    log.info("generation cap: shared again")
                    self._degraded = False
                if not granted:
                    marked = short
                    if not eager or not backoff.delay:  # after an eager ask: the pace it had
                        backoff.next(backoff.max_poll if short else AT_SHARE_POLL)
                    eager = False
                    continue
                marked = False
                place.holders.add(holder)
                self._keep_renewing()
                if not hand(place, holder):
                    await self._release(place, holder)  # its generation left meanwhile
                holder = uuid.uuid4().hex
                eager = True  # one was free: there may be more
                if not place.waiters:
                    backoff.reset()  # nobody queued behind: the next one starts fast
            # Nobody waits: the next generation here asks at once, not at the pace of these.
            backoff.reset()
            if marked:  # a release must not give a slot to an asker that stopped
                await self._forget(place, holder)
        finally:
            place.asker = None

    async def _forget(self, place: Folder, holder: str) -> None:
        try:
            await self.coordinator.release_slot(place.name, holder)
        except CoordinationUnavailableError as exc:
            log.debug("generation cap: a short ask not withdrawn (%s); it expires", exc)

    async def _give_back(self, place: Folder, holder: str) -> None:
        if holder in place.rebuilt:  # counted again after the store lost it: never handed on
            place.rebuilt.discard(holder)
            try:  # nor given to a replica asking short: the count may be above the cap
                await self.coordinator.release_slot(place.name, holder, claim=0.0)
            except CoordinationUnavailableError as exc:
                log.warning("slot of %s not released (%s); it expires by itself",
                            place.name, exc)
            return
        if holder not in place.holders:
            return  # expired before it was renewed: the store may have given it away
        if first_waiting(place.waiters) is None:
            await self._release(place, holder)
        elif len(place.holders) <= self.share or not self._check_due(place):
            hand(place, holder)
        else:  # above the share: kept for the next one here unless a replica asks short
            try:
                left = await self.coordinator.release_slot(
                    place.name, holder, keep=self.ttl, claim=SHORT_MARK
                )
            except CoordinationUnavailableError as exc:
                log.warning("slot of %s not released (%s); it expires by itself",
                            place.name, exc)
                left = True
            if left:
                place.holders.discard(holder)
                place.checked = float("-inf")  # more may ask short: offer the next one too
            elif not hand(place, holder):  # the next one left meanwhile
                await self._release(place, holder)

    @staticmethod
    def _check_due(place: Folder) -> bool:
        """Whether to ask the store if a replica asks short (at most every `KEEP_CHECK`)."""
        now = asyncio.get_running_loop().time()
        if now - place.checked < KEEP_CHECK:
            return False
        place.checked = now
        return True

    async def _release(self, place: Folder, holder: str) -> None:
        place.holders.discard(holder)
        try:
            await self.coordinator.release_slot(place.name, holder, claim=SHORT_MARK)
        except CoordinationUnavailableError as exc:
            log.warning("slot of %s not released (%s); it expires by itself", place.name, exc)
        if place.waiters and len(place.holders) < self.share:
            place.backoff.freed.set()  # below its share with generations waiting: ask now

    def _keep_renewing(self) -> None:
        if self._renewer is None:
            self._renewer = asyncio.create_task(self._renew(), name="renew-generations")

    async def _renew(self) -> None:
        """Every slot in use here, renewed by one call a folder every `ttl / 3` (those the
        store lost, or never heard of, counted again: module docstring); ends when none is in
        use (the next grant, or generation under the local cap, starts it again)."""
        period = Period(self.ttl / 3)  # the second half riding with another call (riding.py)
        while True:
            within = await period.tick()
            held = [(place, sorted(place.holders | place.rebuilt | place.unshared))
                    for place in self._folders.values()]
            if not any(holders for _, holders in held):
                self._renewer = None
                return
            for place, holders in held:
                if not holders:
                    continue
                try:
                    await self._count_again(place, holders, within)
                except CoordinationUnavailableError as exc:
                    log.warning("slots of %s not renewed: %s", place.name, exc)
                except Exception:  # a script error: the next round tries again
                    log.exception("slots of %s not renewed", place.name)

    async def _count_again(
        self, place: Folder, holders: list[str], within: float = 0.0
    ) -> None:
        """Renew `holders`; those the store did not have (lost, or started under the local
        cap) are in use all the same: counted again, and new grants held back meanwhile."""
        kept = await self.coordinator.renew_slots(
            place.name, holders, self.ttl, within=within, rebuild=REBUILD * self.ttl
        )
        place.seen = True
        lost = 0
        for holder, alive in zip(holders, kept, strict=True):
            if alive:
                continue
            if holder in place.unshared or holder in place.holders:
                lost += 1
                place.unshared.discard(holder)
                place.holders.discard(holder)
                place.rebuilt.add(holder)  # the store has it again; not handed on
            elif holder in place.rebuilt:
                lost += 1
        if lost:
            self._unsure_for(place, REBUILD * self.ttl)
            log.warning(
                "generation cap: %d generations in flight were not counted by the store "
                "(it lost them, or was away when they started): counted again; no new slot "
                "for %.0f s while the other replicas count theirs", lost, REBUILD * self.ttl,
            )

    @asynccontextmanager
    async def _local_slot(self, folder: str) -> AsyncIterator[float]:
        # This replica's share: the replicas together stay within the cap (the census is
        # as last counted, at least two for a replica that never counted: wiring).
        semaphore = self._local.get(folder)
        if semaphore is None:
            semaphore = self._local[folder] = ShareSemaphore(lambda: self.share)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await semaphore.acquire()
        try:
            yield loop.time() - started
        finally:
            semaphore.release()
