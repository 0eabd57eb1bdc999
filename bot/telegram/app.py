"""The Telegram application: Bot, Dispatcher (dispatching.py), the answer, image and desk
services around it; polling and webhook (webhook.py) runners with graceful shutdown.

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
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from aiogram import Bot, Router
from aiogram.methods import DeleteWebhook
from aiogram.types import Update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.conversation import ConversationService
from bot.coordination import Coordinator
from bot.coordination.stopping import stop_tasks
from bot.images import ImageService
from bot.telegram import maintenance
from bot.telegram.access import AccessPolicy
from bot.telegram.answers import Answerer
from bot.telegram.backlog import Backlog
from bot.telegram.chatleases import ChatLeases
from bot.telegram.chatqueue import ChatQueues
from bot.telegram.deps import BotOptions, Deps
from bot.telegram.dispatching import build_dispatcher
from bot.telegram.imagejobs import ImageDelivery
from bot.telegram.intake import DurablePolling, Intake
from bot.telegram.middlewares import RecentlySeen
from bot.telegram.notifier import OutboxNotifier
from bot.telegram.outbox import Outbox
from bot.telegram.pastes import PasteJoiner
from bot.telegram.ratelimit import RateLimiter
from bot.telegram.startup import (
    TokenRejectedError,
    make_bot,
    patiently,
    reach_telegram,
    set_commands,
)
from bot.telegram.warmup import warm_models
from bot.telegram.webhook import serve_webhook

if TYPE_CHECKING:
    from bot.knowledge.base import KnowledgeBase
    from bot.telegram.media import MediaSupport

if TYPE_CHECKING:
    from bot.menu import MenuCommand
    from bot.telegram.desk import SupportDesk
    from bot.telegram.feedback import AnswerFeedback

__all__ = ["TelegramApp", "TokenRejectedError", "make_bot"]

log = logging.getLogger(__name__)

# The stop button's update must be asked for explicitly (Bot API 10.3).
ALWAYS_ALLOWED = ("message", "callback_query", "stopped_message_generation")


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
        feedback_buttons: bool = False,
        media: MediaSupport | None = None,
        routers: Sequence[Router] = (),
        commands: Sequence[MenuCommand] = (),
    ) -> None:
        self.bot = bot
        self.conversation = conversation
        self.image_service = images
        self.sessionmaker = sessionmaker
        self.options = options
        self.shutdown_grace = shutdown_grace
        self.stopping = False  # set at SIGTERM: /readyz answers 503 (bot/metrics/server.py)
        self.shutdown_settle = shutdown_settle
        self.outbox = outbox or Outbox(bot)
        self.queues = ChatQueues()
        self.policy = AccessPolicy.build(allowed_users, allowed_chats, admins)
        # Support desk and ALLOWED_CHAT_MEMBERS_OF.
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
        if conversation.tools is not None:  # a new message takes the buttons off its cards
            conversation.tools.on_superseded = self.answers.cards_superseded
        # 👍/👎 under every answer in KB_MODE=strict (`feedback_buttons`): the desk draws them
        # when there is one, else AnswerFeedback records them in the desk's tables.
        self.feedback: AnswerFeedback | None = None
        if feedback_buttons and desk is None:
            from bot.desk import DeskService
            from bot.telegram.feedback import AnswerFeedback

            self.feedback = AnswerFeedback(DeskService(sessionmaker, support_chat_id=0),
                                           self.outbox)
        self.images = ImageDelivery(
            service=images,
            outbox=self.outbox,
            sessionmaker=sessionmaker,
            status_interval=image_status_interval,
        )
        self.menu = {c.name: {"en": c.description, "ru": c.description_ru or c.description}
                     for c in commands}  # fmt: skip
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
            media=media,
            menu=self.menu,
        )
        self.limiter = RateLimiter(rate_limit_per_minute)
        # The App's routers and menu commands: see added.py.
        self.added_routers = tuple(routers)
        if desk is not None:
            desk.menu_extra = self.menu
        if self.added_routers:
            from bot.telegram.added import PacedCalls

            bot.session.middleware(PacedCalls(self.outbox))
        self.dp = build_dispatcher(self)
        self._background: set[asyncio.Task[Any]] = set()
        self.leases: ChatLeases | None = None  # several replicas: `coordinate`

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
        self.deps.signals = self.leases.signals  # the stop button reaches the streaming replica
        self.deps.offer_chat = self.leases.offer  # a pressed tool turn goes on at the holder

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
        warm_models()  # off the first users' path (warmup.py)
        await self.set_commands()
        # Support desk: who a person owns, before any update is handled; pending
        # relays and unfinished handoffs resume in the background.
        if self.desk is not None:
            await self.desk.start()
        # Image jobs first: the replayed /image commands below create new ones.
        await self.images.resume()
        if self.leases is not None:
            # Other replicas may be at work: only chats whose lease is free are taken over.
            self.leases.start()  # wakes and stops from the other replicas
            await self.leases.sweep(grace=dt.timedelta(0))
            self._spawn(self.leases.sweep_forever(), "chat-sweep")
            self._spawn(self.images.sweep_forever(), "image-sweep")
        else:
            resumed = await self._backlog().resume()
            for task in resumed.feeds:
                self._keep(task)
            if self.deps.voice is not None:  # voice replies a restart cut short
                self._spawn(self.deps.voice.resume(), "voice-resume")
        if self.options.retention_days > 0:
            self._spawn(
                maintenance.purge_forever(self.sessionmaker, self.options.retention_days),
                "retention",
            )
        self._spawn(maintenance.prune_updates_forever(self.sessionmaker, self.bot.id), "prune")
        tools = self.conversation.tools
        if tools is not None and tools.toolbox:  # tools: expired confirmations
            from bot.telegram.handlers.tools import expire_forever

            interval = min(30.0, max(0.05, tools.settings.confirm_ttl / 4))
            self._spawn(expire_forever(self.deps, interval), "tool-expiry")

    async def process(self, update: Update) -> Any:
        """Accept one update through the intake and handle it (tests, embedding apps)."""
        if not await self.intake.accept([update]):
            return None
        return await self.dp.feed_update(self.bot, update)

    async def set_commands(self) -> None:
        await set_commands(self.bot, self.menu)

    async def shutdown(self) -> None:
        self.stopping = True
        log.info("shutting down: finishing answers (up to %.0f s)", self.shutdown_grace)
        await self.queues.drain(self.shutdown_grace, self.shutdown_settle)
        if self.leases is not None:
            await self.leases.aclose()
        await self.images.stop()
        if self.desk is not None:
            await self.desk.aclose()
        await stop_tasks(*self._background)  # sweeps call Redis (coordination/stopping.py)
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
            await self.poll(polling_timeout)
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
        messages stay in the durable queue, image jobs and desk relays stay pending for the
        new poller. The outbox stays open for the next term. `poll` may run again after."""
        await self.queues.abandon_all(self.shutdown_settle)
        await self.images.stop()
        if self.desk is not None:
            await self.desk.aclose(grace=1.0)  # a copy under way is recorded, not resent
        await stop_tasks(*self._background)  # sweeps call Redis (coordination/stopping.py)

    async def run_webhook(self, *, url: str, secret: str, host: str, port: int) -> None:
        """Serve `url`'s path on host:port (webhook.py). Returns after SIGTERM/SIGINT."""
        await serve_webhook(self, url=url, secret=secret, host=host, port=port)
