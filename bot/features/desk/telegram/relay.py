"""Durable relays between users and their topics, paced by the Outbox.

A relay is stored as pending (both source ids) before anything is sent, and marked done with
the copy's message id as soon as Telegram returns it; `resume` sends what a stop left pending.
Bursts into the support chat (a group: 20 messages a minute) are coalesced: while the chat's
budget is spent, a user's new messages gather and go out in one copyMessages call, in order.
Nothing is dropped: a failure is stored with its reason and told in the topic.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from aiogram.exceptions import TelegramAPIError, TelegramNetworkError, TelegramServerError
from aiogram.methods import CopyMessage, CopyMessages, SendMessage

from bot.features.desk.domain import DeskService, RelayView
from bot.features.desk.storage.models import RelayDirection
from bot.features.desk.telegram.topics import Hold, TopicLocks
from bot.plugin.coordination import stop_tasks
from bot.plugin.telegram import ChatUnreachableError, Outbox, OutboxClosedError, OutboxError

log = logging.getLogger(__name__)

BATCH = 100  # copyMessages takes 1-100 message ids
TOPIC_GONE = ("thread not found", "topic_deleted", "topic_id_invalid")


def transient(exc: Exception) -> bool:
    """Telegram or the network failing (after the Outbox's own retries): worth another try."""
    if isinstance(exc, TelegramServerError | TelegramNetworkError):
        return True
    return isinstance(exc, OutboxError) and not isinstance(exc, ChatUnreachableError)


def topic_gone(exc: Exception) -> bool:
    text = str(exc).lower()
    return any(marker in text for marker in TOPIC_GONE)


class Relayer:
    def __init__(
        self,
        desk: DeskService,
        outbox: Outbox,
        support_chat_id: int,
        *,
        thread_for: Callable[[int], Awaitable[int | None]],
        recreate_topic: Callable[[int], Awaitable[int | None]],
        preparing: Callable[[int], bool] = lambda user_id: False,
        retry_after: float = 30.0,
        locks: TopicLocks | None = None,
    ) -> None:
        self.desk = desk
        self.outbox = outbox
        self.support_chat_id = support_chat_id
        self.thread_for = thread_for
        self.recreate_topic = recreate_topic
        self.preparing = preparing  # the user's handoff (topic, card) is still being made
        self.retry_after = retry_after
        self.retry_unreachable = 2.0  # while Redis is unreachable
        self.locks = locks or TopicLocks()  # with replicas: each relay copied once
        self._to_topic: dict[int, list[RelayView]] = {}  # user -> relays, oldest user first
        self._to_user: dict[int, deque[RelayView]] = {}
        self._user_tasks: dict[int, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._topic_task: asyncio.Task[None] | None = None
        self._closed = False
        self._busy = 0  # copies in flight
        self._tried: dict[int, asyncio.Future[None]] = {}  # relay id -> its first try ended

    # -- intake ----------------------------------------------------------------------------------
    def submit(self, relay: RelayView) -> None:
        if self._closed:
            return  # stored as pending: the next start sends it
        if relay.direction is RelayDirection.TO_TOPIC:
            self._to_topic.setdefault(relay.user_id, []).append(relay)
            if self._topic_task is None or self._topic_task.done():
                self._topic_task = asyncio.create_task(self._topic_loop(), name="desk-to-topics")
            self._wake.set()
        else:
            self._to_user.setdefault(relay.user_id, deque()).append(relay)
            task = self._user_tasks.get(relay.user_id)
            if task is None or task.done():
                self._user_tasks[relay.user_id] = asyncio.create_task(
                    self._user_loop(relay.user_id), name=f"desk-to-user-{relay.user_id}"
                )

    def tried(self, relay_id: int) -> asyncio.Future[None]:
        """Done when the relay's first try to reach the topic has ended (copied, failed, or
        left for later): what is posted beside it waits for it, so it comes after."""
        future = self._tried.get(relay_id)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            if self._closed:  # no try comes here: it is pending for the next start
                future.set_result(None)
            else:
                self._tried[relay_id] = future
        return future

    def _tried_now(self, batch: list[RelayView]) -> None:
        for relay in batch:
            future = self._tried.pop(relay.id, None)
            if future is not None and not future.done():
                future.set_result(None)

    async def resume(self) -> int:
        # After `aclose` (a poller that stood down, leading again): what was queued here is
        # still pending in the database and read again below.
        self._closed = False
        self._to_topic.clear()
        self._to_user.clear()
        pending = await self.desk.relays.pending_relays()
        for relay in pending:
            self.submit(relay)
        if pending:
            log.info("support desk: resending %d relays a stop left pending", len(pending))
        return len(pending)

    def idle(self) -> bool:
        return not self._to_topic and not any(self._to_user.values()) and not self._busy

    async def wait_idle(self) -> None:
        while not self.idle():  # noqa: ASYNC110 - tests and shutdown only
            await asyncio.sleep(0.02)

    async def aclose(self) -> None:
        self._closed = True
        for future in self._tried.values():
            if not future.done():
                future.set_result(None)
        self._tried.clear()
        # The loops call Redis (the relay lease), where a cancellation can be lost.
        await stop_tasks(self._topic_task, *self._user_tasks.values())

    def _later(self, relays: list[RelayView], delay: float | None = None) -> None:
        """Still pending in the database: submitted again after `delay` (``retry_after``)."""

        def again() -> None:
            for relay in relays:
                self.submit(relay)

        asyncio.get_running_loop().call_later(
            self.retry_after if delay is None else delay, again
        )

    # -- users -> topics -------------------------------------------------------------------------
    async def _topic_loop(self) -> None:
        while not self._closed:
            if not self._to_topic:
                self._wake.clear()
                await self._wake.wait()
                continue
            # Users whose topic is still being made wait; the others go on.
            user_id = next((u for u in self._to_topic if not self.preparing(u)), None)
            if user_id is None:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.5):
                        await self._wake.wait()
                continue
            queued = self._to_topic.pop(user_id)
            batch, rest = queued[:BATCH], queued[BATCH:]
            if rest:
                self._to_topic[user_id] = rest
            self._busy += 1
            try:
                await self._once(user_id, batch, self._copy_to_topic)
            except asyncio.CancelledError:
                raise
            except Exception:  # never lose the loop; the relays stay pending for a restart
                log.exception("relay to the topic of user %s failed", user_id)
            finally:
                self._busy -= 1
                self._tried_now(batch)

    async def _copy_to_topic(
        self, user_id: int, batch: list[RelayView], retry: bool = True
    ) -> None:
        # copyMessages wants the ids strictly increasing, and a user's messages may have been
        # queued out of their order (handled side by side): in the order the user wrote them.
        # https://core.telegram.org/bots/api#copymessages
        batch = sorted(batch, key=lambda relay: relay.source_message_id)
        ids = [r.id for r in batch]
        thread = await self.thread_for(user_id)
        if thread is None and not await self.desk.is_owned(user_id):
            # The handoff was given up (the support chat cannot hold topics) and the user was
            # told to write again: nobody will ever see these.
            log.warning("relays of user %s dropped: their handoff failed", user_id)
            await self.desk.relays.relays_failed(ids, "the handoff failed: no topic")
            return
        if thread is None:  # the support chat refuses topics now: keep them, try again later
            log.error("no topic for user %s: %d relays wait %.0f s", user_id, len(batch),
                      self.retry_after)
            self._later(batch)
            return
        chat = self.support_chat_id
        sources = [r.source_message_id for r in batch]
        try:
            if len(batch) == 1:
                copied = await self.outbox.call(chat, CopyMessage(
                    chat_id=chat, from_chat_id=user_id, message_id=sources[0],
                    message_thread_id=thread,
                ))
                targets = [copied.message_id]
            else:
                many = await self.outbox.call(chat, CopyMessages(
                    chat_id=chat, from_chat_id=user_id, message_ids=sources,
                    message_thread_id=thread,
                ))
                targets = [m.message_id for m in many]
        except OutboxClosedError:
            raise asyncio.CancelledError from None  # shutting down: stays pending
        except (ChatUnreachableError, TelegramAPIError) as exc:
            if retry and topic_gone(exc):
                log.warning("topic of user %s is gone; creating it again", user_id)
                if await self.recreate_topic(user_id) is not None:
                    await self._copy_to_topic(user_id, batch, retry=False)
                    return
            if transient(exc):
                log.warning("relay of user %s failed (%s); again in %.0f s", user_id, exc,
                            self.retry_after)
                self._later(batch)
                return
            log.warning("relay of user %s to the support chat failed: %s", user_id, exc)
            await self.desk.relays.relays_failed(ids, str(exc))
            return
        if len(targets) != len(batch):
            # copyMessages skips what it cannot copy (deleted meanwhile) without saying which:
            # the ids are paired in order and the rest is marked failed.
            log.warning("copyMessages copied %d of %d messages", len(targets), len(batch))
        done = list(zip(ids, targets, strict=False))
        await self.desk.relays.relays_done(done)
        if len(targets) < len(batch):
            await self.desk.relays.relays_failed(
                ids[len(targets) :], "not copied (deleted meanwhile?)"
            )

    async def _once(
        self,
        user_id: int,
        batch: list[RelayView],
        copy: Callable[[int, list[RelayView]], Awaitable[None]],
    ) -> None:
        """`copy` the batch under the user's relay lease, without what another replica sent."""
        async with self.locks.try_hold(user_id) as hold:
            if hold is Hold.ELSEWHERE:  # another replica copies this user's relays now
                self._later(batch)
                return
            if hold is Hold.UNREACHABLE:  # copied once Redis answers, never twice
                self._later(batch, self.retry_unreachable)
                return
            if hold is Hold.HELD:
                pending = await self.desk.relays.still_pending([r.id for r in batch])
                batch = [r for r in batch if r.id in pending]
            if batch:
                await copy(user_id, batch)

    # -- topics -> users -------------------------------------------------------------------------
    async def _user_loop(self, user_id: int) -> None:
        queue = self._to_user.get(user_id)
        while queue and not self._closed:
            relay = queue[0]
            self._busy += 1
            try:
                await self._once(user_id, [relay], lambda _, b: self._copy_to_user(b[0]))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("relay %s to user %s failed", relay.id, user_id)
            finally:
                self._busy -= 1
                queue.popleft()
        if not queue:
            self._to_user.pop(user_id, None)

    async def _copy_to_user(self, relay: RelayView) -> None:
        try:
            copied = await self.outbox.call(relay.user_id, CopyMessage(
                chat_id=relay.user_id, from_chat_id=relay.source_chat_id,
                message_id=relay.source_message_id,
            ))
        except OutboxClosedError:
            raise asyncio.CancelledError from None
        except (OutboxError, TelegramAPIError) as exc:
            if transient(exc):
                log.warning("relay %s to user %s failed (%s); again in %.0f s", relay.id,
                            relay.user_id, exc, self.retry_after)
                self._later([relay])
                return
            log.warning("relay %s to user %s failed: %s", relay.id, relay.user_id, exc)
            await self.desk.relays.relays_failed([relay.id], str(exc))
            await self._tell_topic(relay, f"⚠️ Not delivered to the user: {exc}")
            return
        await self.desk.relays.relays_done([(relay.id, copied.message_id)])

    async def _tell_topic(self, relay: RelayView, text: str) -> None:
        thread = await self.thread_for(relay.user_id)
        chat = self.support_chat_id
        try:
            await self.outbox.call(
                chat, SendMessage(chat_id=chat, message_thread_id=thread, text=text[:4000])
            )
        except (OutboxError, TelegramAPIError) as exc:
            log.warning("could not tell the topic of user %s: %s", relay.user_id, exc)
