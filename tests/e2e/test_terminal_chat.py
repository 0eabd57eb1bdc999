"""`python -m bot chat` as a person uses it: in a real pseudo-terminal, against the fake
Yandex server (issue 27, item 10). Line editing and history, its own commands, Ctrl-C stops
an answer and a second one at the prompt quits, no log lines inside answers."""

from __future__ import annotations

import asyncio
import os
import platform
import pty
import re
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.fakes.yandex.server import FakeFoundationModels
from tests.marks import bot_process_allowed

pytestmark = [pytest.mark.process, pytest.mark.timeout(90)]
COMPLETION = "/foundationModels/v1/completion"
# Syscall numbers of select, pselect6, poll, ppoll: what /proc/<pid>/syscall shows while
# readline waits for a key (x86_64 and aarch64; elsewhere the test cannot tell and just types).
_SELECT_CALLS = {"x86_64": {"7", "23", "270", "271"}, "aarch64": {"72", "73"}}


def _syscall(pid: int) -> str:
    """The syscall `pid`'s main thread waits in ("running" when it runs): a /proc read."""
    fields = Path(f"/proc/{pid}/syscall").read_text().split()
    return fields[0] if fields else ""


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|\r")


class Terminal:
    """A child process on a pty: what it printed so far, and keys to type."""

    def __init__(self, pid: int, fd: int) -> None:
        self.pid, self.fd = pid, fd
        self.raw = b""
        self._more = asyncio.Event()
        asyncio.get_running_loop().add_reader(fd, self._read)

    def _read(self) -> None:
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # the child closed the terminal
            chunk = b""
        if not chunk:
            asyncio.get_running_loop().remove_reader(self.fd)
        self.raw += chunk
        self._more.set()

    @property
    def text(self) -> str:
        return _ANSI.sub("", self.raw.decode("utf-8", "replace"))

    def type(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    async def interrupt_at_prompt(self, within: float = 20.0) -> None:
        """Ctrl-C once the chat waits for keys in readline's select(), not merely once the
        prompt shows: CPython's readline looks at signals only when select() is interrupted,
        so a SIGINT that lands between the prompt's drawing and select() is noted and never
        acted on (the chat sits at the prompt; seen under a loaded machine). A person cannot
        type that fast; a test can."""
        waits = _SELECT_CALLS.get(platform.machine(), set())
        async with asyncio.timeout(within):
            while waits:
                if _syscall(self.pid) in waits:
                    break
                await asyncio.sleep(0.02)
        self.type("\x03")

    async def expect(self, pattern: str, after: int = 0, timeout: float = 20.0) -> int:  # noqa: ASYNC109
        """Wait for `pattern` (a regex) in the output past `after`; the end of the match."""
        async with asyncio.timeout(timeout):
            while True:
                match = re.compile(pattern).search(self.text, after)
                if match:
                    return match.end()
                self._more.clear()
                await self._more.wait()

    async def exit_code(self) -> int:
        for _ in range(1200):  # 60 s: a loaded machine (the whole suite) shuts down slowly
            pid, status = os.waitpid(self.pid, os.WNOHANG)  # noqa: ASYNC222 - WNOHANG: no wait
            if pid:
                return os.waitstatus_to_exitcode(status)
            await asyncio.sleep(0.05)
        # Where it hangs: SIGABRT makes faulthandler (PYTHONFAULTHANDLER, chat_env) print
        # every thread's stack to the terminal.
        os.kill(self.pid, signal.SIGABRT)
        for _ in range(100):
            if os.waitpid(self.pid, os.WNOHANG)[0]:  # noqa: ASYNC222 - WNOHANG: no wait
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)  # what it printed last, read
        raise TimeoutError(f"the chat did not exit; its terminal:\n{self.text[-6000:]}")


def chat_env(tmp_path: Path, fm: FakeFoundationModels) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "YANDEX_"))}
    env.update(
        PYTHONPATH=str(REPO_ROOT), HOME=str(tmp_path), TERM="xterm", LOG_LEVEL="INFO",
        PYTHONFAULTHANDLER="1",
        YANDEX_API_KEY="k", YANDEX_FOLDER_ID="f", YANDEX_LLM_URL=fm.url,
        YANDEX_OPERATION_URL=fm.url, DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
    )
    return env


async def spawn(*args: str, cwd: Path, env: dict[str, str]) -> Terminal:
    bot_process_allowed()
    pid, fd = pty.fork()
    if pid == 0:  # the child: the pty is its controlling terminal, as in a real shell
        os.chdir(cwd)
        os.execve(sys.executable, [sys.executable, "-m", "bot", *args], env)
    return Terminal(pid, fd)


@pytest.fixture
async def fm() -> AsyncIterator[FakeFoundationModels]:
    async with FakeFoundationModels(api_key="k", folder_id="f") as server:
        yield server


def questions(fm: FakeFoundationModels) -> list[str]:
    return [r.json["messages"][-1]["text"] for r in fm.requests if r.path == COMPLETION]


async def test_a_pleasant_repl_in_a_real_terminal(
    tmp_path: Path, fm: FakeFoundationModels
) -> None:
    term = await spawn("chat", cwd=tmp_path, env=chat_env(tmp_path, fm))
    at = await term.expect(r"you> ")
    assert "/help" in term.text  # the banner names it

    term.type("/help\r")
    at = await term.expect(r"/retry.*\n(.*\n)*.*/exit.*\n(.*\n)*you> ", at)
    for command in ("/reset", "/retry", "/image", "/exit"):
        assert command in term.text
    term.type("/image a cat on a sofa\r")
    at = await term.expect(r"text only.*\n(.*\n)*you> ", at)
    term.type("/imagine something\r")
    at = await term.expect(r"unknown command /imagine.*\n(.*\n)*you> ", at)
    assert questions(fm) == []  # none of it went to the model

    # Ctrl-C stops the answer being written; the chat goes on.
    fm.queue_reply("Once upon a time " + "and then " * 60 + "the end.", chunks=60, interval=0.2)
    term.type("tell me a long story\r")
    at = await term.expect(r"bot> Once upon a time", at)
    term.type("\x03")
    at = await term.expect(r"\[stopped\]\n(.*\n)*you> ", at)
    assert "the end." not in term.text

    # The up arrow brings the last line back (readline), edited with the left arrow.
    fm.queue_reply("A shorter one.")
    term.type("\x1b[A" + "\x1b[D" * 6 + "ish\r")
    at = await term.expect(r"bot> A shorter one\.\n(.*\n)*you> ", at)
    assert questions(fm) == ["tell me a long story", "tell me a longish story"]

    # A second Ctrl-C, at the prompt, quits.
    await term.interrupt_at_prompt()
    assert await term.exit_code() == 0
    shown = term.text
    assert "^[[A" not in shown
    assert not re.search(r"\b(INFO|DEBUG)\b", shown), shown  # no log line inside answers
    assert "alembic.runtime" not in shown
    assert "tell me a longish story" in (tmp_path / ".fmbot_history").read_text()
    with sqlite3.connect(tmp_path / "bot.db") as db:
        statuses = [row[0] for row in db.execute(
            "SELECT status FROM messages WHERE role = 'assistant' ORDER BY id")]
    assert statuses == ["cancelled", "complete"]
