"""The Redis implementation (redis-py `redis.asyncio`): what several replicas share.

Every operation is one Lua script (scripts.py), run with EVALSHA (redis-py loads it again if
the server forgot it, e.g. after a restart). A lost connection is retried briefly by redis-py;
past that, `CoordinationUnavailableError` says Redis is unreachable, and the next call
reconnects by itself. A call given `within` may wait that long to share a round trip with
other calls of the process (riding.py).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from typing import Any

from redis import exceptions as redis_errors
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.commands.core import AsyncScript

from bot.coordination import scripts
from bot.coordination.channels import RedisSubscription
from bot.coordination.protocol import Bucket, Lease, Window
from bot.coordination.riding import Rides

log = logging.getLogger(__name__)


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def connect(url: str, *, timeout: float = 2.0) -> Redis:
    """A client for `url` (redis:// or rediss://) that fails within about `timeout` seconds
    when the server is gone, after two quick retries."""
    return Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2),
        retry_on_error=[redis_errors.ConnectionError, redis_errors.TimeoutError],
        health_check_interval=30,
    )


class RedisCoordinator:
    """`Coordinator` on one Redis; every key starts with `prefix` (e.g. "fmbot:<bot id>:")."""

    def __init__(self, redis: Redis, prefix: str = "fmbot:") -> None:
        self.redis = redis
        self.prefix = prefix
        self._acquire_lease = redis.register_script(scripts.ACQUIRE_LEASE)
        self._renew_lease = redis.register_script(scripts.RENEW_LEASE)
        self._release_lease = redis.register_script(scripts.RELEASE_LEASE)
        self._renew_leases = redis.register_script(scripts.RENEW_LEASES)
        self._take = redis.register_script(scripts.TAKE)
        self._admit = redis.register_script(scripts.ADMIT)
        self._signal = redis.register_script(scripts.SIGNAL)
        self._acquire_slot = redis.register_script(scripts.ACQUIRE_SLOT)
        self._renew_slots = redis.register_script(scripts.RENEW_SLOTS)
        self._release_slot = redis.register_script(scripts.RELEASE_SLOT)
        self._count_slots = redis.register_script(scripts.COUNT_SLOTS)
        self._announce = redis.register_script(scripts.ANNOUNCE)
        self.rides = Rides(redis)

    @classmethod
    def from_url(cls, url: str, prefix: str = "fmbot:", timeout: float = 2.0) -> RedisCoordinator:
        return cls(connect(url, timeout=timeout), prefix)

    async def _run(
        self, what: str, script: AsyncScript, keys: Sequence[str], args: Sequence[Any] = (),
        within: float = 0.0,
    ) -> Any:
        return await self.rides.run(what, script, keys, lambda: list(args), within=within)

    async def _command(self, what: str, *command: Any, within: float = 0.0) -> Any:
        return await self.rides.run(what, None, command, within=within)

    def _key(self, kind: str, name: str) -> str:
        return f"{self.prefix}{kind}:{name}"

    # -- leases ---------------------------------------------------------------------------------

    async def acquire_lease(self, name: str, owner: str, ttl: float) -> Lease | None:
        keys = [self._key("lease", name), self._key("fence", name)]
        token = await self._run("acquire lease", self._acquire_lease, keys, [owner, _ms(ttl)])
        return Lease(name, owner, int(token)) if int(token) else None

    async def renew_lease(self, lease: Lease, ttl: float) -> bool:
        args: list[Any] = [f"{lease.token}:{lease.owner}", _ms(ttl)]
        key = [self._key("lease", lease.name)]
        renewed = await self._run("renew lease", self._renew_lease, key, args)
        return bool(renewed)

    async def release_lease(self, lease: Lease) -> bool:
        args = [f"{lease.token}:{lease.owner}"]
        key = [self._key("lease", lease.name)]
        done = await self._run("release lease", self._release_lease, key, args)
        return bool(done)

    async def lease_token(self, name: str) -> int | None:
        value = await self._command("read lease", "GET", self._key("lease", name))
        if value is None:
            return None
        return int(bytes(value).split(b":", 1)[0])

    async def renew_leases(
        self, leases: Sequence[Lease], ttl: float, *, release: Sequence[Lease] = (),
        within: float = 0.0,
    ) -> list[bool]:
        if not leases and not release:
            return []
        both = [*leases, *release]
        keys = [self._key("lease", lease.name) for lease in both]
        args: list[Any] = [_ms(ttl), len(leases),
                           *(f"{lease.token}:{lease.owner}" for lease in both)]
        answer = await self._run("renew leases", self._renew_leases, keys, args, within)
        return [flag == ord("1") for flag in bytes(answer)]

    async def held_leases(self, names: Sequence[str], *, within: float = 0.0) -> set[str]:
        if not names:
            return set()
        keys = [self._key("lease", name) for name in names]
        values = await self._command("read leases", "MGET", *keys, within=within)
        return {name for name, value in zip(names, values, strict=True) if value is not None}

    # -- token buckets --------------------------------------------------------------------------

    async def take(
        self, bucket: str, *, rate: float, burst: float, cost: float = 1.0, reserve: bool = False
    ) -> float:
        args: list[Any] = [repr(rate), repr(burst), repr(cost), "1" if reserve else "0"]
        key = [self._key("bucket", bucket)]
        wait = await self._run("take tokens", self._take, key, args)
        return float(wait)

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
        keys = [self._key("window", window.name)]
        args: list[Any] = [member or "", window.limit, _ms(window.span), window.keep]
        args += [_ms(hold), _ms(poll)]
        if bucket is None:
            args += ["0", "0", "0", "0"]
        else:
            keys.append(self._key("bucket", bucket.name))
            args += ["1", repr(bucket.rate), repr(bucket.burst), repr(bucket.keep)]
        asked = time.monotonic()

        def aged() -> list[Any]:
            # The ages as of sending: a call that waited to ride adds its wait.
            late = time.monotonic() - asked
            # Cut down to the millisecond, never rounded up: a call must not leave the window
            # before its span is over (scripts.ADMIT).
            return args + [x for settled, age in settle
                           for x in (settled, math.floor((age + late) * 1000))]

        build = aged if settle else lambda: args  # most admissions carry no answers
        answer = await self.rides.run("admit", self._admit, keys, build, within=within)
        wait, short = bytes(answer).split(b":")
        return float(wait), int(short) - 1

    # -- signals --------------------------------------------------------------------------------

    async def signal(self, name: str, value: float, ttl: float) -> int:
        keys = [self._key("signal", name), self._key("signal-seq", name)]
        args: list[Any] = [repr(value), _ms(ttl)]
        return int(await self._run("signal", self._signal, keys, args))

    async def last_signal(self, name: str, *, within: float = 0.0) -> tuple[int, float] | None:
        value = await self._command("read signal", "GET", self._key("signal", name),
                                    within=within)
        if value is None:
            return None
        seq, number = bytes(value).split(b":", 1)
        return int(seq), float(number)

    # -- semaphores -----------------------------------------------------------------------------

    def _slot_keys(self, semaphore: str) -> list[str]:
        key = self._key("semaphore", semaphore)
        return [key, f"{key}:short"]

    async def acquire_slot(
        self, semaphore: str, holder: str, *, limit: int, ttl: float, short: float = 0.0,
        within: float = 0.0, rebuild: float = 0.0,
    ) -> bool:
        args: list[Any] = [holder, limit, _ms(ttl), _ms(short) if short > 0 else 0,
                           _ms(rebuild) if rebuild > 0 else 0]
        keys = [*self._slot_keys(semaphore), self._rebuild_key(semaphore),
                self._known_key(semaphore)]
        held = await self._run("acquire slot", self._acquire_slot, keys, args, within)
        return bool(held)

    def _rebuild_key(self, semaphore: str) -> str:
        return f"{self._key('semaphore', semaphore)}:rebuild"

    def _known_key(self, semaphore: str) -> str:
        return f"{self._key('semaphore', semaphore)}:known"

    async def renew_slots(
        self, semaphore: str, holders: Sequence[str], ttl: float, *, within: float = 0.0,
        rebuild: float = 0.0,
    ) -> list[bool]:
        if not holders:
            return []
        args: list[Any] = [_ms(ttl), _ms(rebuild) if rebuild > 0 else 0, *holders]
        key = [self._key("semaphore", semaphore), self._rebuild_key(semaphore),
               self._known_key(semaphore)]
        answer = await self._run("renew slots", self._renew_slots, key, args, within)
        return [flag == ord("1") for flag in bytes(answer)]

    async def release_slot(
        self, semaphore: str, holder: str, *, keep: float = 0.0, claim: float = 2.0,
        within: float = 0.0,
    ) -> bool:
        args: list[Any] = [holder, _ms(keep) if keep > 0 else 0, _ms(claim) if claim > 0 else 0]
        keys = self._slot_keys(semaphore)
        left = await self._run("release slot", self._release_slot, keys, args, within)
        return bool(left)

    async def slots_held(self, semaphore: str) -> int:
        key = [self._key("semaphore", semaphore)]
        return int(await self._run("count slots", self._count_slots, key))

    async def announce(
        self, semaphore: str, holder: str, ttl: float, *, within: float = 0.0
    ) -> int:
        args: list[Any] = [holder, _ms(ttl)]
        key = [self._key("semaphore", semaphore)]
        return int(await self._run("announce", self._announce, key, args, within))

    # -- channels -------------------------------------------------------------------------------

    async def publish(self, channel: str, payload: str) -> int:
        name = self._key("channel", channel)
        return int(await self._command("publish", "PUBLISH", name, payload))

    def subscribe(self, channel: str) -> RedisSubscription:
        return RedisSubscription(self.redis, self._key("channel", channel))

    async def ping(self) -> None:
        await self._command("ping", "PING")

    async def aclose(self) -> None:
        await self.rides.aclose()
        await self.redis.aclose()
