"""A chat's wake and stop between webhook replicas (REDIS_URL), on one channel of the
coordinator (`fmbot:<bot id>:channel:chats` in Redis) that every replica listens to.

- `wake <chat>`: a replica stored a message of the chat but found the chat's lease held
  elsewhere (chatleases.py). The holder reads the chat's queue at once instead of when its
  running answer ends, so a `/stop` received by any replica is fed where the answer streams
  and cancels it there, as in one process.
- `stop <chat> <draft>`: the draft's stop button reached a replica that does not stream that
  draft; the replica that does stops it.

Pub/sub delivers at most once. Wakes lost while this replica's subscription was down are
made up for when it is back (the subscription yields `GAP`): every chat held here reads its
queue then. So are wakes published before the subscription was first confirmed (a replica
that took a chat while its SUBSCRIBE was still on the way, a busy machine at start).
Otherwise a lost wake delays a message until the holder's answer ends (the holder reads its
queue then anyway); a lost stop lets the answer finish. Other replicas ignore what is not
theirs (no held chat, no such draft): that costs a dictionary lookup.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.coordination import GAP, CoordinationUnavailableError, Coordinator, Subscription
from bot.metrics import registry as metrics

log = logging.getLogger(__name__)

CHANNEL = "chats"


class ChatSignals:
    def __init__(
        self,
        coordinator: Coordinator,
        *,
        on_wake: Callable[[int], bool],
        on_stop: Callable[[int, int], bool],
        on_gap: Callable[[], int],
    ) -> None:
        """`on_wake(chat)`: True when this replica holds the chat and was woken;
        `on_stop(chat, draft)`: True when this replica streamed that draft and stopped it;
        `on_gap()`: wake every chat held here (wakes may have been missed); how many."""
        self.coordinator = coordinator
        self.on_wake = on_wake
        self.on_stop = on_stop
        self.on_gap = on_gap

    async def wake(self, chat_id: int) -> None:
        await self._publish("wake", f"wake {chat_id}")

    async def stop_draft(self, chat_id: int, draft_id: int) -> None:
        await self._publish("stop", f"stop {chat_id} {draft_id}")

    async def _publish(self, kind: str, payload: str) -> None:
        try:
            listeners = await self.coordinator.publish(CHANNEL, payload)
        except CoordinationUnavailableError as exc:
            # Best effort by design (module docstring); the lease path logs the outage.
            log.warning("could not publish %r: %s", payload, exc)
            metrics.chat_signal(kind, "unpublished")
            return
        log.debug("published %r to %d replicas", payload, listeners)
        metrics.chat_signal(kind, "published")

    async def listen(self) -> None:
        """Act on what the other replicas publish, until cancelled (at shutdown)."""
        subscription = self.coordinator.subscribe(CHANNEL)
        first = asyncio.create_task(self._subscribed(subscription), name="chat-signals-first")
        try:
            async for payload in subscription:
                try:
                    if payload is GAP:
                        self.missed()
                    else:
                        self.handle(payload)
                except Exception:  # one bad message must not end the listening
                    log.exception("handling the chat signal %r failed", payload)
        finally:
            first.cancel()
            await subscription.aclose()

    async def _subscribed(self, subscription: Subscription) -> None:
        # The first confirmation: what was published before it is gone as after a gap (its
        # GAP is yielded only for later ones), and a chat may be held here already.
        await subscription.wait_subscribed()
        if self.on_gap():
            log.info("chat signals: subscribed; the chats held here read their queues")

    def missed(self) -> None:
        woken = self.on_gap()
        log.info("chat signals: subscribed again; %d chats held here read their queues", woken)
        metrics.chat_signal("gap", "acted")

    def handle(self, payload: str) -> None:
        try:
            kind, *numbers = payload.split()
            args = [int(n) for n in numbers]
            if kind == "wake" and len(args) == 1:
                acted = self.on_wake(args[0])
            elif kind == "stop" and len(args) == 2:
                acted = self.on_stop(args[0], args[1])
                if acted:
                    log.info("chat %s: draft %s stopped for another replica", *args)
            else:
                raise ValueError(kind)
        except ValueError:
            # A newer replica's message during a rolling update: not ours to understand.
            log.warning("ignored a chat signal this version does not know: %r", payload)
            return
        metrics.chat_signal(kind, "acted" if acted else "not_here")


class ReplicaRequests:
    """What a handler asks of the other replicas (several webhook replicas): stop a draft
    streaming on another one, offer a chat to its lease holder. Built first and handed both
    to the handlers' deps and to the chat leases that carry the requests out: the leases
    replay updates through the Dispatcher, whose handlers hold this, so neither can be
    built from the other."""

    def __init__(self) -> None:
        self._stop_draft: Callable[[int, int], Awaitable[None]] | None = None
        self._offer: Callable[[int], None] | None = None

    def carried_out_by(
        self, *, stop_draft: Callable[[int, int], Awaitable[None]], offer: Callable[[int], None]
    ) -> None:
        """The chat leases say how (once, as they are built)."""
        if self._offer is not None:
            raise RuntimeError("replica requests are carried out by one set of chat leases")
        self._stop_draft = stop_draft
        self._offer = offer

    async def stop_draft(self, chat_id: int, draft_id: int) -> None:
        if self._stop_draft is not None:
            await self._stop_draft(chat_id, draft_id)

    def offer(self, chat_id: int) -> None:
        if self._offer is not None:
            self._offer(chat_id)
