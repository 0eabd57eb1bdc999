"""The Telegram front built from plain values and built services: access, the durable intake,
the chat queues, answers, images, 👍/👎, the Dispatcher and (several webhook replicas) the chat
leases, handed to a TelegramApp that only starts and stops them. `fmbot run` calls this from
run.py; tests call it with their own parts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from bot.conversation.types import SignedIn
from bot.storage.outage import outage_of
from bot.telegram.access import Access
from bot.telegram.admission import Gatekeeper, either
from bot.telegram.answer_parts import FinalForm
from bot.telegram.answers import Answerer
from bot.telegram.app import TelegramApp
from bot.telegram.backlog import Backlog
from bot.telegram.chatqueue import ChatQueues
from bot.telegram.deps import BotOptions, Cluster, Deps
from bot.telegram.dispatching import FeatureRouters, build_dispatcher
from bot.telegram.featureparts import FrontParts, TelegramPart
from bot.telegram.gathering import HOLD
from bot.telegram.intake import DurablePolling, Intake
from bot.telegram.lifecycle import BotService
from bot.telegram.membership import MembershipCache
from bot.telegram.middlewares import RecentlySeen, StoredStandings
from bot.telegram.notices import PersonalNotices
from bot.telegram.notifier import OutboxNotifier
from bot.telegram.outagenotice import OutageNotices
from bot.telegram.outbox import Outbox
from bot.telegram.pastes import PasteJoiner
from bot.telegram.ratelimit import RateLimiter

if TYPE_CHECKING:
    from aiogram import Bot, Router
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from bot.conversation import ConversationService

class TelegramFront:
    """The Telegram front, built in two steps: its own parts first (`parts`, what the
    features' parts on the front are built on: the bot, the outbox, the conversation, the rate
    limiter...), then the whole front with the features' parts (`app`). `cluster` (several
    webhook replicas): a chat's turns run on the holder of its lease (chatleases.py);
    `conversation` must then track delivery. `unlimited`: users RATE_LIMIT_PER_MINUTE does not
    count (simulated customers)."""

    def __init__(
        self,
        *,
        bot: Bot,
        sessionmaker: async_sessionmaker[AsyncSession],
        conversation: ConversationService,
        options: BotOptions,
        access: Access | None = None,
        outbox: Outbox | None = None,
        cluster: Cluster | None = None,
        unlimited: Callable[[int], bool] | None = None,
    ) -> None:
        if cluster is not None and not conversation.track_delivery:
            raise ValueError("several replicas: the conversation must track delivery")
        self.bot, self.sessionmaker, self.conversation = bot, sessionmaker, conversation
        self.options, self.cluster = options, cluster
        coordinator = cluster.coordinator if cluster is not None else None
        owner = cluster.owner if cluster is not None else ""
        self.outbox = outbox = outbox or Outbox(bot)
        self.access = access = access or Access()  # no lists: everyone may write
        self.policy, _ = access.policies()
        self.seen = seen = RecentlySeen(policy=self.policy)
        # Senders are stored with the claim, unless a membership check (getChatMember) must
        # admit them first: then the DatabaseMiddleware stores them after it.
        self.intake = intake = Intake(sessionmaker, bot.id, bookkeeping=None
                                      if access.members_of else seen.store_senders)
        self.queues = ChatQueues(arriving=lambda chat_id: intake.arriving(chat_id, within=HOLD))
        # getUpdates answers are stored before aiogram's next call acknowledges them.
        bot.session.middleware(DurablePolling(intake))
        notify = OutboxNotifier(outbox)
        # Several replicas: one limit per user across them (the coordination store).
        self.limiter = RateLimiter(options.rate_limit_per_minute, coordinator=coordinator,
                                   exempt=unlimited)
        self.parts = FrontParts(bot=bot, sessionmaker=sessionmaker, outbox=outbox,
                                notify=notify, conversation=conversation, limiter=self.limiter,
                                shutdown_grace=options.shutdown_grace,
                                coordinator=coordinator, owner=owner)

    def app(
        self,
        parts: Sequence[TelegramPart] = (),
        *,
        routers: Sequence[Router] = (),
        menu: Mapping[str, Mapping[str, str]] | None = None,
        final_forms: Sequence[FinalForm] = (),
        web_listen: tuple[str, int] | None = None,
        signed_in: SignedIn | None = None,
    ) -> TelegramApp:
        """The TelegramApp of the front with the features' `parts` (chat automation, guest
        mode, the desk, voice, /image, the tool loop's cards and presses, ...), each put in its
        place in this order. `routers` and `menu`: what the features registered (the App's
        and its plugins' routers; every feature's menu commands, name -> description by
        language); `final_forms`: other forms of a finished answer than its text
        (RICH_MESSAGES: bot/features/rich). `web_listen`: where the bot's own web server
        serves the features' pages (WEB_LISTEN, polling mode); None: the webhook's server
        serves them, or none does. `signed_in`: employees the test kit or `fmbot eval` signed
        in, asked before the identity feature's own (a simulated customer of a case with
        `groups`, `tester.user(groups=...)`)."""
        bot, sessionmaker, conversation = self.bot, self.sessionmaker, self.conversation
        options, cluster, outbox, access = self.options, self.cluster, self.outbox, self.access
        coordinator, owner = self.parts.coordinator, self.parts.owner
        notify, queues, intake, seen = self.parts.notify, self.queues, self.intake, self.seen
        policy, members_of, limiter = self.policy, access.members_of, self.limiter
        after = [part.after_delivery for part in parts if part.after_delivery is not None]
        answers = Answerer(
            conversation=conversation, outbox=outbox, queues=queues, after_delivery=after,
            notes=[part.notes for part in parts if part.notes is not None],
            suspensions=[part.suspension for part in parts if part.suspension is not None],
            final_forms=final_forms)
        replicas = None
        if coordinator is not None:
            from bot.telegram.chatsignals import ReplicaRequests

            replicas = ReplicaRequests()
        deps = Deps(
            options=options, policy=policy, sessionmaker=sessionmaker, conversation=conversation,
            answers=answers, queues=queues, notify=notify, outbox=outbox,
            pastes=PasteJoiner(), seen=seen, replicas=replicas,
            takes=tuple(key for part in parts for key in part.takes),
            menu={name: dict(descriptions) for name, descriptions in (menu or {}).items()},
            lines=tuple(part.lines for part in parts if part.lines is not None),
            notices=PersonalNotices(outbox),
        )
        if routers:  # the App's routers call Telegram through the outbox's pacing (added.py)
            from bot.telegram.added import PacedCalls

            bot.session.middleware(PacedCalls(outbox))
        gate = Gatekeeper(
            access,
            membership=MembershipCache(members_of, ttl=access.members_ttl) if members_of else None,
            owners=next((part.owners for part in parts if part.owners is not None), None),
            employees=either(signed_in,
                             next((p.employees for p in parts if p.employees is not None), None)),
            standings=StoredStandings(sessionmaker, seen),
        )
        dp = build_dispatcher(
            deps, intake=intake, limiter=limiter, gate=gate, features=feature_routers(parts),
            added_routers=tuple(routers),
        )
        max_age = options.queue_max_age
        backlog = Backlog(
            bot=bot, dp=dp, intake=intake, queues=queues, answers=answers,
            notify=notify, sessionmaker=sessionmaker,
            max_age=dt.timedelta(seconds=max_age) if max_age > 0 else None,
            stale_action="drop" if options.queue_stale_action == "drop" else "apologize",
            policy=policy,
            employees=gate.employees,
        )
        leases = None
        if cluster is not None:
            from bot.telegram.chatleases import ChatLeases

            leases = ChatLeases(coordinator=cluster.coordinator, owner=owner, backlog=backlog,
                                sessionmaker=sessionmaker, requests=replicas,
                                replicas=cluster.live)
        # Past DATABASE_OUTAGE_GRACE of a database outage, the chats waiting are told once.
        notices = OutageNotices(outage_of(sessionmaker), notify, coordinator=coordinator,
                                owner=owner)
        # Started in this order (the desk before anything is handled, image jobs before
        # replayed /image commands), stopped in the reverse one.
        services: list[BotService] = [service for part in parts for service in part.services]
        services += [service for part in parts if part.services_on is not None
                     for service in part.services_on(deps)]
        # Stopped first (guest mode's): their answers finish before the outbox closes.
        services += [service for part in parts for service in part.stops_first]
        web = [add for part in parts for add in part.web]
        if web_listen is not None and web:
            from bot.wiring.webserver import WebServer

            services.append(WebServer(web, *web_listen))
        return TelegramApp(
            bot=bot, dp=dp, deps=deps, backlog=backlog, leases=leases, notices=notices,
            services=services, web=web,
            shutdown_grace=options.shutdown_grace,
            shutdown_settle=options.shutdown_settle,
        )


def build_telegram(
    *,
    bot: Bot,
    sessionmaker: async_sessionmaker[AsyncSession],
    conversation: ConversationService,
    options: BotOptions,
    access: Access | None = None,
    outbox: Outbox | None = None,
    routers: Sequence[Router] = (),
    menu: Mapping[str, Mapping[str, str]] | None = None,
    cluster: Cluster | None = None,
    final_forms: Sequence[FinalForm] = (),
    features: Sequence[Callable[[FrontParts], TelegramPart]] = (),
    unlimited: Callable[[int], bool] | None = None,
    web_listen: tuple[str, int] | None = None,
    signed_in: SignedIn | None = None,
) -> TelegramApp:
    """`TelegramFront` in one call, for tests that build a front of their own: `features`
    make their parts on its own (`lambda front: voice_on_telegram(front, ...)`)."""
    front = TelegramFront(bot=bot, sessionmaker=sessionmaker, conversation=conversation,
                          options=options, access=access, outbox=outbox, cluster=cluster,
                          unlimited=unlimited)
    return front.app([make(front.parts) for make in features], routers=routers, menu=menu,
                     final_forms=final_forms, web_listen=web_listen, signed_in=signed_in)


def feature_routers(parts: Sequence[TelegramPart] = ()) -> FeatureRouters:
    """The features' routers, in the order they see updates (dispatching.py): each kind's in
    the order of `parts`."""
    data: dict[str, object] = {key: value for part in parts for key, value in part.data.items()}
    return FeatureRouters(
        front=[router for part in parts for router in part.front],
        early=[router for part in parts for router in part.early],
        late=[router for part in parts for router in part.late],
        data=data,
    )
