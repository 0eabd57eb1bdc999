"""The in-process implementation: one process, no server (the default without REDIS_URL)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.clock import loop_time
from bot.coordination.protocol import Bucket, Gap, Lease, Window


@dataclass(slots=True)
class _Held:
    owner: str
    token: int
    expires: float


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class LocalCoordinator:
    """`Coordinator` over dictionaries. Its leases, windows and slots expire on the event
    loop's clock (`loop_time`), as the waits that renew them do; `clock` is injectable."""

    def __init__(self, clock: Callable[[], float] = loop_time) -> None:
        self.clock = clock
        self._leases: dict[str, _Held] = {}
        self._fences: dict[str, itertools.count[int]] = {}
        self._buckets: dict[str, _Bucket] = {}
        self._windows: dict[str, dict[str, float]] = {}  # name -> member -> stops counting
        self._slots: dict[str, dict[str, float]] = {}
        self._rebuilds: dict[str, float] = {}  # semaphore -> no new slot until then
        self._known: set[str] = set()  # semaphores marked known (acquire_slot)
        self._signals: dict[str, tuple[int, float, float]] = {}  # name -> (seq, value, expires)
        self._channels: dict[str, set[LocalSubscription]] = {}

    # -- leases ---------------------------------------------------------------------------------

    def _live(self, name: str) -> _Held | None:
        held = self._leases.get(name)
        if held is not None and held.expires <= self.clock():
            del self._leases[name]
            return None
        return held

    async def acquire_lease(self, name: str, owner: str, ttl: float) -> Lease | None:
        if self._live(name) is not None:
            return None
        token = next(self._fences.setdefault(name, itertools.count(1)))
        self._leases[name] = _Held(owner, token, self.clock() + ttl)
        return Lease(name, owner, token)

    async def renew_lease(self, lease: Lease, ttl: float) -> bool:
        held = self._live(lease.name)
        if held is None or held.owner != lease.owner or held.token != lease.token:
            return False
        held.expires = self.clock() + ttl
        return True

    async def release_lease(self, lease: Lease) -> bool:
        held = self._live(lease.name)
        if held is None or held.owner != lease.owner or held.token != lease.token:
            return False
        del self._leases[lease.name]
        return True

    async def lease_token(self, name: str) -> int | None:
        held = self._live(name)
        return None if held is None else held.token

    async def renew_leases(
        self, leases: Sequence[Lease], ttl: float, *, release: Sequence[Lease] = (),
        within: float = 0.0,
    ) -> list[bool]:
        renewed = [await self.renew_lease(lease, ttl) for lease in leases]
        for lease in release:
            await self.release_lease(lease)
        return renewed

    async def held_leases(self, names: Sequence[str], *, within: float = 0.0) -> set[str]:
        return {name for name in names if self._live(name) is not None}

    # -- token buckets --------------------------------------------------------------------------

    async def take(
        self, bucket: str, *, rate: float, burst: float, cost: float = 1.0, reserve: bool = False
    ) -> float:
        now = self.clock()
        state = self._buckets.get(bucket)
        if state is None:
            state = self._buckets[bucket] = _Bucket(burst, now)
        state.tokens = min(burst, state.tokens + max(0.0, now - state.at) * rate)
        state.at = now
        if state.tokens >= cost:
            state.tokens -= cost
            return 0.0
        wait = (cost - state.tokens) / rate
        if reserve:
            state.tokens -= cost
        return wait

    # -- rolling windows ------------------------------------------------------------------------

    async def admit(
        self,
        window: Window,
        member: str | None,
        *,
        bucket: Bucket | None = None,
        settle: Sequence[tuple[str, float]] = (),
        hold: float = 30.0,
        poll: float = 0.02,
        within: float = 0.0,
    ) -> tuple[float, int]:
        now = self.clock()
        members = self._windows.setdefault(window.name, {})
        for settled, age in settle:
            if settled in members:
                members[settled] = now - age + window.span
        for gone in [m for m, until in members.items() if until <= now]:
            del members[gone]
        if member is None:
            return 0.0, -1
        over = len(members) + 1 + window.keep - window.limit
        if over > 0:
            ends = sorted(members.values())
            at = ends[min(over, len(ends)) - 1] if ends else now + poll
            return (poll if at > now + window.span else max(0.0, at - now)), 0
        state = None
        if bucket is not None:
            state = self._buckets.get(bucket.name) or _Bucket(bucket.burst, now)
            level = min(bucket.burst, state.tokens + max(0.0, now - state.at) * bucket.rate)
            if level < 1.0 + bucket.keep:
                return (1.0 + bucket.keep - level) / bucket.rate, 1
            self._buckets[bucket.name] = _Bucket(level - 1.0, now)
        members[member] = now + hold
        return 0.0, -1

    # -- signals --------------------------------------------------------------------------------

    async def signal(self, name: str, value: float, ttl: float) -> int:
        seq = (self._signals[name][0] if name in self._signals else 0) + 1
        self._signals[name] = (seq, value, self.clock() + ttl)
        return seq

    async def last_signal(self, name: str, *, within: float = 0.0) -> tuple[int, float] | None:
        found = self._signals.get(name)
        if found is None or found[2] <= self.clock():
            return None
        return found[0], found[1]

    # -- semaphores -----------------------------------------------------------------------------

    def _holders(self, semaphore: str) -> dict[str, float]:
        return _alive(self._slots.setdefault(semaphore, {}), self.clock())

    def _short(self, semaphore: str) -> dict[str, float]:
        return _alive(self._slots.setdefault(f"{semaphore}:short", {}), self.clock())

    async def acquire_slot(
        self, semaphore: str, holder: str, *, limit: int, ttl: float, short: float = 0.0,
        within: float = 0.0, rebuild: float = 0.0,
    ) -> bool:
        holders = self._holders(semaphore)
        if semaphore not in self._known:
            self._known.add(semaphore)
            if rebuild > 0:  # lost while in use: the others' slots are not counted yet
                self._rebuilds[semaphore] = self.clock() + rebuild
        rebuilding = self._rebuilds.get(semaphore, float("-inf")) > self.clock()
        if holder in holders or (len(holders) < limit and not rebuilding):
            holders[holder] = self.clock() + ttl
            self._short(semaphore).pop(holder, None)
            return True
        if short > 0:
            self._short(semaphore)[holder] = self.clock() + short
        return False

    async def renew_slots(
        self, semaphore: str, holders: Sequence[str], ttl: float, *, within: float = 0.0,
        rebuild: float = 0.0,
    ) -> list[bool]:
        alive = self._holders(semaphore)
        self._known.add(semaphore)
        kept = [holder in alive for holder in holders]
        for holder, held in zip(holders, kept, strict=True):
            if held or rebuild > 0:
                alive[holder] = self.clock() + ttl
        if rebuild > 0 and not all(kept):
            self._rebuilds[semaphore] = self.clock() + rebuild
        return kept

    async def release_slot(
        self, semaphore: str, holder: str, *, keep: float = 0.0, claim: float = 2.0,
        within: float = 0.0,
    ) -> bool:
        holders, short = self._holders(semaphore), self._short(semaphore)
        short.pop(holder, None)
        if holder not in holders:
            return True
        del holders[holder]
        if short and claim > 0:
            waiter = min(short, key=short.__getitem__)  # marked the longest ago
            del short[waiter]
            holders[waiter] = self.clock() + claim
            return True
        if keep > 0:
            holders[holder] = self.clock() + keep
            return False
        return True

    async def slots_held(self, semaphore: str) -> int:
        return len(self._holders(semaphore))

    async def announce(
        self, semaphore: str, holder: str, ttl: float, *, within: float = 0.0
    ) -> int:
        holders = self._holders(semaphore)
        holders[holder] = self.clock() + ttl
        return len(holders)

    # -- channels -------------------------------------------------------------------------------

    async def publish(self, channel: str, payload: str) -> int:
        subscribers = self._channels.get(channel, set())
        for subscription in subscribers:
            subscription.put(payload)
        return len(subscribers)

    def subscribe(self, channel: str) -> LocalSubscription:
        return LocalSubscription(self._channels.setdefault(channel, set()))

    async def ping(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


class LocalSubscription:
    """Subscribed from creation (nothing to confirm): every publish from then on is queued."""

    def __init__(self, subscribers: set[LocalSubscription]) -> None:
        self._subscribers = subscribers
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        subscribers.add(self)

    def put(self, payload: str) -> None:
        self._queue.put_nowait(payload)

    def __aiter__(self) -> LocalSubscription:
        return self

    async def __anext__(self) -> str | Gap:  # never a gap: nothing to lose in one process
        payload = await self._queue.get()
        if payload is None:  # closed
            self._queue.put_nowait(None)
            raise StopAsyncIteration
        return payload

    async def wait_subscribed(self) -> None:
        return None

    async def aclose(self) -> None:
        if self in self._subscribers:
            self._subscribers.discard(self)
            self._queue.put_nowait(None)


def _alive(expiries: dict[str, float], now: float) -> dict[str, float]:
    """`expiries` without the entries expired by `now` (dropped in place)."""
    for name in [n for n, expires in expiries.items() if expires <= now]:
        del expiries[name]
    return expiries
