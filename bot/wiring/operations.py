"""What runs beside the bot for operators: coordination with other replicas (REDIS_URL), the
metrics and health endpoints (METRICS_LISTEN), and telemetry hooks. Part of the composition
root: built from Settings by `run_bot` (run.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import text

from bot.config import ConfigError
from bot.coordination import (
    CoordinationUnavailableError,
    Coordinator,
    Leadership,
    SharedGenerationLimit,
)
from bot.coordination.census import Census
from bot.features.settings import Settings
from bot.foundation_models.limits import GenerationLimit
from bot.log import Scrubber
from bot.metrics import registry as metrics
from bot.metrics.server import Probe, Readiness, serve_metrics
from bot.storage.database import Database
from bot.telegram.app import TelegramApp
from bot.telegram.outbox import gauges
from bot.telegram.outbox.shared import SharedBudget
from bot.telegram.outbox.shareddrafts import SharedAdaptiveBudget
from bot.telegram.telemetry import install_telemetry
from bot.wiring.preflight import secrets_of

if TYPE_CHECKING:
    from aiogram import Bot

    from bot.plugin.feature import Feature
    from bot.telegram.outbox import Outbox, Pacing
    from bot.telegram.outbox.budget import BotBudget

log = logging.getLogger("bot")


class Limited(Protocol):
    """A model client with a generation cap (whose waiters are a gauge)."""

    @property
    def generation_limit(self) -> GenerationLimit: ...


def build_outbox(
    settings: Settings,
    bot: Bot,
    shared: Shared | None = None,
    pacing: Callable[[Pacing], Pacing] | None = None,
) -> Outbox:
    """The outbound scheduler: its pacing from TELEGRAM_*, its budgets shared with the other
    replicas when `shared`. `pacing`: changes that pacing (bot.testing shrinks Telegram's
    intervals)."""
    from bot.telegram.outbox import Outbox, Pacing

    configured = Pacing(
        draft_interval=settings.telegram_draft_interval,
        draft_recovery=settings.telegram_draft_recovery,
        final_preview=settings.telegram_final_preview,
        frame_grace=settings.telegram_frame_grace,
        draft_rate=settings.telegram_draft_rate,
        draft_rate_floor=settings.telegram_draft_rate_floor,
    )
    messages, drafts = outbox_budgets(settings, shared)
    return Outbox(bot, pacing(configured) if pacing is not None else configured,
                  message_budget=messages, draft_budget=drafts)


def limited(*models: object) -> list[Limited]:
    """The model clients among `models` (each once) with a generation cap."""
    from bot.foundation_models.client import FoundationModelsClient
    from bot.foundation_models.openai_compat import OpenAICompatibleChatModel
    from bot.foundation_models.responses import ResponsesChatModel

    kinds = (FoundationModelsClient, OpenAICompatibleChatModel, ResponsesChatModel)
    found: list[Limited] = []
    for model in models:
        if isinstance(model, kinds) and not any(
            model is seen for seen in found
        ):
            found.append(model)
    return found


@dataclass(slots=True)
class Shared:
    """What this replica shares with the others (REDIS_URL): the coordinator, the census of
    live replicas, and the budgets built on them (closed with it)."""

    coordinator: Coordinator
    census: Census
    # Every replica's generations at once (YANDEX_MAX_CONCURRENT_GENERATIONS), for the clients.
    generation_limit: SharedGenerationLimit
    budgets: list[SharedBudget | SharedAdaptiveBudget] = field(default_factory=list)


# Replicas assumed when the census has not counted yet (Redis down at start): a deployment
# that sets REDIS_URL runs at least two, and a share too small is slower, never a flood.
MIN_REPLICAS = 2


@asynccontextmanager
async def coordination(settings: Settings, bot: Bot) -> AsyncIterator[Shared | None]:
    """The Redis coordinator (REDIS_URL), or None: one process, nothing shared."""
    if not settings.redis_url:
        yield None
        return
    from bot.coordination.redisstore import RedisCoordinator

    # Keys per bot: several bots may share one Redis.
    try:
        coordinator = RedisCoordinator.from_url(settings.redis_url, prefix=f"fmbot:{bot.id}:")
    except ValueError as exc:
        raise ConfigError(f"REDIS_URL: {exc}") from None
    census = Census(coordinator, settings.replica_id, minimum=MIN_REPLICAS)
    cap = SharedGenerationLimit(coordinator, settings.yandex_max_concurrent_generations,
                                replicas=lambda: census.known)
    shared = Shared(coordinator, census, cap)
    try:
        try:
            log.info("replica %s coordinates through Redis (%d replicas live)",
                     settings.replica_id, await census.count())
        except CoordinationUnavailableError as exc:
            log.warning("%s at start; assuming %d replicas", exc, census.known)
        census.start()
        yield shared
    finally:
        for budget in shared.budgets:
            await budget.aclose()
        await cap.aclose()
        await census.stop()
        await coordinator.aclose()


def outbox_budgets(
    settings: Settings, shared: Shared | None
) -> tuple[BotBudget | None, BotBudget | None]:
    """The Outbox's bot-wide budgets of messages and of drafts: None (its own, in-process)
    without Redis; with it, messages through a shared rolling window (and each chat's
    bucket), and drafts at this replica's share of TELEGRAM_DRAFT_RATE, a draft 429 lowering
    every replica's rate (shareddrafts.py)."""
    if shared is None:
        return None, None
    census = shared.census
    budget = SharedBudget(shared.coordinator, limit=30, replicas=lambda: census.known)
    share = settings.telegram_draft_rate / census.known
    drafts_budget = SharedAdaptiveBudget(
        shared.coordinator,
        share,
        floor=settings.telegram_draft_rate_floor / census.known,
        recovery=settings.telegram_draft_recovery,
        burst=max(1.0, share / 10),  # as the Outbox's own: a tenth of a second at once
    )
    drafts_budget.start()
    shared.budgets.extend([budget, drafts_budget])  # closed with the coordination
    return budget, drafts_budget


@dataclass(frozen=True, slots=True)
class Operations:
    replica_id: str
    coordinator: Coordinator | None  # None: one process, nothing shared
    readiness: Readiness | None = None  # /readyz's probes (METRICS_LISTEN)

    async def run_polling(
        self,
        app: TelegramApp,
        *,
        stop: asyncio.Event | None = None,
        started: asyncio.Event | None = None,
    ) -> None:
        """Poll alone, or (with Redis) only while this replica holds the poller's lease; until
        SIGTERM/SIGINT, or `stop` when given. `started`: set once running."""
        if self.coordinator is None:
            await app.run_polling(stop=stop, started=started)
            return
        from bot.telegram.leader import poll_when_leading

        await poll_when_leading(app, Leadership(self.coordinator, self.replica_id), stop=stop,
                                started=started)


def readiness_for(
    db: Database, bot: Bot, coordinator: Coordinator | None, stopping: Callable[[], bool],
    scrub: Callable[[str], str] = lambda text: text,
) -> Readiness:
    async def database() -> None:
        async with db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    from aiogram.methods import GetMe

    async def telegram() -> None:
        await bot(GetMe(), request_timeout=3)

    probes: dict[str, Probe] = {"database": database, "telegram": telegram}
    if coordinator is not None:
        probes["redis"] = coordinator.ping
    return Readiness(probes, stopping=stopping, scrub=scrub)


@asynccontextmanager
async def operations(
    settings: Settings,
    db: Database,
    bot: Bot,
    app: TelegramApp,
    models: Sequence[Limited] = (),
    shared: Shared | None = None,
    *,
    features: Sequence[Feature],
) -> AsyncIterator[Operations]:
    """Coordination (`shared`: the poller's lease), telemetry, and the metrics endpoints
    (METRICS_LISTEN); `models`' generation waiters are a gauge; `features`: the bot's, whose
    secrets /readyz's lines never show."""
    async with AsyncExitStack() as stack:
        coordinator = shared.coordinator if shared is not None else None
        install_telemetry(bot, app.dp)
        metrics.replica(settings.replica_id)
        metrics.queue_depth_from(
            "generations", lambda: sum(m.generation_limit.waiting for m in models)
        )
        metrics.queue_depth_from("chats", app.queues.waiting)
        metrics.queue_depth_from("outbox", lambda: gauges.deliveries(app.outbox))
        metrics.queue_depth_from("telegram_budget", lambda: gauges.budget_waiters(app.outbox))
        readiness = None
        if settings.metrics_listen:
            host, port = settings.metrics_host_port
            readiness = readiness_for(db, bot, coordinator, stopping=lambda: app.stopping,
                                      scrub=Scrubber(secrets_of(settings, features)))
            try:
                await stack.enter_async_context(serve_metrics(host, port, readiness))
            except OSError as exc:
                raise ConfigError(
                    f"METRICS_LISTEN: cannot listen on {host}:{port} ({exc.strerror})"
                ) from None
        yield Operations(settings.replica_id, coordinator, readiness)
