"""A fork server for the suite's ``python -m bot ...`` processes: imports paid once per worker.

The suite is CPU-bound on a 2-core machine, and every bot process it starts used to import
aiogram, SQLAlchemy, pydantic and fmbot itself afresh: about 2.5 s of CPU of the 3.5-4.5 s a
bot takes to be ready (``tests/cpu_report.py``), some hundreds of times per run. A fork server
(the "zygote" of Android and of Chromium) imports them once, then forks a child per process.

The child is a real, separate process: its own pid, environment, working directory, log file,
signals (SIGKILL and SIGTERM reach it as they reach any process) and exit code, and it runs
``python -m <module> <args>`` exactly as the interpreter would (``runpy``, ``sys.argv``,
``sys.path[0]`` the working directory, ``PYTHONPATH`` in front). What it shares with its
siblings is the modules imported before the fork, nothing else: no event loop, no thread, no
open connection exists in the server when it forks.

What a fresh interpreter proves and a fork cannot (that the bot *starts*, imports included)
stays proven by the tests that run fresh interpreters: the wheel test (``bot --help``,
``bot run --help`` and ``bot migrate`` from the installed wheel) and the new project's own
suite. (Other processes the suite starts, the CLI tests' and the MCP tracker's among them,
are forked from its zygote: ``zygote_launcher``.) ``FMBOT_TEST_FORKSERVER=0`` turns the
server off: every process is then started by ``asyncio.create_subprocess_exec`` as before.

Protocol, one JSON object per line: the test side writes ``{"id", "argv", "env", "cwd",
"log"}`` to the server's stdin; the server answers ``{"id", "pid"}`` at once and
``{"exited": pid, "code": code}`` when it reaps the child (``-N`` for a signal, as
``asyncio`` reports it).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import os
import queue
import runpy
import select
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

# What a plain ``python -m bot run`` imports, by the modules that pull in the most: a child
# imports whatever else its settings need (a knowledge base, the desk) as a process would.
PRELOAD = (
    "bot.cli",
    "bot.wiring.run",
    "bot.wiring.telegram",
    "bot.telegram.app",
    "bot.conversation.service",
    "aiogram",
    "aiosqlite",
    "alembic.command",
    "alembic.script",
    "alembic.runtime.migration",
    "sqlalchemy.dialects.sqlite.aiosqlite",
    "uvloop",
    # Imported at start-up by the bot's parts (tools, the knowledge base's sync, numpy).
    "bot.features.installed",
    "bot.features.knowledge.indexer",
    "bot.features.knowledge.store_sync",
    "bot.features.desk.telegram",
    "numpy",
)


# --- the server (``python -m tests.forkserver``) -------------------------------------------


def _serve() -> None:
    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    # The aiogram models every bot builds at start (bot/telegram/warmup.py), built once here:
    # a child's own warm-up then finds them built, as its second update would.
    from bot.telegram.warmup import warm_models

    warm_models()
    # SQLAlchemy configures the mappers of every table on the first query; once, here.
    from sqlalchemy.orm import configure_mappers

    configure_mappers()
    if threading.active_count() != 1:  # a fork copies only the forking thread
        raise SystemExit(f"forkserver: {threading.active_count()} threads after the imports")
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    reply = _writer(sys.stdout.fileno())
    reply({"ready": os.getpid()})
    requests = b""
    while True:
        ready, _, _ = select.select([0, wake_r], [], [])
        if wake_r in ready:
            with contextlib.suppress(BlockingIOError):
                os.read(wake_r, 512)
        _reap(reply)
        if 0 not in ready:
            continue
        chunk = os.read(0, 65536)
        if not chunk:  # the test worker is gone: so is the server (its children are killed
            return  # by the tests that started them)
        requests += chunk
        while b"\n" in requests:
            line, requests = requests.split(b"\n", 1)
            request = json.loads(line)
            pid = os.fork()
            if pid == 0:
                _child(request, (wake_r, wake_w))  # never returns
            reply({"id": request["id"], "pid": pid})


def _writer(fd: int) -> Any:
    def write(message: dict[str, Any]) -> None:
        data = (json.dumps(message) + "\n").encode()
        while data:
            data = data[os.write(fd, data) :]

    return write


def _reap(reply: Any) -> None:
    from tests.zygote import ended

    for pid, code in ended():
        reply({"exited": pid, "code": code})


def _child(request: dict[str, Any], wake: tuple[int, int]) -> None:
    """Become ``python -m <argv[0]> <argv[1:]>`` in ``cwd`` with ``env``; exit with its code."""
    from tests.zygote import exit_as_main

    exit_as_main(lambda: _become(request, wake))


def _become(request: dict[str, Any], wake: tuple[int, int]) -> None:
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for fd in wake:
        os.close(fd)
    given = os.open(request.get("stdin") or os.devnull, os.O_RDONLY)
    os.dup2(given, 0)
    os.close(given)
    for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
        out = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.dup2(out, fd)
        os.close(out)
    os.closerange(3, 1024)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    # As `python -m` sets it: the working directory first, then PYTHONPATH.
    extra = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    sys.path[:] = [os.getcwd(), *extra, *(p for p in sys.path[1:] if p not in extra)]
    module, *args = request["argv"]
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


# --- the test side -------------------------------------------------------------------------


class ForkServer:
    """One server per test worker, started on first use; thread-safe, any event loop."""

    _instance: ForkServer | None = None
    _lock = threading.Lock()

    @classmethod
    def shared(cls) -> ForkServer | None:
        """The worker's server, or None when ``FMBOT_TEST_FORKSERVER=0``."""
        if os.environ.get("FMBOT_TEST_FORKSERVER", "1") == "0":
            return None
        with cls._lock:
            if cls._instance is None or cls._instance._proc.poll() is not None:
                cls._instance = cls()
            return cls._instance

    def __init__(self) -> None:
        root = Path(__file__).resolve().parent.parent
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "OPENBLAS_NUM_THREADS": "1"}
        # Forked from the suite's zygote when it runs (tests/zygote.py): the imports below
        # are then already done.
        launcher = zygote_launcher()
        self._proc = subprocess.Popen(
            [*launcher, "-m", "tests.forkserver"],
            cwd=root,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self._write_lock = threading.Lock()
        self._ids = 0
        self._spawned: dict[int, queue.Queue[int]] = {}
        self._codes: dict[int, int] = {}
        self._waiters: dict[int, list[tuple[asyncio.AbstractEventLoop, asyncio.Future[int]]]] = {}
        self._state = threading.Condition()
        assert self._proc.stdout is not None
        first = json.loads(self._proc.stdout.readline() or b"{}")
        if "ready" not in first:
            raise RuntimeError("the fork server did not start (see its output above)")
        self.pid = first["ready"]  # the server itself, not the zygote's launcher
        threading.Thread(target=self._read, name="forkserver", daemon=True).start()

    def spawn(
        self,
        argv: list[str],
        *,
        env: dict[str, str],
        cwd: Path,
        log: Path,
        stderr: Path | None = None,
        stdin: Path | None = None,
    ) -> ForkedProcess:
        """``python -m argv[0] argv[1:]``: stdout appended to ``log``, stderr too unless
        ``stderr`` names a file of its own; stdin read from ``stdin`` (else /dev/null)."""
        assert self._proc.stdin is not None
        answer: queue.Queue[int] = queue.Queue()
        with self._write_lock:
            self._ids += 1
            self._spawned[self._ids] = answer
            request = {
                "id": self._ids,
                "argv": argv,
                "env": env,
                "cwd": str(cwd),
                "stdout": str(log),
                "stderr": str(stderr or log),
                "stdin": str(stdin) if stdin else None,
            }
            self._proc.stdin.write(json.dumps(request).encode() + b"\n")
            self._proc.stdin.flush()
        return ForkedProcess(self, answer.get(timeout=30))

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            message = json.loads(line)
            if "pid" in message:
                with self._state:  # a pid the kernel gave again: forget the old child's code
                    self._codes.pop(message["pid"], None)
                self._spawned.pop(message["id"]).put(message["pid"])
                continue
            with self._state:
                pid, code = message["exited"], message["code"]
                self._codes[pid] = code
                waiters = self._waiters.pop(pid, [])
                self._state.notify_all()
            for loop, future in waiters:
                with contextlib.suppress(RuntimeError):  # that test's loop is closed
                    loop.call_soon_threadsafe(_settle, future, code)

    def returncode(self, pid: int) -> int | None:
        with self._state:
            return self._codes.get(pid)

    def wait_blocking(self, pid: int, timeout: float) -> int | None:
        """The child's exit code, or None if it still runs after ``timeout`` seconds."""
        with self._state:
            self._state.wait_for(lambda: pid in self._codes, timeout)
            return self._codes.get(pid)

    def exited(self, pid: int) -> asyncio.Future[int]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        with self._state:
            if pid in self._codes:
                future.set_result(self._codes[pid])
            else:
                self._waiters.setdefault(pid, []).append((loop, future))
        return future


def zygote_launcher() -> list[str]:
    """How to start a Python process: forked from the suite's zygote when it runs."""
    from tests import zygote

    if zygote.serving() is not None:
        return [sys.executable, "-S", "-I", zygote.LAUNCHER]
    return [sys.executable]


def _settle(future: asyncio.Future[int], code: int) -> None:
    if not future.done():
        future.set_result(code)


class ForkedProcess:
    """What the harness uses of ``asyncio.subprocess.Process``, for a forked child."""

    def __init__(self, server: ForkServer, pid: int) -> None:
        self._server = server
        self.pid = pid

    @property
    def returncode(self) -> int | None:
        return self._server.returncode(self.pid)

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    async def wait(self) -> int:
        return await self._server.exited(self.pid)


def run_module(
    argv: list[str],
    *,
    env: dict[str, str],
    cwd: Path,
    timeout: float = 60.0,
    stdin: str | None = None,
    merge_stderr: bool = False,
) -> subprocess.CompletedProcess[str]:
    """``subprocess.run([python, "-m", *argv], capture_output=True, text=True)``, forked from
    the worker's server when it is on (the CLI tests' way to run ``python -m bot ...``);
    ``merge_stderr``: stderr goes to stdout, in the order written (``stderr=STDOUT``)."""
    if argv[:1] == ["bot"]:
        from tests.marks import bot_process_allowed

        bot_process_allowed()
    server = ForkServer.shared()
    if server is None:
        return subprocess.run(
            [sys.executable, "-m", *argv],
            cwd=cwd,
            env=env,
            input=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
            text=True,
            timeout=timeout,
            check=False,
        )
    with tempfile.TemporaryDirectory(prefix="fork-") as folder:
        out, err, given = (Path(folder) / name for name in ("out", "err", "in"))
        if stdin is not None:
            given.write_text(stdin)
        err.touch()
        child = server.spawn(
            argv,
            env=env,
            cwd=cwd,
            log=out,
            stderr=out if merge_stderr else err,
            stdin=given if stdin is not None else None,
        )
        code = server.wait_blocking(child.pid, timeout)
        if code is None:
            child.kill()
            server.wait_blocking(child.pid, 10)
            raise subprocess.TimeoutExpired(["-m", *argv], timeout)
        return subprocess.CompletedProcess(
            ["-m", *argv], code, out.read_text(errors="replace"), err.read_text(errors="replace")
        )


async def run_module_async(
    argv: list[str],
    *,
    env: dict[str, str],
    cwd: Path,
    timeout: float = 60.0,  # noqa: ASYNC109 (the blocking wait in the thread takes it)
    stdin: str | None = None,
    merge_stderr: bool = False,
) -> subprocess.CompletedProcess[str]:
    """`run_module` for a test's event loop (the wait runs in a thread: the loop goes on
    serving the fakes the command talks to)."""
    return await asyncio.to_thread(
        run_module, argv, env=env, cwd=cwd, timeout=timeout, stdin=stdin, merge_stderr=merge_stderr
    )


if __name__ == "__main__":
    _serve()
