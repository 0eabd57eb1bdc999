"""`fmbot run`: the whole bot built from Settings (`built_bot`), run until it is stopped.

`built_bot` is also what bot.testing runs a developer's App on, with its own bot session and
model HTTP client: the same wiring, fed updates in process instead of polling.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from bot.config import ConfigError
from bot.extending.events import RunContext
from bot.features.settings import Settings

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.types import Update

    from bot.app.parts import AppParts
    from bot.conversation.types import SignedIn
    from bot.extending.tools import ToolSource
    from bot.telegram.app import TelegramApp
    from bot.telegram.deps import BotOptions
    from bot.telegram.outbox import Pacing
    from bot.wiring.core import Core
    from bot.wiring.operations import Operations, Shared

from bot.collector import resume_collector
from bot.plugin.offers import Lifecycle
from bot.wiring.core import FrontEnd, core
from bot.wiring.models import watch_models
from bot.wiring.parts import telegram_files
from bot.wiring.yandex_access import YandexAccess

log = logging.getLogger("bot")


@dataclass(frozen=True, slots=True)
class BuiltBot:
    """The whole bot, built and its App's on_startup hooks run; not yet taking updates."""

    core: Core
    telegram: TelegramApp
    ops: Operations

    async def settle(self, calls_made: Callable[[], int]) -> None:
        """Until the bot has nothing more to do for now: its queues, then its services' work
        (image jobs, the desk's relays, ...), again until a round makes no Bot API call
        (`calls_made`: how many it has made so far). The caller bounds the wait."""
        telegram = self.telegram
        while True:
            count = calls_made()
            await telegram.wait_idle()
            await telegram.answers.wait_idle()
            await telegram.outbox.drain()
            for idle in self.core.registry.idle:
                await idle()
            await asyncio.sleep(0)
            if calls_made() == count and not telegram.queues.waiting():
                return

    def forums(self) -> list[int]:
        """The chats the features need as forum supergroups (the support desk's)."""
        return list(self.core.registry.forums)

    async def ready(self) -> None:
        """What the features keep up to date done once, before the first question (in
        process, where nothing runs in the background: the knowledge base synced)."""
        for ready in self.core.registry.ready:
            await ready()

    async def startup(self) -> None:
        """The front's services started, as when the bot starts taking updates."""
        await self.telegram.startup()

    async def shutdown(self) -> None:
        """The front's services stopped."""
        await self.telegram.shutdown()

    async def process(self, update: Update) -> None:
        """One update handled, as if Telegram had sent it."""
        await self.telegram.process(update)


@asynccontextmanager
async def built_bot(
    settings: Settings,
    system_prompt: str,
    *,
    app: AppParts | None = None,
    bot: Bot | None = None,
    http: httpx.AsyncClient | None = None,
    background: bool = True,
    pacing: Callable[[Pacing], Pacing] | None = None,
    guest_edit_interval: float = 1.0,
    wrap_tools: Callable[[ToolSource], ToolSource] | None = None,
    unlimited: Callable[[int], bool] | None = None,
    signed_in: SignedIn | None = None,
) -> AsyncIterator[BuiltBot]:
    """Build the bot `fmbot run` runs; closed in reverse order on exit (the App's
    on_shutdown hooks first). `bot`: an aiogram Bot to use instead of one on
    TELEGRAM_API_URL; `http`: the models' HTTP client; `pacing`: changes the outbox's
    pacing, `guest_edit_interval` the guest answers' (all four: bot.testing); `wrap_tools`:
    each tool source replaced by what it returns (`fmbot eval` answers with stubs);
    `unlimited`: users RATE_LIMIT_PER_MINUTE does not count (simulated customers);
    `signed_in`: employees signed in without the company's provider (bot.testing, `fmbot
    eval`)."""
    from dataclasses import replace

    from bot.conversation.listeners import Listeners
    from bot.plugin.ground import TelegramGround
    from bot.telegram.access import Access
    from bot.telegram.app import make_bot
    from bot.telegram.deps import Cluster
    from bot.wiring.operations import build_outbox, coordination, limited, operations
    from bot.wiring.telegram import TelegramFront

    assert settings.telegram_bot_token is not None  # check_telegram() ran
    if bot is None:
        bot = make_bot(settings.telegram_bot_token.get_secret_value(), settings.telegram_api_url)
    async with AsyncExitStack() as stack:
        shared = await stack.enter_async_context(coordination(settings, bot))
        # Several webhook replicas: any replica may receive any update, and a chat's turns
        # run on its lease holder. (Polling: the one poller dispatches everything itself.)
        leased = shared is not None and settings.telegram_mode == "webhook"
        coordinator = shared.coordinator if leased and shared is not None else None
        files = telegram_files(settings, bot)
        # The tool loop tells the front end which cards lost their buttons; the front end is
        # built on the conversation that holds the loop.
        superseded: Listeners[[int, list[int]]] = Listeners()
        front = FrontEnd(
            telegram=True,
            files=files,
            superseded=superseded,
            # Any replicas (webhook or polling): an answer stored whole but not yet delivered
            # when this replica loses its lease is answered again by the next holder.
            # Untracked, a polling leader that lost its lease between the two dropped it.
            track_delivery=shared is not None,
            generation_limit=shared.generation_limit if shared is not None else None,
            shared=shared is not None,
        )
        c = await stack.enter_async_context(core(
            settings, system_prompt, background=background, app=app, http=http,
            front=front, wrap_tools=wrap_tools, signed_in=signed_in,
        ))
        outbox = build_outbox(settings, bot, shared, pacing)
        staff = c.registry.forums
        # The front's own parts first (what the features' parts on it are built on).
        front_end = TelegramFront(
            bot=bot,
            sessionmaker=c.db.sessionmaker,
            conversation=c.conversation,
            options=bot_options(settings, system_prompt),
            access=Access(
                users=settings.allowed_user_ids, chats=settings.allowed_chat_ids,
                admins=settings.admin_user_ids, members_of=settings.allowed_chat_members_of,
                members_ttl=settings.allowed_chat_members_ttl,
                support_chat_id=staff[0] if staff else 0,
            ),
            outbox=outbox,
            # The census: the replicas take turns at sweeping for chats left undone.
            cluster=None if coordinator is None
            else Cluster(coordinator, settings.replica_id, census_of(shared)),
            unlimited=unlimited,
        )
        # Every feature's part on the front (the desk, voice, guest mode, /image, ...), in
        # the order of the features' list; their resources closed with this stack.
        await c.lifespans.advance("telegram", TelegramGround(
            replace(c.ground, stack=stack), front_end.parts, files, system_prompt,
            replicas=shared.coordinator if shared is not None else None,
            leases=coordinator, menu=c.registry.menu,
            guest_edit_interval=guest_edit_interval,
        ))
        telegram = front_end.app(
            list(c.registry.fronts),
            # Every feature's registered routers (the App's, its plugins') and menu commands.
            routers=c.registry.routers,
            menu=c.registry.menu,
            final_forms=list(c.registry.final_forms),
            signed_in=signed_in,
            web_listen=settings.web_host_port if settings.web_listen
            and settings.telegram_mode != "webhook" else None,
        )
        # Redis coordination, metrics and health endpoints, telemetry hooks.
        models = limited(c.client, c.chat_model)
        ops = await stack.enter_async_context(
            operations(settings, c.db, bot, telegram, models, shared, features=c.features)
        )
        running = RunContext(bot=bot, settings=settings)
        for hooks in c.built.all(Lifecycle):  # the App's on_startup and on_shutdown hooks
            await hooks.run("on_startup", running)
            stack.push_async_callback(hooks.run, "on_shutdown", running)
        yield BuiltBot(c, telegram, ops)


def bot_options(settings: Settings, system_prompt: str) -> BotOptions:
    """What the handlers show or enforce, as plain values."""
    from bot.telegram.deps import BotOptions

    return BotOptions(
        text_models=tuple(settings.text_models),
        default_system_prompt=system_prompt,
        daily_token_limit=settings.daily_token_limit,
        retention_days=settings.retention_days,
        data_logging=settings.yandex_data_logging,
        queue_max_age=settings.queue_max_age,
        queue_stale_action=settings.queue_stale_action,
        rate_limit_per_minute=settings.rate_limit_per_minute,
    )


async def run_bot(
    settings: Settings,
    system_prompt: str,
    *,
    app: AppParts | None = None,
    stop: asyncio.Event | None = None,
    started: asyncio.Event | None = None,
) -> None:
    """Run the bot until SIGTERM/SIGINT, or (`stop` given: the bot inside another program)
    until `stop` is set, then shut down gracefully. `started`: set once updates are taken."""
    from bot.telegram.app import TokenRejectedError
    from bot.wiring.model_catalog import retired_image_model

    if (retired := retired_image_model(settings)) is not None:
        raise ConfigError(retired)  # before anything starts: no request can tell more
    # The wire, its built-in tools and reasoning in the log; then, in the background while the
    # bot answers, each configured model against what the folder serves.
    async with built_bot(settings, system_prompt, app=app) as built, watch_models(
        settings, built.core
    ):
        telegram, ops = built.telegram, built.ops
        # Before any update is taken: a refused key, folder or model stops here (exit 2).
        access = YandexAccess(settings, built.core.client, built.core.chat_model)
        if not await access.verify() and ops.readiness is not None:
            ops.readiness.add("yandex", access.probe)
        if stop is None:  # the process is the bot's (`fmbot run`), not another program's
            # What the start built (aiogram's and pydantic's models, SQLAlchemy's mappings,
            # the features' parts) lives as long as the process: frozen out of the
            # collector's reach, a full collection no longer walks it (bench/results.md,
            # "gc.freeze"; https://docs.python.org/3/library/gc.html#gc.freeze).
            gc.collect()
            gc.freeze()
            resume_collector()  # paused while the command started (collector.py)
        try:
            if settings.telegram_mode == "webhook":
                assert settings.telegram_webhook_secret is not None
                host, port = settings.webhook_host_port
                await telegram.run_webhook(
                    url=settings.telegram_webhook_url,
                    secret=settings.telegram_webhook_secret.get_secret_value(),
                    host=host,
                    port=port,
                    stop=stop,
                    started=started,
                )
            else:
                await ops.run_polling(telegram, stop=stop, started=started)
        except TokenRejectedError as exc:
            raise ConfigError(f"TELEGRAM_BOT_TOKEN was rejected by Telegram ({exc})") from None


def census_of(shared: Shared | None) -> Callable[[], int]:
    """How many replicas are live now: the census's count, 1 without Redis."""
    if shared is None:
        return lambda: 1
    census = shared.census
    return lambda: census.known
