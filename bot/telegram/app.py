"""The Telegram application: Bot, Dispatcher, routers and middlewares; polling and webhook
runners with graceful shutdown.

Every update enters through the durable intake (intake.py): claimed, and stored when it is a
message, before Telegram is told it arrived. Start-up resumes what the last run left undone
(backlog.py) before the first new update is taken.

Shutdown (SIGTERM / SIGINT): stop taking updates, let queued and streaming answers finish for
`shutdown_grace` seconds, then cancel the rest (each is finalised as cancelled: the partial
text is delivered and stored; messages still queued stay in the durable queue for the next
start), stop image pollers (their jobs resume on the next start), and close the bot session.
Closing the model client and the database is the caller's (wiring.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import DeleteWebhook, SetWebhook
from aiogram.types import Update
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.conversation import ConversationService
from bot.coordination import Coordinator
from bot.images import ImageService
from bot.telegram import maintenance
from bot.telegram.access import AccessPolicy
from bot.telegram.answers import Answerer
from bot.telegram.backlog import Backlog
from bot.telegram.chatleases import ChatLeases
from bot.telegram.chatqueue import ChatQueues
from bot.telegram.deps import BotOptions, Deps
from bot.telegram.handlers import chat, commands, errors, images, kb, other
from bot.telegram.imagejobs import ImageDelivery
from bot.telegram.intake import DurablePolling, DurableWebhookHandler, Intake
from bot.telegram.middlewares import QuotaMiddleware, RecentlySeen, install_middlewares
from bot.telegram.outbox import Outbox, OutboxError
from bot.telegram.pastes import PasteJoiner
from bot.telegram.ratelimit import RateLimiter
from bot.telegram.startup import (
    TokenRejectedError,
    make_bot,
    patiently,
    reach_telegram,
    restore_signals,
    set_commands,
    stop_on_signals,
)

if TYPE_CHECKING:
    from bot.knowledge.base import KnowledgeBase

if TYPE_CHECKING:
    from bot.telegram.desk import SupportDesk

__all__ = ["TelegramApp", "TokenRejectedError", "make_bot"]

log = logging.getLogger(__name__)

# The stop button's update must be asked for explicitly (Bot API 10.3).
ALWAYS_ALLOWED = ("message", "callback_query", "stopped_message_generation")


class OutboxNotifier:
    """Plain replies through the Outbox, so they share the chat's pacing with answers."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    async def __call__(
        self, chat_id: int, text: str, *, reply_to: int | None = None, thread_id: int | None = None
    ) -> None:
        try:
            await self.outbox.send_text(chat_id, text, reply_to=reply_to, thread_id=thread_id)
        except (TelegramAPIError, OutboxError) as exc:
            # Blocked by the user, chat gone...: nothing to tell, nothing to retry.
            log.warning("could not send a reply to chat %s: %s", chat_id, exc)


class TelegramApp:
    def __init__(
        self,
        *,
        bot: Bot,
        sessionmaker: async_sessionmaker[AsyncSession],
        conversation: ConversationService,
        images: ImageService,
        options: BotOptions,
        allowed_users: Iterable[int] = (),
        allowed_chats: Iterable[int] = (),
        admins: Iterable[int] = (),
        rate_limit_per_minute: int = 0,
        outbox: Outbox | None = None,
        # Within Docker's 10 s between SIGTERM and SIGKILL: 6 s to finish, 3 s to finalise.
        shutdown_grace: float = 6.0,
        shutdown_settle: float = 3.0,
        image_status_interval: float = 3.0,
        knowledge: KnowledgeBase | None = None,
        desk: SupportDesk | None = None,
        members_of: int = 0,
    ) -> None:
        self.bot = bot
        self.conversation = conversation
        self.image_service = images
        self.sessionmaker = sessionmaker
        self.options = options
        self.shutdown_grace = shutdown_grace
        self.shutdown_settle = shutdown_settle
        self.outbox = outbox or Outbox(bot)
        self.queues = ChatQueues()
        self.policy = AccessPolicy.build(allowed_users, allowed_chats, admins)
        # Support desk and ALLOWED_CHAT_MEMBERS_OF (issue 17).
        self.desk = desk
        self.members_of = members_of
        self.member_lists = self.policy
        if members_of:  # the membership gate decides; the lists admit too (membership.py)
            self.policy = AccessPolicy.build((), (), admins)
        elif desk is not None and not self.policy.open:  # operators write in the support chat
            self.policy = AccessPolicy.build(
                allowed_users, [*allowed_chats, desk.chat_id], admins
            )
        self.seen = RecentlySeen(policy=self.policy)
        # Senders are stored with the claim, unless a membership check (getChatMember) must
        # admit them first: then the DatabaseMiddleware stores them after it.
        bookkeeping = None if members_of else self.seen.store_senders
        self.intake = Intake(sessionmaker, bot.id, bookkeeping=bookkeeping)
        # getUpdates answers are stored before aiogram's next call acknowledges them.
        bot.session.middleware(DurablePolling(self.intake))
        self.notify = OutboxNotifier(self.outbox)
        self.answers = Answerer(conversation=conversation, outbox=self.outbox, queues=self.queues)
        self.images = ImageDelivery(
            service=images,
            outbox=self.outbox,
            sessionmaker=sessionmaker,
            status_interval=image_status_interval,
        )
        self.deps = Deps(
            options=options,
            policy=self.policy,
            sessionmaker=sessionmaker,
            conversation=conversation,
            answers=self.answers,
            queues=self.queues,
            notify=self.notify,
            images=self.images,
            outbox=self.outbox,
            pastes=PasteJoiner(),
            seen=self.seen,
            knowledge=knowledge,
        )
        self.limiter = RateLimiter(rate_limit_per_minute)
        self.dp = self._build_dispatcher()
        self._background: set[asyncio.Task[Any]] = set()
        self.leases: ChatLeases | None = None  # several replicas: `coordinate`

    def _build_dispatcher(self) -> Dispatcher:
        # No FSM: nothing here is a dialog, and its storage lock would serialise updates.
        dp = Dispatcher(disable_fsm=True, deps=self.deps)
        install_middlewares(
            dp,
            queues=self.queues,
            intake=self.intake,
            policy=self.policy,
            sessionmaker=self.sessionmaker,
            notify=self.notify,
            seen=self.seen,
        )
        quota = QuotaMiddleware(
            self.limiter,
            self.notify,
            daily_tokens=self.options.daily_token_limit,
            daily_images=self.options.daily_image_limit,
        )
        routers = [m.build_router() for m in (errors, commands, kb, images, chat, other)]
        for router in routers[1:]:
            router.message.middleware(quota)
        self._add_desk(dp, routers)
        # errors first (it only sees errors); other last (it takes what nobody else did).
        dp.include_routers(*routers)
        return dp

    def _add_desk(self, dp: Dispatcher, routers: list[Any]) -> None:
        """Support desk (issue 17): its router right after errors (a user a person owns never
        reaches the model), the membership gate after the database middleware."""
        if self.members_of:
            from bot.telegram.membership import MembershipCache, MembershipMiddleware

            support = self.desk.chat_id if self.desk is not None else 0
            gate = MembershipMiddleware(
                MembershipCache(self.members_of), self.member_lists, self.notify, support
            )
            dp.update.outer_middleware(gate)
        if self.desk is None:
            return
        from bot.telegram.handlers import desk as desk_handlers

        dp["desk"] = self.desk
        self.answers.after_answer = self.desk.after_answer
        routers.insert(1, desk_handlers.build_router(self.desk.chat_id))

    @property
    def allowed_updates(self) -> list[str]:
        return sorted(set(self.dp.resolve_used_update_types()) | set(ALWAYS_ALLOWED))

    # -- lifecycle -------------------------------------------------------------------------------

    def coordinate(self, coordinator: Coordinator, owner: str) -> None:
        """Several replicas (REDIS_URL, webhook mode): a chat's turns run on the holder of its
        lease, and what a dead replica left undone is taken over (chatleases.py)."""
        self.conversation.track_delivery = True
        self.images.coordinate(coordinator, owner)
        self.leases = ChatLeases(
            coordinator=coordinator,
            owner=owner,
            backlog=self._backlog(),
            sessionmaker=self.sessionmaker,
        )

    def _backlog(self) -> Backlog:
        max_age = self.options.queue_max_age
        return Backlog(
            bot=self.bot,
            dp=self.dp,
            intake=self.intake,
            queues=self.queues,
            answers=self.answers,
            conversation=self.conversation,
            notify=self.notify,
            sessionmaker=self.sessionmaker,
            max_age=dt.timedelta(seconds=max_age) if max_age > 0 else None,
            stale_action="drop" if self.options.queue_stale_action == "drop" else "apologize",
        )

    async def startup(self) -> None:
        await self.set_commands()
        # Support desk (issue 17): who a person owns, before any update is handled; pending
        # relays and unfinished handoffs resume in the background.
        if self.desk is not None:
            await self.desk.start()
        # Image jobs first: the replayed /image commands below create new ones.
        await self.images.resume()
        if self.leases is not None:
            # Other replicas may be at work: only chats whose lease is free are taken over.
            await self.leases.sweep(grace=dt.timedelta(0))
            self._spawn(self.leases.sweep_forever(), "chat-sweep")
            self._spawn(self.images.sweep_forever(), "image-sweep")
        else:
            resumed = await self._backlog().resume()
            for task in resumed.feeds:
                self._keep(task)
        if self.options.retention_days > 0:
            self._spawn(
                maintenance.purge_forever(self.sessionmaker, self.options.retention_days),
                "retention",
            )
        self._spawn(maintenance.prune_updates_forever(self.sessionmaker, self.bot.id), "prune")

    async def process(self, update: Update) -> Any:
        """Accept one update through the intake and handle it (tests, embedding apps)."""
        if not await self.intake.accept([update]):
            return None
        return await self.dp.feed_update(self.bot, update)

    async def set_commands(self) -> None:
        await set_commands(self.bot)

    async def shutdown(self) -> None:
        log.info("shutting down: finishing answers (up to %.0f s)", self.shutdown_grace)
        await self.queues.drain(self.shutdown_grace, self.shutdown_settle)
        if self.leases is not None:
            await self.leases.aclose()
        await self.images.stop()
        if self.desk is not None:
            await self.desk.aclose()
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.outbox.aclose()
        log.info("shutdown complete")

    def _spawn(self, coro: Any, name: str) -> None:
        self._keep(asyncio.create_task(coro, name=name))

    def _keep(self, task: asyncio.Task[Any]) -> None:
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- runners ---------------------------------------------------------------------------------

    async def run_polling(self, polling_timeout: int = 25) -> None:
        """Long polling; nothing pending is dropped. Returns after SIGTERM/SIGINT."""
        try:
            await reach_telegram(self.bot)
            # A webhook left from an earlier run makes getUpdates fail with 409 Conflict.
            await patiently(self.bot, DeleteWebhook(drop_pending_updates=False))
            await self.startup()
            await self.dp.start_polling(
                self.bot,
                polling_timeout=polling_timeout,
                handle_as_tasks=True,
                allowed_updates=self.allowed_updates,
                handle_signals=True,
                close_bot_session=False,
            )
        finally:
            await self.shutdown()
            await self.bot.session.close()

    async def run_webhook(self, *, url: str, secret: str, host: str, port: int) -> None:
        """Serve `url`'s path on host:port; Telegram must send `secret` in the
        X-Telegram-Bot-Api-Secret-Token header (401 otherwise). Returns after SIGTERM/SIGINT."""
        path = urlsplit(url).path or "/"
        app = web.Application()
        handler = DurableWebhookHandler(
            self.dp,
            self.bot,
            handle_in_background=True,
            secret_token=secret,
            intake=self.intake,
            route=self.leases.route if self.leases is not None else None,
        )
        handler.register(app, path=path)
        runner = web.AppRunner(app, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        stop = stop_on_signals()
        try:
            await reach_telegram(self.bot)
            await self.startup()
            await site.start()
            log.info("webhook listening on %s:%s%s", host, port, path)
            register = SetWebhook(
                url=url,
                secret_token=secret,
                allowed_updates=self.allowed_updates,
                drop_pending_updates=False,
            )
            await patiently(self.bot, register)
            await stop.wait()
            log.warning("signal received: shutting down")
        finally:
            restore_signals()
            await site.stop()  # stop taking updates; Telegram keeps them until we are back
            await asyncio.gather(*handler._background_feed_update_tasks, return_exceptions=True)
            await self.shutdown()
            await runner.cleanup()  # closes the bot session (SimpleRequestHandler.close)
