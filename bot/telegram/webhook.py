"""Webhook mode: the aiohttp server in front of the application (`TelegramApp.run_webhook`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from aiogram.methods import SetWebhook
from aiohttp import web

from bot.telegram.intake import DurableWebhookHandler
from bot.telegram.startup import patiently, reach_telegram, stopping

if TYPE_CHECKING:
    from aiogram import Bot, Dispatcher

    from bot.telegram.chatleases import ChatLeases
    from bot.telegram.intake import Intake

log = logging.getLogger(__name__)

# How long the server's cleanup waits for a request still being handled (aiohttp's default is
# 60 s, then as long again for its task). Ours store an update and answer within milliseconds;
# one still running at exit waits for a body that will not be read any more (pre_shutdown
# below stops reading), and Telegram delivers its update again.
REQUEST_SHUTDOWN_TIMEOUT = 5.0


class WebhookApp(Protocol):
    """What the server needs of the application (`TelegramApp`)."""

    @property
    def bot(self) -> Bot: ...

    @property
    def dp(self) -> Dispatcher: ...

    @property
    def intake(self) -> Intake: ...

    @property
    def leases(self) -> ChatLeases | None: ...

    @property
    def allowed_updates(self) -> list[str]: ...

    @property
    def web_routes(self) -> Sequence[Callable[[web.Application], None]]: ...

    async def startup(self) -> None: ...

    def announce_stopping(self) -> None: ...

    async def shutdown(self) -> None: ...


async def serve_webhook(
    app: WebhookApp,
    *,
    url: str,
    secret: str,
    host: str,
    port: int,
    stop: asyncio.Event | None = None,
    started: asyncio.Event | None = None,
) -> None:
    """Serve `url`'s path on host:port; Telegram must send `secret` in the
    X-Telegram-Bot-Api-Secret-Token header (401 otherwise). Returns after SIGTERM/SIGINT, or
    once `stop` is set (the bot run inside another program); `started` is set once Telegram
    was told the URL."""
    with stopping(stop) as stopped:
        await _serve(app, url=url, secret=secret, host=host, port=port, stop=stopped,
                     started=started)


async def _serve(
    app: WebhookApp,
    *,
    url: str,
    secret: str,
    host: str,
    port: int,
    stop: asyncio.Event,
    started: asyncio.Event | None,
) -> None:
    path = urlsplit(url).path or "/"
    server = web.Application()
    handler = DurableWebhookHandler(
        app.dp,
        app.bot,
        handle_in_background=True,
        secret_token=secret,
        intake=app.intake,
        route=app.leases.route if app.leases is not None else None,
    )
    handler.register(server, path=path)
    for add in app.web_routes:  # the features' pages (the console), beside the webhook
        add(server)
    runner = web.AppRunner(
        server, handle_signals=False, shutdown_timeout=REQUEST_SHUTDOWN_TIMEOUT
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await reach_telegram(app.bot)
        await app.startup()
        await site.start()
        log.info("webhook listening on %s:%s%s", host, port, path)
        register = SetWebhook(
            url=url,
            secret_token=secret,
            allowed_updates=app.allowed_updates,
            drop_pending_updates=False,
        )
        await patiently(app.bot, register)
        if started is not None:
            started.set()
        await stop.wait()
        log.info("stopping: shutting down")  # asked for: the ordinary end, not a warning
    finally:
        app.announce_stopping()  # /readyz: 503 from now on
        # Stop taking work: no new connections, and nothing more read from those left open
        # (kept alive by a balancer or Telegram): pre_shutdown closes the idle ones and stops
        # reading the rest, so a request whose body is still coming goes unanswered and is
        # delivered again. One read in full already is stored, not run (stop_dispatching).
        await site.stop()
        handler.stop_dispatching()
        if runner.server is not None:
            runner.server.pre_shutdown()
        await handler.dispatched()
        await app.shutdown()
        await runner.cleanup()  # closes the bot session (SimpleRequestHandler.close)
