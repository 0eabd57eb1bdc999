"""Update delivery of the fake Bot API: getUpdates long polling, or a webhook.

getUpdates follows https://core.telegram.org/bots/api#getupdates: an update stays pending until
a later call passes ``offset`` above its id (so a bot killed before confirming gets it again);
a negative offset keeps only the last updates; ``allowed_updates`` is remembered between calls;
a second concurrent call ends the first one with 409. With a webhook set, updates are POSTed one
at a time with ``X-Telegram-Bot-Api-Secret-Token``; a non-2xx answer or a connection error is
retried after a growing delay ("we will repeat the request and give up after a reasonable
amount of attempts", https://core.telegram.org/bots/api#setwebhook).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any, cast

import aiohttp

from bot.testing.telegram.wire import TelegramError

log = logging.getLogger("fake_telegram")

# Telegram's default when allowed_updates was never given: everything except these.
DEFAULT_EXCLUDED = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


def update_type(update: dict[str, Any]) -> str:
    return next((key for key in update if key != "update_id"), "")


@dataclass
class Webhook:
    url: str
    secret_token: str | None = None
    max_connections: int = 40
    last_error_date: int | None = None
    last_error_message: str | None = None
    deliveries: int = 0
    failures: int = 0


@dataclass
class UpdateQueue:
    retry_delays: tuple[float, ...] = (0.1, 0.2, 0.5, 1.0, 2.0)
    max_attempts: int = 30
    pending: list[dict[str, Any]] = field(default_factory=list)
    allowed_updates: list[str] | None = None
    webhook: Webhook | None = None
    next_update_id: int = 100_000
    slow_seconds: float = 0.0
    fail_times: int = 0
    fail_status: int = 502
    secret_override: str | None = None
    # Deliver to a webhook over up to its max_connections at once, as Telegram does (one update
    # of a chat at a time, in order); False: one update at a time (what the tests expect).
    parallel: bool = False
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _poller: asyncio.Future[None] | None = None
    _webhook_task: asyncio.Task[None] | None = None
    _http: aiohttp.ClientSession | None = None
    closing: bool = False

    def allowed(self, kind: str) -> bool:
        if self.allowed_updates is None or not self.allowed_updates:
            return kind not in DEFAULT_EXCLUDED
        return kind in self.allowed_updates

    def add(self, update: dict[str, Any]) -> int:
        update = dict(update)
        if "update_id" not in update:
            update["update_id"] = self.next_update_id
        self.next_update_id = max(self.next_update_id, int(update["update_id"])) + 1
        if not self.allowed(update_type(update)):
            log.info("update %s dropped: not in allowed_updates", update["update_id"])
            return int(update["update_id"])
        self.pending.append(update)
        self._arrived.set()
        return int(update["update_id"])

    async def get_updates(
        self, offset: int | None, limit: int, poll_timeout: float, allowed: list[str] | None
    ) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise TelegramError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        if self.slow_seconds:
            await asyncio.sleep(self.slow_seconds)
        if self.fail_times > 0:
            self.fail_times -= 1
            raise TelegramError(self.fail_status, "Bad Gateway")
        if allowed is not None:
            self.allowed_updates = allowed
        if self._poller is not None and not self._poller.done():
            self._poller.set_exception(
                TelegramError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            )
        self._confirm(offset)
        deadline = time.monotonic() + max(0.0, poll_timeout)
        while not self.pending and not self.closing:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._arrived.clear()
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._poller = waiter
            arrived: asyncio.Future[Any] = asyncio.ensure_future(self._arrived.wait())
            try:
                await asyncio.wait(
                    {cast("asyncio.Future[Any]", waiter), arrived},
                    timeout=remaining,
                    return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                arrived.cancel()
            if waiter.done():
                waiter.result()  # raises the 409 when another call took over
            else:
                waiter.cancel()
            self._poller = None
        return [u for u in self.pending if self.allowed(update_type(u))][: max(1, min(limit, 100))]

    def _confirm(self, offset: int | None) -> None:
        if offset is None or offset == 0:
            return
        if offset < 0:
            self.pending = self.pending[offset:]
        else:
            self.pending = [u for u in self.pending if u["update_id"] >= offset]

    def wake(self) -> None:
        self._arrived.set()

    # --- webhook -------------------------------------------------------------------------

    def set_webhook(self, hook: Webhook | None, drop_pending: bool) -> None:
        if drop_pending:
            self.pending.clear()
        self.webhook = hook
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            self._webhook_task = None
        if hook is not None:
            self._webhook_task = asyncio.create_task(self._deliver(hook))

    async def _deliver(self, hook: Webhook) -> None:
        if self._http is None:
            self._http = aiohttp.ClientSession()
        if self.parallel:
            await self._deliver_parallel(hook)
            return
        attempt = 0
        while not self.closing:
            if not self.pending:
                self._arrived.clear()
                await self._arrived.wait()
                continue
            update = self.pending[0]
            error = await self._post(hook, update)
            if error is None:
                hook.deliveries += 1
                attempt = 0
                if self.pending and self.pending[0] is update:
                    self.pending.pop(0)
                continue
            hook.failures += 1
            hook.last_error_date = int(time.time())
            hook.last_error_message = error
            attempt += 1
            if attempt >= self.max_attempts:
                log.warning("webhook: giving up on update %s: %s", update["update_id"], error)
                if self.pending and self.pending[0] is update:
                    self.pending.pop(0)
                attempt = 0
                continue
            await asyncio.sleep(self.retry_delays[min(attempt, len(self.retry_delays)) - 1])

    async def _deliver_parallel(self, hook: Webhook) -> None:
        flying: dict[int, asyncio.Task[None]] = {}  # update id -> its delivery
        try:
            while not self.closing:
                busy = set()
                for update in self.pending:
                    chat = _chat_of(update)
                    if chat in busy:  # an earlier update of the chat goes first
                        continue
                    busy.add(chat)
                    uid = int(update["update_id"])
                    if uid not in flying and len(flying) < max(1, hook.max_connections):
                        flying[uid] = asyncio.create_task(self._deliver_one(hook, update))
                self._arrived.clear()
                arrived = asyncio.ensure_future(self._arrived.wait())
                try:
                    await asyncio.wait(
                        {arrived, *flying.values()}, return_when=asyncio.FIRST_COMPLETED
                    )
                finally:
                    arrived.cancel()
                for uid in [u for u, task in flying.items() if task.done()]:
                    del flying[uid]
        finally:
            for task in flying.values():
                task.cancel()

    async def _deliver_one(self, hook: Webhook, update: dict[str, Any]) -> None:
        for attempt in range(1, self.max_attempts + 1):
            error = await self._post(hook, update)
            if error is None:
                hook.deliveries += 1
                break
            hook.failures += 1
            hook.last_error_date = int(time.time())
            hook.last_error_message = error
            if attempt < self.max_attempts:
                await asyncio.sleep(self.retry_delays[min(attempt, len(self.retry_delays)) - 1])
        else:
            log.warning("webhook: giving up on update %s", update["update_id"])
        if update in self.pending:
            self.pending.remove(update)

    async def _post(self, hook: Webhook, update: dict[str, Any]) -> str | None:
        assert self._http is not None
        headers = {}
        secret = self.secret_override if self.secret_override is not None else hook.secret_token
        if secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        try:
            async with self._http.post(
                hook.url, json=update, headers=headers, timeout=aiohttp.ClientTimeout(total=60)
            ) as resp:
                await resp.read()
                if 200 <= resp.status < 300:
                    return None
                return f"Wrong response from the webhook: {resp.status} {resp.reason}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            return f"Connection refused: {type(exc).__name__}"

    async def close(self) -> None:
        self.closing = True
        self._arrived.set()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
        if self._http is not None:
            await self._http.close()


def _chat_of(update: dict[str, Any]) -> object:
    """The chat an update belongs to (its own id when it has none)."""
    for value in update.values():
        if isinstance(value, dict):
            chat = value.get("chat") or (value.get("message") or {}).get("chat")
            if isinstance(chat, dict) and "id" in chat:
                return chat["id"]
    return ("update", update["update_id"])
