"""A channel subscription on Redis (redis-py's `PubSub`), kept alive through outages.

redis-py reconnects and subscribes again by itself when a read fails (`PubSub.on_connect`);
what is added here is what it leaves to its caller:

- a read that still fails after redis-py's quick retries (Redis away) is tried again with
  backoff (0.1 s doubling up to 1 s, jittered); the outage is logged once when it starts and
  once when the subscription is confirmed again;
- a connection that went silent without being closed (half-open TCP, e.g. a partition): after
  `keepalive` seconds without a word a PING goes out, and when nothing has come back after
  another `keepalive` the connection is dropped and made again;
- every confirmation after the first (a new connection, whoever made it) is yielded as `GAP`:
  what was published while the connection was down is gone, and the reader may look for it.

Nothing runs in the background: the work happens inside the iteration, so cancelling the
iterating task and `aclose` leave nothing behind.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time

from redis import exceptions as redis_errors
from redis.asyncio import Redis

from bot.coordination.protocol import GAP, Gap

log = logging.getLogger(__name__)

KEEPALIVE_PING = "fmbot-keepalive"
LOST = (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError)


class RedisSubscription:
    """`Subscription` to one channel (the full Redis name) on a connection of its own."""

    def __init__(
        self,
        redis: Redis,
        channel: str,
        *,
        keepalive: float = 5.0,
        backoff: float = 0.1,
        backoff_cap: float = 1.0,
    ) -> None:
        self.channel = channel
        self.keepalive = keepalive
        self.backoff = backoff
        self.backoff_cap = backoff_cap
        self._pubsub = redis.pubsub()
        self._subscribed = asyncio.Event()
        self._closed = False
        self._heard = time.monotonic()  # when the server last sent anything
        self._pinged: float | None = None  # when our PING went out, while unanswered
        self._down_since: float | None = None
        self._failures = 0
        self._confirmed = False  # the first confirmation came: later ones follow a gap

    def __aiter__(self) -> RedisSubscription:
        return self

    async def __anext__(self) -> str | Gap:
        while not self._closed:
            try:
                payload = await self._receive()
            except LOST as exc:
                if self._closed:
                    break
                await self._lost(exc)
                continue
            if payload is not None:
                return payload
        raise StopAsyncIteration

    async def wait_subscribed(self) -> None:
        await self._subscribed.wait()

    async def aclose(self) -> None:
        self._closed = True
        self._subscribed.clear()
        await self._pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py: untyped

    async def _receive(self) -> str | Gap | None:
        """One read: a payload, `GAP` (subscribed again), or None (the first confirmation, a
        pong, nothing within keepalive)."""
        if not self._pubsub.subscribed:
            # The first time, and after a failed first SUBSCRIBE; later on redis-py
            # subscribes again on every new connection.
            self._heard = time.monotonic()
            await self._pubsub.subscribe(self.channel)
        message = await self._pubsub.get_message(timeout=self.keepalive)
        now = time.monotonic()
        if message is None:
            # Not always a whole `keepalive` of silence: redis-py's own health-check pong is
            # returned as None at once. So the PING's age decides, not the silence's.
            if self._pinged is not None and now - self._pinged >= self.keepalive:
                raise redis_errors.TimeoutError(
                    f"no answer to a PING within {self.keepalive:g} s"
                )
            if self._pinged is None and now - self._heard >= self.keepalive:
                await self._pubsub.ping(KEEPALIVE_PING)
                self._pinged = now
            return None
        self._heard, self._pinged = now, None
        kind = message["type"]
        if kind == "subscribe":
            self._back()
            if self._confirmed:
                return GAP
            self._confirmed = True
        elif kind == "message":
            # Whatever another client published: never a reason to stop listening.
            return bytes(message["data"]).decode(errors="replace")
        return None

    async def _lost(self, exc: BaseException) -> None:
        self._subscribed.clear()
        if self._down_since is None:
            self._down_since = time.monotonic()
            log.warning(
                "subscription to %s lost (Redis unreachable: %s); subscribing again when "
                "Redis answers", self.channel, exc,
            )
        else:
            log.debug("subscription to %s: still unreachable (%s)", self.channel, exc)
        connection = self._pubsub.connection
        if connection is not None:
            # The next read connects anew (and redis-py subscribes again on it).
            await connection.disconnect()
        self._failures += 1
        delay = min(self.backoff_cap, self.backoff * 2 ** (self._failures - 1))
        await asyncio.sleep(delay * random.uniform(0.5, 1.0))
        self._heard, self._pinged = time.monotonic(), None

    def _back(self) -> None:
        self._subscribed.set()
        self._failures = 0
        if self._down_since is not None:
            log.warning(
                "subscription to %s is back after %.1f s",
                self.channel, time.monotonic() - self._down_since,
            )
            self._down_since = None
