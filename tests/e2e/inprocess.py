"""The bot of an end-to-end setup run inside the test's process, not as one.

`BotInProcess` has `BotProcess`'s interface (start, terminate, the log) and runs the bot the
public way a program embeds it: `async with App(...)` (bot/app: the same bot as `run()`, on the
caller's event loop, no signal handlers, no logging set-up). It is configured by exactly the
environment a `python -m bot run` process of the setup gets, read when it starts, and its log
lines are written as JSON to the setup's log file, as the process's are. The fakes stay
servers on loopback: the faults they inject (a connection dropped mid-stream, a stalled
getUpdates, a 502) are faults of the wire, which only sockets carry.

What a process alone shows (a SIGKILL, signals, a restart from nothing) stays `BotProcess`'s:
`kill()` here stops the bot gracefully, so a test that kills is a process test.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

from bot import App
from bot.log import JsonFormatter, Scrubber
from tests.e2e.processes import BotProcess


class BotInProcess(BotProcess):
    """`python -m bot run`'s bot on the test's event loop (see the module docstring)."""

    def __init__(
        self, env: dict[str, str], workdir: Path, log_path: Path, args: tuple[str, ...] = ("run",)
    ) -> None:
        if args != ("run",):
            raise ValueError(f"only `run` runs in process, not {args}: start a BotProcess")
        super().__init__(env, workdir, log_path, args)
        self.app: App | None = None
        self._handler: logging.Handler | None = None
        self._level = logging.NOTSET
        self._code: int | None = None

    @property
    def running(self) -> bool:
        return self.app is not None

    @property
    def exited(self) -> bool:
        """Never on its own: a failure of the bot in process is raised by `terminate`."""
        return False

    @property
    def returncode(self) -> int | None:
        return self._code

    async def start(self) -> None:
        assert not self.running, "the bot is already running"
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"--- harness: start #{self.starts} in process at {time.time():.3f}\n"
                      .encode())
        self.started_at = time.time()
        self._log_to_file()
        app = App(env_file=None)
        try:
            with _environment(self.env, self.workdir):
                await app.__aenter__()  # reads its settings from the environment given
        except BaseException:
            logging.getLogger("tests.e2e").exception("the bot did not start in process")
            self._code = 1
            self._stop_logging()
            raise
        self.app, self._code = app, None

    async def terminate(self, within: float = 20.0) -> int:
        """Stop the bot as SIGTERM does (answers under way finish); 0, or 1 when it failed."""
        app, self.app = self.app, None
        if app is None:
            return self._code if self._code is not None else 0
        try:
            async with asyncio.timeout(within):
                await app.__aexit__(None, None, None)
            self._code = 0
        except TimeoutError:
            raise AssertionError(
                f"the bot did not stop within {within} s:\n{self.log_tail(60)}"
            ) from None
        except Exception:
            logging.getLogger("tests.e2e").exception("the bot failed while it ran")
            self._code = 1
        finally:
            self._stop_logging()
        return self._code

    async def kill(self) -> int:
        """A graceful stop: one process cannot SIGKILL a part of itself (module docstring)."""
        return await self.terminate()

    async def wait(self, within: float) -> int:
        raise NotImplementedError("the bot in process runs until terminate()")

    def _log_to_file(self) -> None:
        handler = logging.FileHandler(self.log_path, encoding="utf-8")
        handler.setFormatter(JsonFormatter(Scrubber()))
        handler.setLevel(self.env.get("LOG_LEVEL", "INFO"))
        root = logging.getLogger()
        self._level = root.level
        root.setLevel(min(root.level or logging.WARNING, handler.level))
        root.addHandler(handler)
        self._handler = handler

    def _stop_logging(self) -> None:
        if self._handler is None:
            return
        root = logging.getLogger()
        root.removeHandler(self._handler)
        root.setLevel(self._level)
        self._handler.close()
        self._handler = None


@contextlib.contextmanager
def _environment(env: dict[str, str], cwd: Path) -> Iterator[None]:
    """The process's environment and working directory while the bot reads its settings."""
    environ, folder = dict(os.environ), os.getcwd()
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(folder)
        os.environ.clear()
        os.environ.update(environ)
