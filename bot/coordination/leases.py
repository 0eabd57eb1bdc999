"""Holding a lease: wait for it, renew it in the background, notice when it is lost.

The same for both coordinators. A lease counts as lost when a renewal says so, or when no
renewal has succeeded for `ttl - renew_every` seconds (the store may be unreachable, and the
lease may expire there at any moment after that): the holder must then stop what the lease
guarded, since another process may take it over once it expires.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from bot.coordination.periodic import Period
from bot.coordination.protocol import CoordinationUnavailableError, Coordinator, Lease
from bot.coordination.stopping import stop_tasks

log = logging.getLogger(__name__)


async def acquire_waiting(
    coordinator: Coordinator,
    name: str,
    owner: str,
    ttl: float,
    *,
    poll: float = 0.1,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Lease:
    """Try every `poll` seconds until the lease is granted. An unreachable store is logged
    (once per outage) and waited out; cancel the caller to give up."""
    unavailable = False
    while True:
        try:
            lease = await coordinator.acquire_lease(name, owner, ttl)
        except CoordinationUnavailableError as exc:
            if not unavailable:
                log.warning("lease %s: %s; retrying", name, exc)
            unavailable = True
            lease = None
        else:
            if unavailable:
                log.info("lease %s: the store answers again", name)
            unavailable = False
        if lease is not None:
            return lease
        await sleep(poll)


class LeaseKeeper:
    """Renews `lease` every `ttl / 3` seconds until stopped; `lost` is set when it is lost."""

    def __init__(
        self,
        coordinator: Coordinator,
        lease: Lease,
        ttl: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.coordinator = coordinator
        self.lease = lease
        self.ttl = ttl
        self.renew_every = ttl / 3
        self.clock = clock
        self.lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._renew(), name=f"lease-{self.lease.name}")

    async def stop(self) -> None:
        await stop_tasks(self._task)  # never a lost cancellation (stopping.py)

    async def _renew(self) -> None:
        # The lease is valid at least until `sent + ttl` of the last renewal that succeeded;
        # it is given up `renew_every` before that, whatever a hanging call is doing.
        confirmed = self.clock()
        while True:
            await asyncio.sleep(self.renew_every)
            sent = self.clock()
            give_up_at = confirmed + self.ttl - self.renew_every
            try:
                async with asyncio.timeout(max(0.0, give_up_at - sent)):
                    renewed = await self.coordinator.renew_lease(self.lease, self.ttl)
            except (CoordinationUnavailableError, TimeoutError) as exc:
                if self.clock() >= give_up_at:
                    log.error(
                        "lease %s: not renewed for %.1f s (%s): giving it up",
                        self.lease.name, self.clock() - confirmed, str(exc) or "no answer in time",
                    )
                    break
                log.warning("lease %s: renewal failed (%s); retrying", self.lease.name, exc)
                continue
            if not renewed:
                log.error("lease %s was lost (taken over or expired)", self.lease.name)
                break
            confirmed = sent
        self.lost.set()


class KeptLease:
    """One lease of a `LeaseGroup`: `lost` is set when it is lost; `stop` leaves the group."""

    def __init__(self, group: LeaseGroup, lease: Lease, confirmed: float) -> None:
        self.group = group
        self.lease = lease
        self.confirmed = confirmed  # when the last renewal that succeeded was sent
        self.lost = asyncio.Event()

    async def stop(self) -> None:
        self.group.forget(self)

    def release_soon(self) -> asyncio.Future[None]:
        """Stop renewing the lease and release it with the group's next renewal, at most
        `renew_every` from now (one call for every lease of the group); resolved once that
        call is done (or failed: the lease then expires by itself). `LeaseGroup.take_back`
        keeps it instead, until that call is sent."""
        return self.group.release_soon(self)


class LeaseGroup:
    """Renews many leases of one process (a replica's chats) with one call every `ttl / 3`
    seconds instead of one call per lease; each lease counts as lost exactly as LeaseKeeper
    says (a renewal refused, or none succeeded for `ttl - renew_every` seconds)."""

    def __init__(
        self, coordinator: Coordinator, ttl: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.coordinator = coordinator
        self.ttl = ttl
        self.renew_every = ttl / 3
        self.clock = clock
        self._kept: dict[Lease, KeptLease] = {}
        self._releasing: dict[Lease, tuple[KeptLease, asyncio.Future[None]]] = {}
        self._task: asyncio.Task[None] | None = None

    def keep(self, lease: Lease) -> KeptLease:
        """Renew `lease` (just granted) with the others until its `stop`."""
        kept = KeptLease(self, lease, self.clock())
        self._kept[lease] = kept
        self._run()
        return kept

    def forget(self, kept: KeptLease) -> None:
        if self._kept.get(kept.lease) is kept:
            del self._kept[kept.lease]
        pending = self._releasing.get(kept.lease)
        if pending is not None and pending[0] is kept:
            del self._releasing[kept.lease]
            _resolve(pending[1])

    def release_soon(self, kept: KeptLease) -> asyncio.Future[None]:
        """See KeptLease.release_soon."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._kept.get(kept.lease) is not kept:  # lost or stopped: nothing to release
            done.set_result(None)
            return done
        del self._kept[kept.lease]
        self._releasing[kept.lease] = (kept, done)
        self._run()
        return done

    def take_back(self, kept: KeptLease) -> bool:
        """Renew a lease waiting to be released (`release_soon`) again instead; False when
        the call releasing it has been sent."""
        pending = self._releasing.get(kept.lease)
        if pending is None or pending[0] is not kept:
            return False
        del self._releasing[kept.lease]
        _resolve(pending[1])
        self._kept[kept.lease] = kept
        return True

    async def confirm(self, kept: KeptLease) -> bool:
        """Ask the store now whether `kept` still holds its lease (renewing it): before
        work that only its holder may do, when the group's last renewal may be up to
        `renew_every` old (the store may have come back empty since, and another process been
        granted the lease). False, and the lease counted lost, when it does not; an
        unreachable store is left to the renewals to judge (nobody is granted it meanwhile)."""
        if self._kept.get(kept.lease) is not kept:
            return False
        sent = self.clock()
        try:
            renewed = await self.coordinator.renew_lease(kept.lease, self.ttl)
        except CoordinationUnavailableError as exc:
            log.warning("lease %s: not confirmed (%s); keeping it", kept.lease.name, exc)
            return True
        if not renewed:
            if not kept.lost.is_set():
                self._lose(kept, "was lost (taken over or expired; found before new work)")
            return False
        kept.confirmed = max(kept.confirmed, sent)
        return True

    def _run(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._renew(), name="lease-group")

    async def aclose(self) -> None:
        await stop_tasks(self._task)
        releasing, self._releasing = self._releasing, {}
        for _, done in releasing.values():
            _resolve(done)  # their holders release them themselves, or they expire

    def _lose(self, kept: KeptLease, why: str) -> None:
        log.error("lease %s %s", kept.lease.name, why)
        self.forget(kept)
        kept.lost.set()

    async def _renew(self) -> None:
        # Every `renew_every`, as before; the second half of each period waiting for another
        # call of the process to carry the renewal (riding.py).
        period = Period(self.renew_every)
        while self._kept or self._releasing:
            within = await period.tick()
            batch = list(self._kept.values())
            releasing, self._releasing = self._releasing, {}
            if not batch and not releasing:
                return
            sent = self.clock()
            give_up_at = min((k.confirmed for k in batch), default=sent + self.renew_every)
            give_up_at += self.ttl - self.renew_every
            try:
                async with asyncio.timeout(max(0.0, give_up_at - sent)):
                    renewed = await self.coordinator.renew_leases(
                        [k.lease for k in batch], self.ttl, release=list(releasing),
                        within=within,
                    )
            except (CoordinationUnavailableError, TimeoutError) as exc:
                if releasing:
                    log.warning("%d leases not released (%s); they expire by themselves",
                                len(releasing), str(exc) or "no answer in time")
                now = self.clock()
                for kept in batch:
                    if now >= kept.confirmed + self.ttl - self.renew_every:
                        self._lose(kept, f"not renewed for {now - kept.confirmed:.1f} s "
                                         f"({str(exc) or 'no answer in time'}): giving it up")
                if batch:
                    log.warning("%d leases: renewal failed (%s); retrying", len(batch), exc)
                continue
            finally:
                for _, done in releasing.values():
                    _resolve(done)
            for kept, ok in zip(batch, renewed, strict=True):
                if ok:
                    kept.confirmed = sent
                elif not kept.lost.is_set():
                    self._lose(kept, "was lost (taken over or expired)")


def _resolve(done: asyncio.Future[None]) -> None:
    if not done.done():
        done.set_result(None)


@asynccontextmanager
async def held_lease(
    coordinator: Coordinator, name: str, owner: str, ttl: float, *, poll: float = 0.1
) -> AsyncIterator[LeaseKeeper]:
    """Wait for the lease, keep it renewed inside the block, release it after."""
    lease = await acquire_waiting(coordinator, name, owner, ttl, poll=poll)
    keeper = LeaseKeeper(coordinator, lease, ttl)
    keeper.start()
    try:
        yield keeper
    finally:
        await keeper.stop()
        try:
            await coordinator.release_lease(lease)
        except CoordinationUnavailableError as exc:
            log.warning("lease %s not released (%s); it expires by itself", name, exc)


async def run_while_held(
    coordinator: Coordinator,
    name: str,
    owner: str,
    ttl: float,
    work: Callable[[], Coroutine[Any, Any, None]],
) -> bool:
    """Run `work` if the lease is free now, renewing it meanwhile and releasing it after;
    `work` is cancelled if the lease is lost. False when another owner holds it (or the store
    is unreachable: logged), and `work` never started."""
    try:
        lease = await coordinator.acquire_lease(name, owner, ttl)
    except CoordinationUnavailableError as exc:
        log.warning("lease %s not taken: %s", name, exc)
        return False
    if lease is None:
        return False
    keeper = LeaseKeeper(coordinator, lease, ttl)
    keeper.start()
    task = asyncio.create_task(work())
    lost = asyncio.create_task(keeper.lost.wait())
    try:
        await asyncio.wait({task, lost}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            log.error("lease %s lost: stopping what it guarded", name)
    finally:
        for pending in (task, lost):
            pending.cancel()
        await asyncio.gather(task, lost, return_exceptions=True)
        await keeper.stop()
        try:
            await coordinator.release_lease(lease)
        except CoordinationUnavailableError as exc:
            log.warning("lease %s not released (%s); it expires by itself", name, exc)
    return True
