"""The suite's processes forked from one interpreter that has imported the heavy libraries.

Each pytest-xdist worker, and each bot, fake or MCP tracker process a test starts, is a new
interpreter that imports aiogram (about 630 pydantic models built at import), SQLAlchemy,
numpy, the MCP SDK and fmbot before it does anything: 3.5-7 CPU-seconds on this 2-core
machine, for ten workers and some fifty bot processes a run. This server (the "zygote" of
Android and Chromium) imports them once and forks a child for each process that asks.

A child is a real process run the way the interpreter would run it: ``-c CODE`` (how execnet
starts an xdist worker: ``python -u -c "import sys;exec(eval(sys.stdin.readline()))"``) or
``-m MODULE ARGS`` (``python -m bot run``), with the asking process's stdin, stdout and stderr
(passed over a Unix socket), working directory and environment. What it shares with its
siblings is the modules imported before the fork: no thread, no event loop, no open
connection exists in the server when it forks, and no test module or pytest plugin is among
them (pytest must import those itself to rewrite their asserts).

The asking side is a tiny launcher (``python -S -I tests/zygote.py -c ...``: no site, no
imports beyond the standard library's few) that stands in for the child: it forwards SIGTERM,
SIGINT and SIGHUP to it, and exits with its exit code, so ``Popen.wait``, ``kill`` and the
exit status behave as for a process started directly. If the launcher dies first (SIGKILL),
the server kills its child; a launcher started as a process group's leader (``process_group=0``)
has its child join the group, so a SIGKILL to the group ends both in one call. A test starts
a process the ordinary way (``subprocess``, ``asyncio.create_subprocess_exec``) with
``launcher()`` as the interpreter and ``reaching(env)`` as its environment.

The suite's conftest starts the server for an xdist run and points xdist's ``--tx`` at the
launcher (``popen//python=...``, execnet's documented way to name the interpreter). Set
``FMBOT_TEST_ZYGOTE=0`` to start every process as a fresh interpreter instead.

Protocol, over a Unix stream socket: the launcher sends one JSON line ``{"argv", "cwd",
"env", "group", "parent"}`` with its fds 0, 1 and 2 (SCM_RIGHTS); the server answers
``{"pid": ...}`` once it has forked and ``{"code": ...}`` (``-N`` for a signal) when it has
reaped the child.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

# Only the standard library above: the launcher runs this file with -S -I.

ENV = "FMBOT_TEST_ZYGOTE"
LAUNCHER = os.path.abspath(__file__)


def serving() -> str | None:
    """The socket of the zygote this process's run has (its path is in the environment the
    suite's processes inherit), or None: no zygote, or FMBOT_TEST_ZYGOTE=0."""
    path = os.environ.get(ENV, "")
    return path if path not in ("", "0") else None


def launcher() -> list[str]:
    """How to start ``python ARGS``: through the run's zygote when it has one (a child forked
    with the heavy imports done), else a fresh interpreter (bench/, a run without xdist). The
    launcher finds the zygote in its environment: give it `reaching(env)`."""
    if serving() is None:
        return [sys.executable]
    return [sys.executable, "-S", "-I", LAUNCHER]


def reaching(env: dict[str, str]) -> dict[str, str]:
    """`env`, with the run's zygote in it when there is one (where the launcher looks)."""
    path = serving()
    return env if path is None else {**env, ENV: path}

# What every worker imports while it collects and every bot process at its start, by the
# modules that pull in the most; fmbot's pytest plugin (bot.testing) and the test modules are not
# among them: pytest imports those itself, to rewrite their asserts.
PRELOAD = (
    "aiogram",
    "aiogram.types",
    "aiosqlite",
    "sqlalchemy",
    "sqlalchemy.ext.asyncio",
    "sqlalchemy.dialects.sqlite.aiosqlite",
    "sqlalchemy.dialects.postgresql.asyncpg",
    "alembic.command",
    "alembic.script",
    "alembic.runtime.migration",
    "asyncpg",
    "redis.asyncio",
    "httpx",
    "aiohttp",
    "uvloop",
    "numpy",
    "hypothesis",
    "mcp",
    "mcp.server.mcpserver",  # the tracker the tool tests run (tests/features/tools/mcp_tracker.py)
    "pptx",
    "docx",
    "PIL.Image",
    "pypdf",
    "jsonschema",
    "prometheus_client",
    "starlette.applications",
    "uvicorn",
    "bot.cli",
    "bot.wiring.run",
    "bot.wiring.telegram",
    "bot.telegram.app",
    "bot.conversation.service",
    "bot.features.installed",
    "bot.features.knowledge.indexer",
    "bot.features.knowledge.store_sync",
    "bot.features.desk.telegram",
)


# --- the launcher (``python -S -I tests/zygote.py ARGS``) -----------------------------------


def launch(argv: list[str]) -> None:
    """Have the server run ``python ARGV`` with this process's fds, cwd and environment;
    stand in for it until it exits, then exit with its code."""
    child: list[int] = []  # its pid, once the server has forked it
    early: list[int] = []  # signals that came before that, delivered once it is known

    def forward(signum: int, _frame: object) -> None:
        if not child:
            early.append(signum)
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(child[0], signum)

    # First of all: a signal meant for the child must never end this stand-in instead.
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(os.environ[ENV])
    # Started as the leader of a process group of its own (`process_group=0`): the child
    # joins that group, so a signal to the group (SIGKILL) reaches both at once, as it would
    # reach a process started directly. Its parent (the test's worker) owns the child's CPU.
    group = os.getpid() if os.getpgrp() == os.getpid() else None
    request = json.dumps({"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ),
                          "group": group, "session": os.getsid(0), "parent": os.getppid()})
    socket.send_fds(sock, [request.encode() + b"\n"], [0, 1, 2])
    for fd in (0, 1, 2):  # the child holds them now; EOF must reach it, not stop at us
        os.close(fd)
    replies = sock.makefile("rb")
    first = replies.readline()
    if not first:
        os._exit(1)  # the server refused the request (it says why on its stderr)
    child.append(json.loads(first)["pid"])
    for came in early:
        forward(came, None)
    line = replies.readline()
    code = json.loads(line)["code"] if line else 1
    if code < 0:  # killed by a signal: so are we, as the caller expects
        with contextlib.suppress(OSError, ValueError):  # SIGKILL's cannot be set (nor needs to)
            signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    os._exit(code)


# --- the server (``python -m tests.zygote SOCKET``) ----------------------------------------


def serve(path: str, preload: bool = True) -> None:
    import gc
    import importlib
    import threading
    import time

    started = time.process_time()
    if preload:
        for name in PRELOAD:
            with contextlib.suppress(ImportError):
                importlib.import_module(name)
        # What every bot builds at start, built once here: the aiogram models of a turn's
        # first update and answers (bot/telegram/warmup.py), and SQLAlchemy's mappers
        # (configured on the first query). A bot forked from here finds them built, as its
        # second update would.
        with contextlib.suppress(ImportError):
            from sqlalchemy.orm import configure_mappers

            from bot.telegram.warmup import warm_models

            warm_models()
            configure_mappers()
    # The preloaded modules live as long as every process forked from here: frozen out of the
    # collector's scans, which then neither walk them nor write to their pages (a fork shares
    # those pages until written).
    gc.collect()
    gc.freeze()
    if threading.active_count() != 1:  # a fork copies only the forking thread
        raise SystemExit(f"zygote: {threading.active_count()} threads after the imports")
    # With FMBOT_TEST_CPU_REPORT, each reaped child's CPU is added to its launcher's parent's
    # ledger (tests/cpu_report.py): a bot process's CPU is the test's that started it.
    ledger = os.path.dirname(path) if os.environ.get("FMBOT_TEST_CPU_REPORT") else None
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    children: dict[int, socket.socket] = {}  # pid -> its launcher's connection
    parents: dict[int, int] = {}  # pid -> its launcher's parent
    by_fd: dict[int, int] = {}  # a launcher connection's fd -> its child's pid
    # The preload's CPU, for the run's summary: the same imports on every run, so it measures
    # the machine (the suite's time follows it; docs/development.md).
    preload_cpu = round(time.process_time() - started, 2)
    sys.stdout.write(json.dumps({"ready": os.getpid(), "preload_cpu": preload_cpu}) + "\n")
    sys.stdout.flush()
    while True:
        watched = [0, wake_r, listener.fileno(), *by_fd]
        ready, _, _ = select.select(watched, [], [])
        if wake_r in ready:
            with contextlib.suppress(BlockingIOError):
                os.read(wake_r, 512)
        _reap(children, by_fd, parents, ledger)
        if 0 in ready and not os.read(0, 512):
            return  # the suite is done: the children still running finish on their own
        for fd in ready:
            if fd in by_fd:  # a launcher went away before its child: as if it were killed
                pid = by_fd.pop(fd)
                children.pop(pid).close()
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        if listener.fileno() in ready:
            conn, _ = listener.accept()
            try:
                request, fds = _receive(conn)
            except (OSError, ValueError) as exc:  # a launcher gone mid-request: not our end
                print(f"zygote: a request was lost: {exc!r}", file=sys.stderr, flush=True)
                conn.close()
                continue
            pid = os.fork()
            if pid == 0:
                listener.close()
                _child(request, fds, (wake_r, wake_w), conn)  # never returns
            for fd in fds:
                os.close(fd)
            try:
                conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
            except OSError:  # its launcher is gone already: as if it had been killed
                conn.close()
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                continue
            children[pid] = conn
            by_fd[conn.fileno()] = pid
            parents[pid] = int(request.get("parent") or 0)


def _receive(conn: socket.socket) -> tuple[dict[str, Any], list[int]]:
    data, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
    try:
        while not data.endswith(b"\n"):
            more = conn.recv(1 << 16)
            if not more:
                raise ConnectionError("the launcher hung up mid-request")
            data += more
        if len(fds) != 3:
            raise ConnectionError(f"the launcher passed {len(fds)} streams, not 3")
        return json.loads(data), list(fds)
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise


def ended() -> Iterator[tuple[int, int, float]]:
    """Each child that has ended, reaped: its pid, exit code (``-N`` for a signal, as asyncio
    reports it) and CPU seconds."""
    while True:
        try:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        yield pid, os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime


def ledger_path(folder: str, parent: int) -> str:
    """Where the CPU of the children a process launched is added up (one line per child)."""
    return os.path.join(folder, f"cpu-{parent}")


def _reap(children: dict[int, socket.socket], by_fd: dict[int, int], parents: dict[int, int],
          ledger: str | None) -> None:
    for pid, code, cpu in ended():
        parent = parents.pop(pid, 0)
        if ledger is not None and parent:
            with open(ledger_path(ledger, parent), "a") as out:
                out.write(f"{cpu:.3f}\n")
        conn = children.pop(pid, None)
        if conn is None:
            continue
        by_fd.pop(conn.fileno(), None)
        with contextlib.suppress(OSError):
            conn.sendall(json.dumps({"code": code}).encode() + b"\n")
        conn.close()


def exit_as_main(body: Callable[[], object]) -> NoReturn:
    """Run `body` as the interpreter runs ``__main__``, then end the process as it would: with
    the code of the SystemExit it raised (0 when it returns; 1, the traceback printed, when it
    raises anything else), after the atexit functions and a flush of the streams."""
    import atexit
    import traceback

    code = 1
    try:
        try:
            body()
            code = 0
        except SystemExit as exc:
            if exc.code is None:
                code = 0
            elif isinstance(exc.code, int):
                code = exc.code
            else:
                print(exc.code, file=sys.stderr)
                code = 1
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(BaseException):
            atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(BaseException):
                stream.flush()
        os._exit(code)


def _child(request: dict[str, Any], fds: list[int], wake: tuple[int, int],
           conn: socket.socket) -> NoReturn:
    """Become ``python ARGV`` (``-c CODE`` or ``-m MODULE ...``) on the launcher's fds."""
    exit_as_main(lambda: _become(request, fds, wake, conn))


def _become(request: dict[str, Any], fds: list[int], wake: tuple[int, int],
            conn: socket.socket) -> None:
    import io
    import runpy
    import types

    # Its launcher's process group (see `launch`); only a group of its own session can be
    # joined, and a launcher started in a session of its own (`start_new_session`, as the MCP
    # SDK starts a stdio server) is not in the server's: that child stays in the server's
    # group, and is killed with its launcher as any other.
    if request.get("group") and request.get("session") == os.getsid(0):
        try:
            os.setpgid(0, int(request["group"]))
        except OSError:  # the group is gone: its launcher was killed before this child ran
            os._exit(1)
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for fd in wake:
        os.close(fd)
    conn.close()
    for target, fd in zip((0, 1, 2), fds, strict=True):
        os.dup2(fd, target)
        os.close(fd)
    os.closerange(3, 1024)
    argv = [str(a) for a in request["argv"]]
    # The streams a fresh interpreter would have (-u: stdout and stderr unbuffered).
    sys.stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)))
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), write_through=True)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), write_through=True,
                                  errors="backslashreplace")
    os.chdir(str(request["cwd"]))
    os.environ.clear()
    os.environ.update(request["env"])
    while argv and argv[0] in ("-u", "-B", "-S", "-I"):
        argv.pop(0)
    extra = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    rest = [p for p in sys.path[1:] if p not in extra]
    if argv[0] == "-c":
        sys.argv = ["-c", *argv[2:]]
        sys.path[:] = ["", *extra, *rest]
        main = types.ModuleType("__main__")
        sys.modules["__main__"] = main
        exec(compile(argv[1], "<string>", "exec"), main.__dict__)
    elif argv[0] == "-m":
        sys.argv = [argv[1], *argv[2:]]
        sys.path[:] = [os.getcwd(), *extra, *rest]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    else:
        raise SystemExit(f"zygote: cannot run {argv!r} (only -c and -m)")


# --- the test side ---------------------------------------------------------------------------


class Zygote:
    """The server, started by the suite's controlling process for an xdist run."""

    def __init__(self, folder: str, *, preload: bool = True) -> None:
        """`preload=False` starts a bare server, for tests of the server itself: the children
        import what they use (a full preload is aiogram's ~630 models, 3-7 CPU-seconds)."""
        import subprocess

        self.path = os.path.join(folder, "zygote.sock")
        root = os.path.dirname(os.path.dirname(LAUNCHER))
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "OPENBLAS_NUM_THREADS": "1"}
        self._proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "tests.zygote", *(() if preload else ("--bare",)),
             self.path],
            cwd=root, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )
        assert self._proc.stdout is not None
        first = json.loads(self._proc.stdout.readline() or b"{}")
        if "ready" not in first:
            raise RuntimeError("the zygote did not start (see its output above)")
        self.pid: int = first["ready"]
        self.preload_cpu: float = first["preload_cpu"]

    def python(self) -> str:
        """The interpreter command a child is launched with (execnet's ``python=``)."""
        return f"{sys.executable} -S -I {LAUNCHER}"

    def stop(self) -> None:
        """No more forks; the children still running go on to their end."""
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        self._proc.wait(30)


if __name__ == "__main__":
    if sys.argv[1] in ("-c", "-m", "-u", "-B"):
        launch(sys.argv[1:])
    else:
        serve(sys.argv[-1], preload=sys.argv[1] != "--bare")
        # The suite waits for this exit (Zygote.stop): skip the interpreter's teardown of
        # every preloaded module (about a second); nothing of ours is left to flush or close.
        sys.stdout.flush()
        os._exit(0)
