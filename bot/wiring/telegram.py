"""The Telegram front built from plain values and built services: access, the durable intake,
the chat queues, answers, images, 👍/👎, the Dispatcher and (several webhook replicas) the chat
leases, handed to a TelegramApp that only starts and stops them. `fmbot run` calls this from
run.py; tests call it with their own parts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from bot.storage.outage import outage_of
from bot.telegram.access import AccessPolicy
from bot.telegram.answer_parts import AfterDelivery, FinalForm
from bot.telegram.answers import Answerer
from bot.telegram.app import TelegramApp
from bot.telegram.backlog import Backlog
from bot.telegram.chatqueue import ChatQueues
from bot.telegram.deps import BotOptions, Deps
from bot.telegram.dispatching import FeatureRouters, build_dispatcher
from bot.telegram.featureparts import FrontParts, TelegramFeature, TelegramPart
from bot.telegram.intake import DurablePolling, Intake
from bot.telegram.lifecycle import BotService
from bot.telegram.middlewares import RecentlySeen
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
    from bot.coordination import Coordinator
    from bot.features.business.replies import BusinessOptions
    from bot.features.desk.telegram import SupportDesk
    from bot.features.desk.telegram.feedback import AnswerFeedback
    from bot.features.guest.answering import GuestAnswers
    from bot.features.guest.telegram import GuestQueries
    from bot.features.voice.replies import VoiceReplies
    from bot.menu import MenuCommand
    from bot.telegram.media import MediaSupport

Menu = dict[str, dict[str, str]]


def menu_of(commands: Sequence[MenuCommand]) -> Menu:
    """The App's menu commands: name -> description by language (/help and the desk list
    them too)."""
    return {c.name: {"en": c.description, "ru": c.description_ru or c.description}
            for c in commands}


def build_telegram(
    *,
    bot: Bot,
    sessionmaker: async_sessionmaker[AsyncSession],
    conversation: ConversationService,
    options: BotOptions,
    allowed_users: Iterable[int] = (),
    allowed_chats: Iterable[int] = (),
    admins: Iterable[int] = (),
    rate_limit_per_minute: int = 0,
    outbox: Outbox | None = None,
    shutdown_grace: float = 6.0,
    shutdown_settle: float = 3.0,
    desk: SupportDesk | None = None,
    members_of: int = 0,
    feedback_buttons: bool = False,
    media: MediaSupport | None = None,
    routers: Sequence[Router] = (),
    commands: Sequence[MenuCommand] = (),
    coordinator: Coordinator | None = None,
    owner: str = "",
    live_replicas: Callable[[], int] = lambda: 1,
    voice: VoiceReplies | None = None,
    guest: GuestAnswers | None = None,
    guest_edit_interval: float = 1.0,
    final_forms: Sequence[FinalForm] = (),
    business: BusinessOptions | None = None,
    features: Sequence[TelegramFeature] = (),
) -> TelegramApp:
    """The TelegramApp of these parts. `coordinator` (several webhook replicas): a chat's turns
    run on the holder of its lease (chatleases.py); `conversation` must then track delivery.
    `voice`: answers spoken (VOICE_REPLIES) and /voice; `guest`: guest queries answered
    (GUEST_MODE), their answer's edits at most one per `guest_edit_interval` seconds;
    `final_forms`: other forms of a finished answer than its text (RICH_MESSAGES:
    bot/features/rich); `features`: the features built on the front's parts (TelegramFeature:
    /image, the tool loop's cards and presses, ...)."""
    if coordinator is not None and not conversation.track_delivery:
        raise ValueError("several replicas: the conversation must track delivery")
    outbox = outbox or Outbox(bot)
    queues = ChatQueues()
    policy, member_lists = access_of(allowed_users, allowed_chats, admins, members_of, desk)
    seen = RecentlySeen(policy=policy)
    # Senders are stored with the claim, unless a membership check (getChatMember) must
    # admit them first: then the DatabaseMiddleware stores them after it.
    intake = Intake(sessionmaker, bot.id, bookkeeping=None if members_of else seen.store_senders)
    # getUpdates answers are stored before aiogram's next call acknowledges them.
    bot.session.middleware(DurablePolling(intake))
    notify = OutboxNotifier(outbox)
    # 👍/👎 under every answer (KB_MODE=strict): the desk draws them when there is one.
    feedback = None
    if feedback_buttons and desk is None:
        feedback = answer_feedback(sessionmaker, outbox)
    parts = [build(FrontParts(bot=bot, sessionmaker=sessionmaker, outbox=outbox, notify=notify,
                              coordinator=coordinator, owner=owner))
             for build in features]
    after: list[AfterDelivery] = [hook for hook in (desk or feedback, voice) if hook is not None]
    after += [part.after_delivery for part in parts if part.after_delivery is not None]
    calls = next((part.calls for part in parts if part.calls is not None), None)
    answers = Answerer(conversation=conversation, outbox=outbox, queues=queues,
                       after_delivery=after, calls=calls, final_forms=final_forms)
    replicas = None
    if coordinator is not None:
        from bot.telegram.chatsignals import ReplicaRequests

        replicas = ReplicaRequests()
    deps = Deps(
        options=options, policy=policy, sessionmaker=sessionmaker, conversation=conversation,
        answers=answers, queues=queues, notify=notify, outbox=outbox,
        pastes=PasteJoiner(), seen=seen, replicas=replicas,
        media=media,
        takes=tuple(key for part in parts for key in part.takes), menu=menu_of(commands),
        voice=voice,
        notices=PersonalNotices(outbox),
    )
    if routers:  # the App's routers call Telegram through the outbox's pacing (added.py)
        from bot.telegram.added import PacedCalls

        bot.session.middleware(PacedCalls(outbox))
    # Several replicas: one limit per user across them (the coordination store).
    limiter = RateLimiter(rate_limit_per_minute, coordinator=coordinator)
    guests = None
    if guest is not None:
        from bot.features.guest.telegram import GuestQueries

        guests = GuestQueries(guest, limiter, outbox=outbox, edit_interval=guest_edit_interval,
                              shutdown_grace=shutdown_grace)
    front: list[Router] = []
    if business is not None:  # chat automation: BUSINESS_REPLIES
        front.append(business_router(business, conversation, outbox, limiter, policy,
                                     sessionmaker))
    dp = build_dispatcher(
        deps, intake=intake, limiter=limiter,
        features=feature_routers(desk, feedback, guests, front, parts, voice),
        members_of=members_of, member_lists=member_lists,
        support_chat_id=desk.chat_id if desk is not None else 0, added_routers=tuple(routers),
    )
    max_age = options.queue_max_age
    backlog = Backlog(
        bot=bot, dp=dp, intake=intake, queues=queues, answers=answers,
        notify=notify, sessionmaker=sessionmaker,
        max_age=dt.timedelta(seconds=max_age) if max_age > 0 else None,
        stale_action="drop" if options.queue_stale_action == "drop" else "apologize",
    )
    leases = None
    if coordinator is not None:
        from bot.telegram.chatleases import ChatLeases

        leases = ChatLeases(coordinator=coordinator, owner=owner, backlog=backlog,
                            sessionmaker=sessionmaker, requests=replicas,
                            replicas=live_replicas)
    # Past DATABASE_OUTAGE_GRACE of a database outage, the chats waiting are told once.
    notices = OutageNotices(outage_of(sessionmaker), notify, coordinator=coordinator, owner=owner)
    # Started in this order (the desk before anything is handled, image jobs before replayed
    # /image commands), stopped in the reverse one.
    services: list[BotService] = [s for s in (desk, voice) if s is not None]
    services += [service for part in parts for service in part.services]
    services += [service for part in parts if part.services_on is not None
                 for service in part.services_on(deps)]
    if guests is not None:  # stopped first: its answers finish before the outbox closes
        services.append(guests)
    return TelegramApp(
        bot=bot, dp=dp, deps=deps, backlog=backlog, leases=leases, notices=notices,
        services=services, shutdown_grace=shutdown_grace, shutdown_settle=shutdown_settle,
    )


def feature_routers(
    desk: SupportDesk | None,
    feedback: AnswerFeedback | None,
    guests: GuestQueries | None = None,
    first: Sequence[Router] = (),
    parts: Sequence[TelegramPart] = (),
    voice: VoiceReplies | None = None,
) -> FeatureRouters:
    """The features' routers, in the order they see updates (dispatching.py). `guests`:
    guest queries (a `guest_message` router: no other router sees those updates); `first`:
    more front routers, before those (chat automation's); `parts`: the features built on
    the front's parts, their routers after the others of their kind; `voice`: spoken
    answers, for /voice."""
    from bot.features.voice import handlers as voice_handlers
    from bot.telegram.handlers import media

    front: list[Router] = list(first)
    if guests is not None:
        front.append(guests.build_router())
    data: dict[str, object] = {key: value for part in parts for key, value in part.data.items()}
    if desk is not None:
        from bot.features.desk.telegram import handlers as desk_handlers

        front.append(desk_handlers.build_router(desk.chat_id))
        data["desk"] = desk
    elif feedback is not None:  # 👍/👎 without a desk (KB_MODE=strict)
        from bot.features.desk.telegram import feedback as feedback_handlers

        front.append(feedback_handlers.build_router())
        data["feedback"] = feedback
    return FeatureRouters(
        front=[*front, *(router for part in parts for router in part.front)],
        early=[voice_handlers.build_router(voice),
               *(router for part in parts for router in part.early)],
        late=[media.build_router(),
              *(router for part in parts for router in part.late)],
        data=data,
    )


def business_router(
    options: BusinessOptions,
    conversation: ConversationService,
    outbox: Outbox,
    limiter: RateLimiter,
    policy: AccessPolicy,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> Router:
    """Chat automation (bot/features/business): its updates, presses and /business."""
    from bot.features.business.replies import BusinessReplies
    from bot.features.business.store import BusinessStore
    from bot.features.business.telegram import BusinessUpdates

    replies = BusinessReplies(BusinessStore(sessionmaker), conversation, outbox, limiter,
                              mode=options.mode, takeover=options.takeover)
    return BusinessUpdates(replies, policy).build_router()


def access_of(
    allowed_users: Iterable[int],
    allowed_chats: Iterable[int],
    admins: Iterable[int],
    members_of: int,
    desk: SupportDesk | None,
) -> tuple[AccessPolicy, AccessPolicy]:
    """Who may write (the middlewares' policy), and the ALLOWED_* lists as configured (the
    membership gate admits by them too, membership.py)."""
    users, chats, admins = list(allowed_users), list(allowed_chats), list(admins)
    lists = AccessPolicy.build(users, chats, admins)
    if members_of:  # the membership gate decides; the lists admit too
        return AccessPolicy.build((), (), admins), lists
    if desk is not None and not lists.open:  # operators write in the support chat
        return AccessPolicy.build(users, [*chats, desk.chat_id], admins), lists
    return lists, lists


def answer_feedback(
    sessionmaker: async_sessionmaker[AsyncSession], outbox: Outbox
) -> AnswerFeedback:
    """👍/👎 under every answer in KB_MODE=strict without a desk, recorded in the desk's
    tables."""
    from bot.features.desk.domain import DeskService
    from bot.features.desk.telegram.feedback import AnswerFeedback

    return AnswerFeedback(DeskService(sessionmaker, support_chat_id=0), outbox)
