"""End-to-end harness: the fake servers, the bot as a real process, and the database it leaves.

Nothing here imports ``bot``: the bot runs as ``python -m bot run`` in its own process (cwd is a
temporary work dir, so no developer ``.env`` is read), configured only through its public
environment variables, with its JSON logs captured to ``<workdir>/bot.log``. The database is
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

import asyncio
import contextlib
import json
import os
import signal
import socket
import sqlite3
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from tests.conftest import REPO_ROOT
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.tg_flood import FloodLimits

if TYPE_CHECKING:
    from tests.fakes.foundation_models_server import FakeFoundationModels

T = TypeVar("T")
TG_TOKEN = "123456:E2E-test-token"
FM_API_KEY = "e2e-api-key"
FM_FOLDER = "b1ge2efolder"
WEBHOOK_SECRET = "e2e-webhook-secret"


class BotDiedError(AssertionError):
    """The bot process exited while a test was waiting for it."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class FakeProcess:
    """A fake server run as ``python -m <module>``; ``url`` comes from its LISTENING line."""

    proc: asyncio.subprocess.Process
    url: str

    @classmethod
    async def start(cls, module: str, *args: str, within: float = 30.0) -> FakeProcess:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            module,
            *args,
            cwd=REPO_ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=None,
        )
        assert proc.stdout is not None
        try:
            async with asyncio.timeout(within):
                while line := (await proc.stdout.readline()).decode():
                    if line.startswith("LISTENING "):
                        return cls(proc, line.split()[1])
        except TimeoutError:
            pass
        proc.kill()
        await proc.wait()
        raise RuntimeError(f"{module} did not print LISTENING within {within} s")

    async def stop(self) -> int:
        if self.proc.returncode is None:
            self.proc.terminate()
        try:
            async with asyncio.timeout(10):
                return await self.proc.wait()
        except TimeoutError:
            self.proc.kill()
            return await self.proc.wait()


async def start_fm_process(
    api_key: str = FM_API_KEY, folder: str = FM_FOLDER, script: Path | None = None
) -> FakeProcess:
    args = ["--port", "0", "--api-key", api_key, "--folder", folder]
    if script is not None:
        args += ["--script", str(script)]
    return await FakeProcess.start("tests.fakes.foundation_models_server", *args)


async def start_telegram_process(token: str = TG_TOKEN, *, flood: bool = True) -> FakeProcess:
    args = ["--port", "0", "--token", token] + ([] if flood else ["--no-flood"])
    return await FakeProcess.start("tests.fakes.telegram_server", *args)


def bot_env(
    *,
    telegram_url: str,
    fm_url: str,
    database_url: str,
    token: str = TG_TOKEN,
    api_key: str = FM_API_KEY,
    folder: str = FM_FOLDER,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """A clean environment for ``python -m bot run`` (nothing inherited but PATH/HOME/locale)."""
    env = {
        k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    }
    env.update(
        PYTHONUNBUFFERED="1",
        TELEGRAM_BOT_TOKEN=token,
        TELEGRAM_API_URL=telegram_url,
        YANDEX_API_KEY=api_key,
        YANDEX_FOLDER_ID=folder,
        YANDEX_LLM_URL=fm_url,
        YANDEX_OPERATION_URL=fm_url,
        YANDEX_IAM_URL=fm_url,
        DATABASE_URL=database_url,
        LOG_FORMAT="json",
        LOG_LEVEL="INFO",
    )
    env.update(extra or {})
    return env


async def migrate_database(db_path: Path, workdir: Path) -> None:
    """Create the bot's schema with ``python -m bot migrate`` (its own process, no bot imports)."""
    env = bot_env(telegram_url="", fm_url="", database_url=f"sqlite+aiosqlite:///{db_path}")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "migrate", cwd=workdir, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"bot migrate failed ({proc.returncode}): {output.decode()}")


class BotProcess:
    """``python -m bot run`` with stdout+stderr appended to ``log_path``."""

    def __init__(self, env: dict[str, str], workdir: Path, log_path: Path) -> None:
        self.env, self.workdir, self.log_path = env, workdir, log_path
        self.proc: asyncio.subprocess.Process | None = None
        self.started_at = 0.0
        self.starts = 0

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.returncode

    async def start(self) -> None:
        assert not self.running, "the bot is already running"
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"--- harness: start #{self.starts} at {time.time():.3f}\n".encode())
            self.started_at = time.time()
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                cwd=self.workdir,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )

    async def kill(self) -> int:
        """SIGKILL: no cleanup at all, as a crash or an OOM kill."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
        return await self.proc.wait()

    async def terminate(self, within: float = 20.0) -> int:
        """SIGTERM and wait for a graceful exit; SIGKILL (and raise) if it takes too long."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(within):
                return await self.proc.wait()
        except TimeoutError:
            await self.kill()
            raise AssertionError(f"bot did not exit within {within} s of SIGTERM") from None

    async def wait(self, within: float) -> int:
        assert self.proc is not None
        async with asyncio.timeout(within):
            return await self.proc.wait()

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def log_records(self) -> list[dict[str, Any]]:
        """The JSON log lines (LOG_FORMAT=json); other lines (tracebacks...) are skipped."""
        records = []
        for line in self.log_text().splitlines():
            if line.startswith("{"):
                with contextlib.suppress(json.JSONDecodeError):
                    records.append(json.loads(line))
        return records


class Database:
    """The bot's SQLite file, read with the stdlib after (or while) the bot runs."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        with contextlib.closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as db:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA busy_timeout = 5000")
            return [dict(row) for row in db.execute(sql, params)]

    def count(self, table: str, where: str = "1=1", params: tuple[Any, ...] = ()) -> int:
        return int(self.query(f"SELECT count(*) AS n FROM {table} WHERE {where}", params)[0]["n"])

    def messages(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        sql = (
            "SELECT m.*, c.chat_id FROM messages m JOIN conversations c "
            "ON c.id = m.conversation_id"
        )
        if chat_id is None:
            return self.query(sql + " ORDER BY m.id")
        return self.query(sql + " WHERE c.chat_id = ? ORDER BY m.id", (chat_id,))

    def image_jobs(self) -> list[dict[str, Any]]:
        return self.query("SELECT * FROM image_jobs ORDER BY id")

    def check_consistency(self, *, settled: bool = True) -> list[str]:
        """Problems found; ``settled`` = the bot is stopped or idle (nothing may be in flight)."""
        problems: list[str] = []
        if (ok := self.query("PRAGMA integrity_check")[0]) and next(iter(ok.values())) != "ok":
            problems.append(f"integrity_check: {ok}")
        for row in self.query("PRAGMA foreign_key_check"):
            problems.append(f"foreign key violation: {row}")
        for row in self.query(
            "SELECT chat_id, count(*) AS n FROM conversations WHERE closed_at IS NULL "
            "GROUP BY chat_id HAVING n > 1"
        ):
            problems.append(f"chat {row['chat_id']} has {row['n']} open conversations")
        seen: dict[tuple[int, int], int] = {}
        for m in self.messages():
            if m["role"] != "user":
                continue
            for tg_id in json.loads(m["telegram_message_ids"] or "[]"):
                key = (m["chat_id"], tg_id)
                if key in seen:
                    problems.append(
                        f"user message {key} stored twice (rows {seen[key]}, {m['id']})"
                    )
                seen[key] = m["id"]
        if settled:
            for m in self.query("SELECT id FROM messages WHERE status = 'streaming'"):
                problems.append(f"message {m['id']} left in status streaming")
            for job in self.query(
                "SELECT id, status FROM image_jobs WHERE status IN ('pending', 'running')"
            ):
                problems.append(f"image job {job['id']} left {job['status']}")
        for job in self.query(
            "SELECT id FROM image_jobs WHERE status = 'delivered' AND result_message_id IS NULL"
        ):
            problems.append(f"image job {job['id']} delivered without a result message id")
        return problems


class E2E:
    """One end-to-end setup: fakes in this process, a work dir, the bot as a process."""

    def __init__(
        self,
        tmp_path: Path,
        *,
        mode: str = "polling",
        limits: FloodLimits | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.workdir = tmp_path
        self.mode = mode
        self.tg = FakeTelegram(TG_TOKEN, limits=limits)
        self._fm: FakeFoundationModels | None = None
        self.extra_env = dict(extra_env or {})
        self.db = Database(tmp_path / "bot.db")
        self.webhook_port = free_port()
        self.webhook_url = f"http://127.0.0.1:{self.webhook_port}/webhook"
        self._bot: BotProcess | None = None

    @property
    def fm(self) -> FakeFoundationModels:
        assert self._fm is not None, "use E2E as an async context manager"
        return self._fm

    @property
    def bot(self) -> BotProcess:
        assert self._bot is not None, "use E2E as an async context manager"
        return self._bot

    async def __aenter__(self) -> E2E:
        from tests.fakes.foundation_models_server import FakeFoundationModels

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
        self._bot = BotProcess(env, self.workdir, self.workdir / "bot.log")
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            if self._bot is not None and self._bot.running:
                await self._bot.kill()
        finally:
            if self._fm is not None:
                await self._fm.__aexit__(None, None, None)
            await self.tg.close()

    def texts(self, chat_id: int) -> list[str]:
        """Texts of the bot's visible messages in a chat (what the user reads), oldest first."""
        chat = self.tg.chats.get(chat_id)
        return [] if chat is None else [m.text or m.caption or "" for m in chat.bot_messages]

    def photos(self, chat_id: int) -> list[bytes]:
        """The images the bot delivered to a chat, oldest first."""
        chat = self.tg.chats.get(chat_id)
        if chat is None:
            return []
        return [m.photo for m in chat.bot_messages if m.photo is not None]

    async def restart_bot(self, *, hard: bool = True, within: float = 60.0) -> BotProcess:
        """SIGKILL (``hard``) or SIGTERM the bot, then start it again and wait until ready."""
        if self.bot.running:
            await (self.bot.kill() if hard else self.bot.terminate())
        return await self.start_bot(within)

    async def start_bot(self, within: float = 60.0) -> BotProcess:
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
            if self._bot is not None and self._bot.proc is not None and not self._bot.running:
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
