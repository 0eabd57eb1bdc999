"""fmbot's command line run in the test's own process: `run_bot(["check"], env=..., cwd=...)`.

It calls the `main` that `python -m bot` and the `fmbot` script call, with what the command
would have as a process: exactly `env` as its environment, `cwd` as its working directory,
`stdin` as its input, its output and its log lines captured, and SystemExit taken as its exit
code. Everything it changes is put back afterwards: the environment, the working directory,
the standard streams, the logging configuration, the import path, the modules it imported
from its working directory (a project's `mybot.py` is another test's too) and the warning
filters. The answer has the shape `subprocess.run` gives, so a test reads it the same way.

A bot process costs a fresh interpreter (about 3.7 CPU-seconds, most of it `import aiogram`:
bench/bench_startup.py); a command run here costs what it does. A real process stays where
the process is the subject (the entry point's exit codes, signals, start-up in a fresh
interpreter): those tests are marked `process` and start `python -m bot` themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import ModuleType

# One command at a time in a process: the environment, the working directory and the
# standard streams are the process's own.
_ONE_AT_A_TIME = threading.Lock()


def run_bot(
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    stdin: str | None = None,
    merge_stderr: bool = False,
) -> subprocess.CompletedProcess[str]:
    """`python -m bot *args` in this process (see the module docstring); `merge_stderr`:
    the error stream goes to the output, in the order written."""
    from bot.cli import main

    out = io.StringIO()
    err = out if merge_stderr else io.StringIO()
    with _ONE_AT_A_TIME, _as_a_process(args, env, cwd, stdin, out, err):
        try:
            code = main(list(args))
        except SystemExit as exc:
            code = _exit_code(exc.code, err)
    errors = "" if merge_stderr else err.getvalue()
    line = ["python", "-m", "bot", *args]
    return subprocess.CompletedProcess(line, code, out.getvalue(), errors)


async def run_bot_async(
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    stdin: str | None = None,
    merge_stderr: bool = False,
) -> subprocess.CompletedProcess[str]:
    """`run_bot` beside the test's event loop: the command runs its own loop in a thread, and
    the test's loop goes on serving the fakes the command talks to."""
    return await asyncio.to_thread(
        run_bot, args, env=env, cwd=cwd, stdin=stdin, merge_stderr=merge_stderr
    )


def _exit_code(code: object, err: io.StringIO) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=err)  # SystemExit("message") prints it and exits 1, as Python does
    return 1


@contextlib.contextmanager
def _as_a_process(
    args: Sequence[str],
    env: Mapping[str, str],
    cwd: Path,
    stdin: str | None,
    out: io.StringIO,
    err: io.StringIO,
) -> Iterator[None]:
    environ = dict(os.environ)
    folder = os.getcwd()
    streams = sys.stdin, sys.stdout, sys.stderr
    path = list(sys.path)
    # A process imports its --app module afresh: one a test imported itself (examples'
    # `mybot`) is put aside for the command, or `--app mybot:app` would find that one.
    aside = _put_aside(_app_modules(args))
    modules = set(sys.modules)
    logs = _LoggingState()
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    # A process starts with PYTHONPATH's folders at the front of its import path.
    sys.path[:0] = [part for part in env.get("PYTHONPATH", "").split(os.pathsep) if part]
    sys.stdin = io.StringIO(stdin or "")
    sys.stdout, sys.stderr = out, err
    try:
        with warnings.catch_warnings():
            yield
    finally:
        sys.stdin, sys.stdout, sys.stderr = streams
        os.chdir(folder)
        os.environ.clear()
        os.environ.update(environ)
        sys.path[:] = path
        logs.restore()
        _forget_imported(set(sys.modules) - modules, cwd, env.get("PYTHONPATH", ""))
        for name, module in aside.items():
            sys.modules.setdefault(name, module)


def _app_modules(args: Sequence[str]) -> set[str]:
    """The top-level modules that `--app MODULE:ATTR` (or `--app=...`) names."""
    named = set()
    for i, arg in enumerate(args):
        value = arg.removeprefix("--app=") if arg.startswith("--app=") else (
            args[i + 1] if arg == "--app" and i + 1 < len(args) else None)
        if value:
            named.add(value.split(":", 1)[0].split(".", 1)[0])
    return named


def _put_aside(tops: set[str]) -> dict[str, ModuleType]:
    """Take these top-level modules and their submodules out of sys.modules."""
    aside = {name: module for name, module in sys.modules.items()
             if name.split(".", 1)[0] in tops and name.split(".", 1)[0] != "bot"}
    for name in aside:
        del sys.modules[name]
    return aside


def _forget_imported(names: set[str], cwd: Path, pythonpath: str) -> None:
    """Drop the modules the command imported from its own folders (its working directory
    and PYTHONPATH's, fmbot's own excepted): the next test's `mybot` is another module."""
    import bot

    ours = Path(bot.__file__).resolve().parent.parent
    folders = [Path(cwd).resolve()] + [
        Path(part).resolve() for part in pythonpath.split(os.pathsep) if part
    ]
    folders = [folder for folder in folders if folder != ours]
    for name in names:
        found = getattr(sys.modules.get(name), "__file__", None)
        if found and any(Path(found).resolve().is_relative_to(f) for f in folders):
            del sys.modules[name]


class _LoggingState:
    """The root logger's handlers and level and every named logger's settings, to put back:
    the command configures logging for its process (bot/log.py `setup_logging`)."""

    def __init__(self) -> None:
        root = logging.getLogger()
        self.root = (list(root.handlers), root.level)
        self.named = {
            name: (logger.level, logger.propagate, logger.disabled, list(logger.handlers))
            for name, logger in logging.Logger.manager.loggerDict.items()
            if isinstance(logger, logging.Logger)
        }
        self.disabled = logging.root.manager.disable

    def restore(self) -> None:
        root = logging.getLogger()
        handlers, level = self.root
        for handler in root.handlers:
            if handler not in handlers:
                handler.close()
                # `chat --log-file` opens its file for the process's life: here the process
                # goes on, so the file is closed with the command's handler.
                stream = getattr(handler, "stream", None)
                if isinstance(stream, io.TextIOWrapper) and Path(str(stream.name)).is_file():
                    stream.close()
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, logger in logging.Logger.manager.loggerDict.items():
            if not isinstance(logger, logging.Logger):
                continue
            saved = self.named.get(name)
            if saved is None:  # created by the command: leave it as a fresh logger is
                logger.setLevel(logging.NOTSET)
                logger.propagate, logger.disabled, logger.handlers[:] = True, False, []
                continue
            logger.setLevel(saved[0])
            logger.propagate, logger.disabled = saved[1], saved[2]
            logger.handlers[:] = saved[3]
        logging.disable(self.disabled)
