"""The bot's web server in polling mode (WEB_LISTEN): the pages the features add
(`TelegramPart.web`: the console, the OpenID Connect callback of the employee sign-in), from
the start until the bot stops. In webhook mode the webhook's server serves them instead
(bot/telegram/webhook.py). A port that cannot be bound stops the start with one line
saying which and why."""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable, Sequence

from aiohttp import web

from bot.config import ConfigError
from bot.telegram.lifecycle import BotRun, BotService

log = logging.getLogger(__name__)


class WebServer(BotService):
    def __init__(self, routes: Sequence[Callable[[web.Application], None]], host: str,
                 port: int) -> None:
        self.routes = tuple(routes)
        self.host, self.port = host, port
        self._runner: web.AppRunner | None = None

    @property
    def port_bound(self) -> int:
        """The port listened on (WEB_LISTEN's, or the one the system gave for port 0)."""
        runner = self._runner
        if runner is None or not runner.addresses:
            return self.port
        return int(runner.addresses[0][1])

    async def startup(self, run: BotRun) -> None:
        app = web.Application()
        for add in self.routes:
            add(app)
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except OSError as exc:
            await runner.cleanup()
            why = {errno.EADDRINUSE: "the address is in use by another program",
                   errno.EACCES: "this user may not listen there",
                   errno.EADDRNOTAVAIL: "this machine has no such address"}.get(
                       exc.errno or 0, exc.strerror or str(exc))
            raise ConfigError(
                f"WEB_LISTEN={self.host}:{self.port}: cannot listen there ({why})") from None
        self._runner = runner
        log.info("web server listening on %s:%s", self.host, self.port_bound)

    async def shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
