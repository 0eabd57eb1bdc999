"""A feature's part on the Telegram front: the feature builds it from what the front gives
(`FrontParts`), and `build_telegram` (bot/wiring/telegram.py) puts each part in its place
without naming the feature: its routers where they see updates (dispatching.py), its hook
after an answer is delivered (answer_parts.py), its services started and stopped with the
bot (lifecycle.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiogram import Bot, Router
    from aiohttp import web
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from bot.conversation import ConversationService
    from bot.coordination import Coordinator
    from bot.telegram.admission import ConnectionOwners, Employees
    from bot.telegram.answer_parts import AfterDelivery, StreamNote, Suspension
    from bot.telegram.deps import Deps, UsageLines
    from bot.telegram.lifecycle import BotService
    from bot.telegram.notifier import Notifier
    from bot.telegram.outbox import Outbox
    from bot.telegram.ratelimit import RateLimiter


@dataclass(frozen=True, slots=True)
class FrontParts:
    """What the front gives a feature to build its part on. `conversation`: the turns (chat
    automation answers through it); `limiter`: the users' rate limit; `shutdown_grace`:
    seconds the answers under way get at shutdown; `coordinator` and `owner`: with several
    replicas, the coordination store and this replica's name (None and "" alone)."""

    bot: Bot
    sessionmaker: async_sessionmaker[AsyncSession]
    outbox: Outbox
    notify: Notifier
    conversation: ConversationService
    limiter: RateLimiter
    shutdown_grace: float = 6.0
    coordinator: Coordinator | None = None
    owner: str = ""


@dataclass(frozen=True, slots=True)
class TelegramPart:
    """A feature on Telegram. Routers by where they see updates (`FeatureRouters` in
    dispatching.py says where each list goes); `data`: what its handlers get injected by
    name; `after_delivery`: told of every delivered answer; `notes`: a line under an
    answer's streaming text (the running calls); `suspension`: how an answer it suspended
    shows (the tool loop's cards waiting for a press); `services`: started with
    the bot in this order, stopped in the reverse one; `services_on`: more of them that need
    what the handlers get (the answerer, the chat queues), built once that is; `takes`: the
    texts' keys of what the bot takes besides text thanks to it, listed by /help;
    `stops_first`: services started after every other and stopped before them (their
    answers finish before the outbox closes); `lines`: what /help and /stats say of it
    (its menu commands it registers when it is set up: `FeatureSetup.command`); `owners`:
    who owns a business connection (the admission gate judges the owner of every business
    update by it; without it no business update is admitted); `web`: what it adds to the
    webhook's web server in webhook mode (the console's pages), each given the server's
    aiohttp application before it starts."""

    front: Sequence[Router] = ()
    early: Sequence[Router] = ()
    late: Sequence[Router] = ()
    data: Mapping[str, object] = field(default_factory=dict)
    after_delivery: AfterDelivery | None = None
    notes: StreamNote | None = None
    suspension: Suspension | None = None
    services: Sequence[BotService] = ()
    services_on: Callable[[Deps], Sequence[BotService]] | None = None
    takes: Sequence[str] = ()
    stops_first: Sequence[BotService] = ()
    lines: UsageLines | None = None
    owners: ConnectionOwners | None = None
    # Who a user is signed in as (the identity feature): the Principal's employee.
    employees: Employees | None = None
    web: Sequence[Callable[[web.Application], None]] = ()

