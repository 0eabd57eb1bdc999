"""What several replicas must share, as one protocol with two implementations.

- **Leases** (per chat, the poller): one owner at a time, expiring unless renewed. Each grant
  carries a *fencing token* that only ever grows per lease name, so a writer that lost its
  lease (paused, partitioned) can be told apart from the new owner by anything that checks it.
- **Token buckets** (outbound budgets): `rate` tokens per second up to `burst`; `take` answers
  0.0 when granted, else the seconds to wait; `admit` takes one token from a chat's bucket
  with a window's place, leaving it at least its `keep` (headroom that calls of a lower
  priority must not spend).
- **Rolling windows** (the bot-wide 30 messages in any second): `admit` lets a member in
  while fewer than `limit` members count; a member counts from its admission until `span`
  after it is settled (its call answered), at most `hold` while never settled (a dead
  replica's calls stop counting by themselves).
- **Signals** (a draft 429 lowering every replica's draft rate): a value with a sequence
  number and an expiry, read by polling.
- **Semaphores with leases** (the generation cap): at most `limit` holders; each slot expires
  unless renewed, so a dead holder's slots come back by themselves. A holder asking *short*
  (below its replica's share) is given the next slot released, which it claims by asking
  again; a release may keep the slot when nobody asks short.
- **Channels** (a chat's wake and stop between replicas): `publish` a string to every current
  `subscribe`r of a channel (Redis pub/sub). At most once: what is published while a
  subscriber is not subscribed (before it, or while Redis is away) is lost, so a message is a
  hint to look now, never the only way something gets done. A subscription confirmed again
  after it was lost yields `GAP`, so its reader can look at what it may have missed.

Every method is one atomic step (a Lua script in Redis); waiting and renewing loops live in
`leases.py`, `generations.py` and `leadership.py`, the same for both implementations. A call
given `within` (renewals, the census, the sweep, answers told: nobody waits on them) may be
sent up to that many seconds late, to share one round trip with the process's other calls
(riding.py); the local implementation has nothing to share and answers at once. Failures of
the backing store raise `CoordinationUnavailableError` (a subclass of `CoordinationError`).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


class CoordinationError(Exception):
    """Coordination could not be done."""


class CoordinationUnavailableError(CoordinationError):
    """The shared store (Redis) did not answer; the operation's outcome is unknown."""


class Gap(enum.Enum):
    """Yielded by a subscription subscribed again after it was lost (Redis away, or a
    reconnection redis-py made by itself): whatever was published in between is gone."""

    GAP = "gap"


GAP = Gap.GAP


@dataclass(frozen=True, slots=True)
class Bucket:
    """One token bucket of an `admit`: `rate` per second up to `burst`; a grant must leave
    at least `keep` tokens."""

    name: str
    rate: float
    burst: float
    keep: float = 0.0


@dataclass(frozen=True, slots=True)
class Window:
    """A rolling window of `admit`: at most `limit` members counted in any `span` seconds; an
    admission must leave `keep` places free (for members of a higher priority)."""

    name: str
    limit: int
    span: float
    keep: int = 0


@dataclass(frozen=True, slots=True)
class Lease:
    """A granted lease: `name`, the unique `owner` of this grant, its fencing `token`."""

    name: str
    owner: str
    token: int


class Subscription(Protocol):
    """The payloads published to one channel, in order, while subscribed. Iterate it in one
    task; cancel that task, then `aclose` it. It survives the store going away (subscribing
    again by itself, then yielding `GAP`): the iteration ends only after `aclose`."""

    def __aiter__(self) -> Subscription: ...

    async def __anext__(self) -> str | Gap: ...

    async def wait_subscribed(self) -> None:
        """Until the store has confirmed the subscription (it starts with the iteration)."""
        ...

    async def aclose(self) -> None: ...


class Coordinator(Protocol):
    """The primitives; `name`s are plain strings (the implementation adds its prefix)."""

    async def acquire_lease(self, name: str, owner: str, ttl: float) -> Lease | None:
        """Grant `name` to `owner` for `ttl` seconds when free (or expired); else None."""
        ...

    async def renew_lease(self, lease: Lease, ttl: float) -> bool:
        """Extend a lease still held by this grant to `ttl` seconds from now; False if lost."""
        ...

    async def release_lease(self, lease: Lease) -> bool:
        """Give the lease up if this grant still holds it (False otherwise)."""
        ...

    async def lease_token(self, name: str) -> int | None:
        """The fencing token of the lease's current holder, None when nobody holds it."""
        ...

    async def renew_leases(
        self, leases: Sequence[Lease], ttl: float, *, release: Sequence[Lease] = (),
        within: float = 0.0,
    ) -> list[bool]:
        """`renew_lease` for each, in one step, and `release_lease` for each of `release`: a
        replica holding many leases renews them all, and gives back those it is done with,
        with one call."""
        ...

    async def held_leases(self, names: Sequence[str], *, within: float = 0.0) -> set[str]:
        """Which of these leases somebody holds now, in one step."""
        ...

    async def take(
        self, bucket: str, *, rate: float, burst: float, cost: float = 1.0, reserve: bool = False
    ) -> float:
        """Take `cost` tokens: 0.0 when granted; otherwise the seconds until they will be
        there. With `reserve` the tokens are debited anyway (the bucket goes into debt) and the
        caller owns them after waiting the returned time; without it nothing is taken."""
        ...

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
        """First `settle` earlier members of `window`, each with the seconds since its answer
        (it counts until `span` after the answer), then admit `member` (unique) and take a
        token from `bucket`, both or neither: (0.0, -1) when admitted (or `member` is None);
        else the seconds to look again and what is short, 0 the window, 1 the bucket. A
        window full of members never settled says `poll` (they may be answered any moment).
        An unsettled member counts `hold` seconds at most."""
        ...

    async def signal(self, name: str, value: float, ttl: float) -> int:
        """Publish `value` under `name` for `ttl` seconds; its sequence number (only grows)."""
        ...

    async def last_signal(self, name: str, *, within: float = 0.0) -> tuple[int, float] | None:
        """The latest signal under `name` still live: (sequence number, value), else None."""
        ...

    async def acquire_slot(
        self, semaphore: str, holder: str, *, limit: int, ttl: float, short: float = 0.0,
        within: float = 0.0, rebuild: float = 0.0,
    ) -> bool:
        """A slot for `holder` (unique per acquisition) for `ttl` seconds if fewer than
        `limit` live holders exist and no rebuild is under way (`renew_slots`); True when held
        (also when `holder` already held it, or was given it by a release). Refused with
        `short` > 0, `holder` is marked as asking short for `short` seconds: the next release
        gives it the slot (see `release_slot`). Every call marks the semaphore as known to
        the store; with `rebuild` > 0 (the caller has used it before) a store without that
        mark lost it (came back empty): the slots in use elsewhere are not counted yet, so a
        rebuild starts (no new slot for `rebuild` seconds, as in `renew_slots`)."""
        ...

    async def renew_slots(
        self, semaphore: str, holders: Sequence[str], ttl: float, *, within: float = 0.0,
        rebuild: float = 0.0,
    ) -> list[bool]:
        """Extend each holder's slot, in one step; False for one that expired (and may have
        been given away): a replica renews every slot it holds with one call (and marks the
        semaphore known, see `acquire_slot`). With
        `rebuild` > 0 a holder not found is one still in use that the store lost (emptied by
        a restart, or never told during an outage): it is counted again for `ttl`, and for
        `rebuild` seconds no new slot is granted (`acquire_slot`), so the other replicas can
        count theirs again before anyone is let in on a count that is too low."""
        ...

    async def release_slot(
        self, semaphore: str, holder: str, *, keep: float = 0.0, claim: float = 2.0,
        within: float = 0.0,
    ) -> bool:
        """Give the slot back: to the holder marked short the longest ago (it has `claim`
        seconds to ask for it again), else with `keep` > 0 it stays `holder`'s (renewed for
        `keep` seconds), else it is free. With `claim` 0 it is free in any case (a slot counted
        again above the cap is nobody's to hand on). True when it left `holder` (also when it
        had expired); the mark of `holder`'s own short asking goes in any case."""
        ...

    async def slots_held(self, semaphore: str) -> int:
        """Live holders right now."""
        ...

    async def announce(
        self, semaphore: str, holder: str, ttl: float, *, within: float = 0.0
    ) -> int:
        """Take or renew `holder`'s slot for `ttl` seconds, whatever the number of holders,
        and count the live ones, in one step (the census of replicas)."""
        ...

    async def publish(self, channel: str, payload: str) -> int:
        """Send `payload` to the channel's current subscribers; how many there were."""
        ...

    def subscribe(self, channel: str) -> Subscription:
        """What is published to `channel` from the moment the subscription is confirmed."""
        ...

    async def ping(self) -> None:
        """Raise CoordinationUnavailableError when the store cannot be reached."""
        ...

    async def aclose(self) -> None: ...
