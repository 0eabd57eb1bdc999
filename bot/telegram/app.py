"""The Telegram application: it starts and stops what the wiring built (bot/wiring/telegram.py):
the Bot, its Dispatcher (dispatching.py), the answer, image and other services around it; polling
and webhook (webhook.py) runners with graceful shutdown.

Every update enters through the durable intake (intake.py): claimed, and stored when it is a
message, before Telegram is told it arrived. Start-up resumes what the last run left undone
(backlog.py) before the first new update is taken.

Shutdown (SIGTERM / SIGINT): stop taking updates, let queued and streaming answers finish for
`shutdown_grace` seconds, then cancel the rest (each is finalised as cancelled: the partial
text is delivered and stored; messages still queued stay in the durable queue for the next
start), stop image pollers (their jobs resume on the next start), and close the bot session.
Closing the model client and the database is the caller's (the wiring).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from aiogram.methods import DeleteWebhook

from bot.coordination.stopping import stop_tasks
from bot.telegram import maintenance
from bot.telegram.lifecycle import BotRun, BotService
from bot.telegram.startup import (
    TokenRejectedError,
    make_bot,
    patiently,
    reach_telegram,
    set_commands,
    stop_polling,
    stopping,
)
from bot.telegram.warmup import warm_models
from bot.telegram.webhook import serve_webhook

if TYPE_CHECKING:
    from aiogram import Bot, Dispatcher
    from aiogram.types import Update
    from aiohttp import web as aiohttp_web
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from bot.conversation import ConversationService
    from bot.telegram.answers import Answerer
    from bot.telegram.backlog import Backlog
    from bot.telegram.chatleases import ChatLeases
    from bot.telegram.chatqueue import ChatQueues
    from bot.telegram.deps import BotOptions, Deps
    from bot.telegram.intake import Intake
    from bot.telegram.outagenotice import OutageNotices
    from bot.telegram.outbox import Outbox

__all__ = ["TelegramApp", "TokenRejectedError", "make_bot"]

log = logging.getLogger(__name__)

# The stop button's update must be asked for explicitly (Bot API 10.3).
ALWAYS_ALLOWED = ("message", "callback_query", "stopped_message_generation")


class TelegramApp:
    """Starts and stops the built parts; builds none of them."""

    def __init__(
        self,
        *,
        bot: Bot,
        dp: Dispatcher,
        deps: Deps,
        backlog: Backlog,
        leases: ChatLeases | None = None,
        notices: OutageNotices | None = None,
        services: Sequence[BotService] = (),
        web: Sequence[Callable[[aiohttp_web.Application], None]] = (),
        # Within Docker's 10 s between SIGTERM and SIGKILL: 6 s to finish, 3 s to finalise.
        shutdown_grace: float = 6.0,
        shutdown_settle: float = 3.0,
    ) -> None:
        """`backlog` resumes what was left undone at start (one process); with `leases`
        (several replicas), only chats whose lease is free are taken over. `services` start
        and stop with the bot, in this order (lifecycle.py)."""
        self.bot = bot
        self.dp = dp
        self.deps = deps
        self.backlog = backlog
        self.leases = leases
        self.notices = notices  # past DATABASE_OUTAGE_GRACE, users waiting are told
        self.services = services
        # What the features add to the webhook's server (webhook.py): the console's pages.
        self.web_routes = web
        self.shutdown_grace = shutdown_grace
        self.shutdown_settle = shutdown_settle
        self.stopping = False  # True from SIGTERM on: /readyz answers 503 (metrics/server.py)
        self._background: set[asyncio.Task[Any]] = set()

    # -- the parts, as the handlers see them -----------------------------------------------------

    @property
    def conversation(self) -> ConversationService:
        return self.deps.conversation

    @property
    def answers(self) -> Answerer:
        return self.deps.answers

    @property
    def queues(self) -> ChatQueues:
        return self.deps.queues

    @property
    def outbox(self) -> Outbox:
        return self.deps.outbox

    @property
    def options(self) -> BotOptions:
        return self.deps.options

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        return self.deps.sessionmaker

    @property
    def intake(self) -> Intake:
        return self.backlog.intake

    @property
    def allowed_updates(self) -> list[str]:
        return sorted(set(self.dp.resolve_used_update_types()) | set(ALWAYS_ALLOWED))

    # -- lifecycle -------------------------------------------------------------------------------

    async def startup(self) -> None:
        warm_models()  # off the first users' path (warmup.py)
        await self.set_commands()
        # The census: with replicas, they take turns at sweeping.
        run = BotRun(self._spawn, self.leases.replicas if self.leases is not None else None)
        for service in self.services:
            await service.startup(run)
        if self.leases is not None:
            # Other replicas may be at work: only chats whose lease is free are taken over.
            self.leases.start()  # wakes and stops from the other replicas
            await self.leases.sweep(grace=dt.timedelta(0))
            self._spawn(self.leases.sweep_forever(), "chat-sweep")
        else:
            resumed = await self.backlog.resume()
            for task in resumed.feeds:
                self._keep(task)
        for service in self.services:
            await service.ready(run)
        if self.options.retention_days > 0:
            self._spawn(
                maintenance.purge_forever(self.sessionmaker, self.options.retention_days),
                "retention",
            )
        self._spawn(maintenance.prune_updates_forever(self.sessionmaker, self.bot.id), "prune")

    async def process(self, update: Update) -> Any:
        """Accept one update through the intake and handle it (tests, embedding apps)."""
        if not await self.receive([update]):
            return None
        return await self.handle(update)

    async def receive(self, updates: Sequence[Update]) -> int:
        """Accept `updates` through the intake as one delivery (one getUpdates answer, say,
        as an album's parts arrive); how many were new. Then `handle` each, in order."""
        return await self.intake.accept(updates)

    async def handle(self, update: Update) -> Any:
        """Dispatch an update `receive` accepted (one it did not is dropped)."""
        return await self.dp.feed_update(self.bot, update)

    async def set_commands(self) -> None:
        await set_commands(self.bot, self.deps.menu)

    def announce_stopping(self) -> None:
        """From now on /readyz answers 503 (the balancer sends elsewhere)."""
        self.stopping = True

    async def shutdown(self) -> None:
        self.announce_stopping()
        log.info("shutting down: finishing answers (up to %.0f s)", self.shutdown_grace)
        await self.queues.drain(self.shutdown_grace, self.shutdown_settle)
        if self.leases is not None:
            await self.leases.aclose()
        for service in reversed(self.services):
            await service.shutdown()
        await stop_tasks(*self._background)  # sweeps call Redis (coordination/stopping.py)
        if self.notices is not None:
            await self.notices.aclose()
        await self.outbox.aclose()
        log.info("shutdown complete")

    async def wait_idle(self) -> None:
        """Until the queued answers and the services' background work (image jobs, ...)
        started so far have ended (tests, bot.testing)."""
        await self.queues.wait_idle()
        for service in self.services:
            await service.wait_idle()

    def _spawn(self, coro: Any, name: str) -> None:
        self._keep(asyncio.create_task(coro, name=name))

    def _keep(self, task: asyncio.Task[Any]) -> None:
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- runners ---------------------------------------------------------------------------------

    async def run_polling(
        self,
        polling_timeout: int = 25,
        *,
        stop: asyncio.Event | None = None,
        started: asyncio.Event | None = None,
    ) -> None:
        """Long polling; nothing pending is dropped. Returns after SIGTERM/SIGINT, or once
        `stop` is set (the bot run inside another program); `started` is set once polling
        has begun."""
        with stopping(stop) as stop:
            try:
                if started is not None:
                    self.dp.startup.register(started.set)  # aiogram: polling has begun
                polling = asyncio.create_task(
                    self.poll(polling_timeout, handle_signals=False), name="poll"
                )
                ended = asyncio.create_task(stop.wait())
                try:
                    await asyncio.wait({polling, ended}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    ended.cancel()
                if stop.is_set():
                    # Asked for (SIGTERM, SIGINT, a program leaving `async with app`): the
                    # ordinary end of a run, nothing for an operator to look into.
                    log.info("stopping polling")
                await stop_polling(self.dp, polling)
            finally:
                await self.shutdown()
                await self.bot.session.close()

    async def poll(self, polling_timeout: int = 25, *, handle_signals: bool = True) -> None:
        """Start up (resuming what was left undone) and poll until `dp.stop_polling()` (or,
        with `handle_signals`, SIGTERM/SIGINT). The caller shuts down or stands down after;
        the bot session stays open."""
        await reach_telegram(self.bot)
        # A webhook left from an earlier run makes getUpdates fail with 409 Conflict.
        await patiently(self.bot, DeleteWebhook(drop_pending_updates=False))
        await self.startup()
        await self.dp.start_polling(
            self.bot,
            polling_timeout=polling_timeout,
            handle_as_tasks=True,
            allowed_updates=self.allowed_updates,
            handle_signals=handle_signals,
            close_bot_session=False,
        )

    async def stand_down(self) -> None:
        """The poller's lease was lost (several replicas, polling mode): another replica may
        be polling already and resumes what is left undone at its start-up, so nothing more
        runs here, at once. Running answers are relinquished (nothing more sent, their rows
        left `streaming`: the new poller's start-up recovery answers them again), queued
        messages stay in the durable queue, image jobs and the services' work (the desk's
        relays) stay pending for the new poller. The outbox stays open for the next term.
        `poll` may run again after."""
        await self.queues.abandon_all(self.shutdown_settle)
        for service in reversed(self.services):
            await service.stand_down()
        await stop_tasks(*self._background)  # sweeps call Redis (coordination/stopping.py)

    async def run_webhook(
        self,
        *,
        url: str,
        secret: str,
        host: str,
        port: int,
        stop: asyncio.Event | None = None,
        started: asyncio.Event | None = None,
    ) -> None:
        """Serve `url`'s path on host:port (webhook.py). Returns after SIGTERM/SIGINT, or
        once `stop` is set; `started` is set once Telegram was told the URL."""
        await serve_webhook(self, url=url, secret=secret, host=host, port=port, stop=stop,
                            started=started)
