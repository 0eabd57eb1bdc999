"""End-to-end harness: the fake servers, the bot as a real process, and the database it leaves.

The bot runs as ``python -m bot run`` in its own process (cwd is a temporary work dir, so no
developer ``.env`` is read), configured only through its public environment variables, with
its JSON logs captured to ``<workdir>/bot.log``; or, ``in_process=True``, the same bot with the
same environment and log inside the test's process (tests/e2e/inprocess.py). The database is
read afterwards with the stdlib ``sqlite3``.

Typical use (see conftest.py for the ``e2e`` fixture)::

    async with E2E(tmp_path) as e2e:                 # fakes in-process, bot not started yet
        e2e.fm.queue_reply("Hello!", chunks=4, interval=0.05)
        await e2e.start_bot()                        # waits until it polls (or set its webhook)
        e2e.tg.send_user_message(1, "hi")
        await e2e.wait_for(lambda: e2e.tg.chat(1).bot_messages)  # fails fast if the bot died
        await e2e.restart_bot()                      # SIGKILL and start again (hard=False: TERM)
        e2e.texts(1), e2e.photos(1)                  # what the user sees from the bot
        await e2e.bot.terminate()                    # SIGTERM, returns the exit code
        e2e.db.check_consistency()                   # list of problems, [] when consistent
        e2e.bot.log_records()                        # parsed JSON log lines

The fakes can also run as processes (benchmarks): ``start_fm_process`` and
``start_telegram_process`` return a ``FakeProcess`` whose ``url`` serves the ``/_control`` API.
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from bot.testing.telegram.flood import FloodLimits
from tests.e2e.database import Database
from tests.e2e.processes import (
    FM_API_KEY,
    FM_FOLDER,
    TG_TOKEN,
    WEBHOOK_SECRET,
    BotProcess,
    FakeProcess,
    bot_env,
    migrate_database,
    start_fm_process,
    start_telegram_process,
)
from tests.fakes.telegram.server import TelegramServer
from tests.ports import free_port

if TYPE_CHECKING:
    from tests.fakes.yandex.server import FakeFoundationModels

__all__ = [
    "E2E",
    "FM_API_KEY",
    "FM_FOLDER",
    "TG_TOKEN",
    "WEBHOOK_SECRET",
    "BotDiedError",
    "BotProcess",
    "Database",
    "FakeProcess",
    "bot_env",
    "free_port",
    "migrate_database",
    "start_fm_process",
    "start_telegram_process",
]

T = TypeVar("T")
# How long a bot process may take to poll (or set its webhook) after it starts: a liveness
# bound, not a speed check. Several bots start at once on the suite's workers, and another
# job may hold the machine's two cores; a start that hangs is still caught (and the pytest
# timeout stops the test).
START_WITHIN = 180.0


class BotDiedError(AssertionError):
    """The bot process exited while a test was waiting for it."""


async def run_step(n: int, total: int, step: Callable[[T], Awaitable[None]], on: T) -> None:
    """Step `n` of a test in `total` steps, on `on`; a failure names it (its function's
    name: "in step 2 of 5: a poller cut off from redis ...")."""
    try:
        await step(on)
    except BaseException as exc:
        exc.add_note(f"in step {n} of {total}: {step.__name__.replace('_', ' ')}")
        raise


class E2E:
    """One end-to-end setup: fakes in this process, a work dir, the bot as a process."""

    def __init__(
        self,
        tmp_path: Path,
        *,
        mode: str = "polling",
        limits: FloodLimits | None = None,
        extra_env: dict[str, str] | None = None,
        bot_args: tuple[str, ...] = ("run",),
        in_process: bool = False,
    ) -> None:
        """`in_process`: the bot runs in the test's process (tests/e2e/inprocess.py), not as
        one: for the tests whose subject is not the process."""
        self.workdir = tmp_path
        self.bot_args = bot_args
        self.mode = mode
        self.tg = TelegramServer(TG_TOKEN, limits=limits)
        self._fm: FakeFoundationModels | None = None
        self.extra_env = dict(extra_env or {})
        self.db = Database(tmp_path / "bot.db")
        self.webhook_port = free_port()
        self.webhook_url = f"http://127.0.0.1:{self.webhook_port}/webhook"
        self._bot: BotProcess | None = None
        self.in_process = in_process

    @property
    def fm(self) -> FakeFoundationModels:
        assert self._fm is not None, "use E2E as an async context manager"
        return self._fm

    @property
    def bot(self) -> BotProcess:
        assert self._bot is not None, "use E2E as an async context manager"
        return self._bot

    async def __aenter__(self) -> E2E:
        from tests.fakes.yandex.server import FakeFoundationModels

        await self.tg.start()
        self._fm = FakeFoundationModels(api_key=FM_API_KEY, folder_id=FM_FOLDER)
        await self._fm.__aenter__()
        extra = dict(self.extra_env)
        if self.mode == "webhook":
            extra.setdefault("TELEGRAM_MODE", "webhook")
            extra.setdefault("TELEGRAM_WEBHOOK_URL", self.webhook_url)
            extra.setdefault("TELEGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET)
            extra.setdefault("TELEGRAM_WEBHOOK_LISTEN", f"127.0.0.1:{self.webhook_port}")
        env = bot_env(
            telegram_url=self.tg.url,
            fm_url=self._fm.url,
            database_url=f"sqlite+aiosqlite:///{self.db.path}",
            extra=extra,
        )
        if self.in_process:
            from tests.e2e.inprocess import BotInProcess

            self._bot = BotInProcess(env, self.workdir, self.workdir / "bot.log", self.bot_args)
        else:
            self._bot = BotProcess(
                env, self.workdir, self.workdir / "bot.log", self.bot_args
            )
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            if self._bot is not None and self._bot.running:
                await (self._bot.terminate() if self.in_process else self._bot.kill())
        finally:
            if self._fm is not None:
                await self._fm.__aexit__(None, None, None)
            await self.tg.close()

    def roles(self, chat_id: int) -> list[tuple[str, str]]:
        """The chat's stored messages as (role, status)."""
        return [(m["role"], m["status"]) for m in self.db.messages(chat_id)]

    def texts(self, chat_id: int, *, seen_by: int | None = None) -> list[str]:
        """Texts of the bot's visible messages in a chat (what the user reads), oldest first:
        what every member sees, or (`seen_by`) what that user sees, ephemeral messages to
        them alone included."""
        chat = self.tg.chats.get(chat_id)
        if chat is None:
            return []
        shown = chat.bot_messages if seen_by is None else chat.bot_messages_seen_by(seen_by)
        return [m.text or m.caption or "" for m in shown]

    def photos(self, chat_id: int) -> list[bytes]:
        """The images the bot delivered to a chat, oldest first."""
        chat = self.tg.chats.get(chat_id)
        if chat is None:
            return []
        return [m.photo for m in chat.bot_messages if m.photo is not None]

    async def restart_bot(self, *, hard: bool = True, within: float = START_WITHIN) -> BotProcess:
        """SIGKILL (``hard``) or SIGTERM the bot, then start it again and wait until ready."""
        if self.bot.running:
            await (self.bot.kill() if hard else self.bot.terminate())
        return await self.start_bot(within)

    async def start_bot(self, within: float = START_WITHIN) -> BotProcess:
        """Start the bot and wait until it polls getUpdates (or has set its webhook)."""
        await self.bot.start()
        since = self.bot.started_at
        method = "setWebhook" if self.mode == "webhook" else "getUpdates"
        await self.wait_for(
            lambda: any(
                c.method == method and c.at >= since and c.status == 200 for c in self.tg.calls
            ),
            within,
        )
        if self.mode == "webhook":
            await self.wait_for(lambda: _port_open(self.webhook_port), within)
        return self.bot

    async def wait_for(self, predicate: Callable[[], T], timeout: float = 15.0) -> T:  # noqa: ASYNC109
        """``tg.wait_for`` that fails at once, with the log tail, if the bot process exits."""

        def check() -> T:
            if self._bot is not None and self._bot.exited:
                raise BotDiedError(
                    f"bot exited with {self._bot.returncode}:\n{self._bot.log_tail()}"
                )
            return predicate()

        try:
            return await self.tg.wait_for(check, timeout)
        except TimeoutError:
            tail = self._bot.log_tail() if self._bot is not None else ""
            raise AssertionError(f"timed out after {timeout} s; bot log tail:\n{tail}") from None


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def webhook_update(update_id: int, chat: int, text: str) -> dict[str, Any]:
    """A private message as Telegram posts it to a webhook."""
    user = {"id": chat, "is_bot": False, "first_name": "Hook", "language_code": "en"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "text": text,
            "chat": {"id": chat, "type": "private", "first_name": "Hook"},
            "from": user,
        },
    }
