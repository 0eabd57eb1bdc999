"""Processes for end-to-end runs: the fakes as ``python -m`` servers, and the bot itself.

The bot runs as ``python -m bot run`` (cwd = a work dir, so no developer ``.env`` is read),
configured only through its public environment variables; stdout and stderr go to a log file.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import REPO_ROOT
from tests.marks import bot_process_allowed

TG_TOKEN = "123456:E2E-test-token"
FM_API_KEY = "e2e-api-key"
FM_FOLDER = "b1ge2efolder"
WEBHOOK_SECRET = "e2e-webhook-secret"
# An image model on imageGenerationAsync and its operation that is on neither of Yandex's
# documented lists: the path a YandexART job stored before the retirement still resumes on. Not
# `yandex-art/latest`: YandexART 2.0 is retired, and a retired IMAGE_MODEL stops `run`.
OPERATIONS_IMAGE_MODEL = "art-operations-standin/latest"


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
    return await FakeProcess.start("tests.fakes.yandex.server", *args)


async def start_telegram_process(
    token: str = TG_TOKEN, *, flood: bool = True, webhook_parallel: bool = False
) -> FakeProcess:
    args = ["--port", "0", "--token", token] + ([] if flood else ["--no-flood"])
    args += ["--webhook-parallel"] if webhook_parallel else []
    return await FakeProcess.start("tests.fakes.telegram", *args)


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
    """A clean environment for ``python -m bot run``: nothing inherited but PATH/HOME/locale,
    and PYTHONPATH, so a benchmark can run the bot of another checkout."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH")
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
        STT_URL=fm_url,  # SpeechKit STT (issue 28) on the same fake
        TTS_URL=fm_url,  # SpeechKit TTS (voice replies) on the same fake
        DATABASE_URL=database_url,
        LOG_FORMAT="json",
        # The suites that drive the operations (polls, faults, a kill mid-image) need a model
        # on imageGenerationAsync; Alice AI ART's synchronous path (the default) is tested with
        # IMAGE_MODEL=aliceai-image-art-3.0.
        IMAGE_MODEL=OPERATIONS_IMAGE_MODEL,
        # FMBOT_TEST_BOT_LOG_LEVEL=DEBUG: the bots' own debug lines, for chasing a failure.
        LOG_LEVEL=os.environ.get("FMBOT_TEST_BOT_LOG_LEVEL", "INFO"),
    )
    env.update(extra or {})
    return env


async def migrate_database(db_path: Path, workdir: Path) -> None:
    """Create the bot's schema with ``python -m bot migrate`` (its own process, no bot imports)."""
    bot_process_allowed()
    env = bot_env(telegram_url="", fm_url="", database_url=f"sqlite+aiosqlite:///{db_path}")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "migrate",
        cwd=workdir,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"bot migrate failed ({proc.returncode}): {output.decode()}")


class BotProcess:
    """``python -m bot run`` with stdout+stderr appended to ``log_path``."""

    def __init__(
        self,
        env: dict[str, str],
        workdir: Path,
        log_path: Path,
        args: tuple[str, ...] = ("run",),
    ) -> None:
        self.env, self.workdir, self.log_path = env, workdir, log_path
        self.args = args  # after `python -m bot`: ("run", "--app", "mybot:app") for an App
        self.proc: asyncio.subprocess.Process | None = None
        self.started_at = 0.0
        self.starts = 0

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.returncode

    @property
    def exited(self) -> bool:
        """Started, and ended since (a test waiting on it fails at once)."""
        return self.proc is not None and self.proc.returncode is not None

    async def start(self) -> None:
        assert not self.running, "the bot is already running"
        bot_process_allowed()
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"--- harness: start #{self.starts} at {time.time():.3f}\n".encode())
            self.started_at = time.time()
            # A fresh interpreter, as deployed, in a process group of its own: `kill` reaches
            # whatever the bot started too.
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                *self.args,
                cwd=self.workdir,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                process_group=0,
            )

    async def kill(self) -> int:
        """SIGKILL: no cleanup at all, as a crash or an OOM kill."""
        assert self.proc is not None
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):  # the group is gone already
                os.killpg(self.proc.pid, signal.SIGKILL)
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
            # From 15 s on the bot logs what its shutdown waits for (shutdownwatch.py).
            raise AssertionError(
                f"bot did not exit within {within} s of SIGTERM:\n{self.log_tail(60)}"
            ) from None

    async def wait(self, within: float) -> int:
        assert self.proc is not None
        async with asyncio.timeout(within):
            return await self.proc.wait()

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def log_mark(self) -> int:
        """Where the log has got to (after its last whole line): `log_records(since=...)` then
        reads only what came after, a line being written now included."""
        if not self.log_path.exists():
            return 0
        text = self.log_text()
        return text.rfind("\n") + 1

    def log_records(self, since: int = 0) -> list[dict[str, Any]]:
        """The JSON log lines (LOG_FORMAT=json); other lines (tracebacks...) are skipped. With
        `since` (a `log_mark()`), only those written after it."""
        records = []
        for line in self.log_text()[since:].splitlines():
            if line.startswith("{"):
                with contextlib.suppress(json.JSONDecodeError):
                    records.append(json.loads(line))
        return records


def webhook_replicas(
    ports: dict[str, int],
    workdir: Path,
    *,
    webhook_url: str,
    telegram_url: str,
    fm_url: str,
    database_url: str,
    redis_url: str,
    token: str,
    extra: dict[str, str] | None = None,
) -> dict[str, BotProcess]:
    """Webhook replicas of one bot on PostgreSQL and Redis (not started yet), one a name,
    listening on its port; they register `webhook_url` (a proxy in front of them)."""
    bots = {}
    for name, port in ports.items():
        env = bot_env(
            telegram_url=telegram_url,
            fm_url=fm_url,
            database_url=database_url,
            token=token,
            extra={
                "REDIS_URL": redis_url,
                "REPLICA_ID": f"replica-{name}",
                "TELEGRAM_MODE": "webhook",
                "TELEGRAM_WEBHOOK_URL": webhook_url,
                "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "TELEGRAM_WEBHOOK_LISTEN": f"127.0.0.1:{port}",
                **(extra or {}),
            },
        )
        bots[name] = BotProcess(env, workdir, workdir / f"bot-{name}.log")
    return bots
