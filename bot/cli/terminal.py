"""`fmbot chat`: a terminal chat over the same ConversationService and database as the bot.

A small REPL: answers stream as they arrive; line editing and a history kept between runs
(GNU readline, when the terminal has it); its own commands (`/help` lists them), never sent
to the model. Ctrl-C stops the answer being written (stored as cancelled, as /stop does in
Telegram); Ctrl-C at the prompt, Ctrl-D or /exit quits.

The prompt is read on the event loop's thread on purpose: nothing else runs while the user
types, and only the main thread gets SIGINT as a KeyboardInterrupt inside `input()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, TextIO, runtime_checkable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.conversation import ChatRef, ConversationService, Speaker, TurnResult
from bot.foundation_models.types import Snapshot
from bot.grounding.turn import grounded_of
from bot.storage.models import MessageStatus
from bot.storage.repositories import ChatRepository

PROMPT = "you> "
COMMANDS = {
    "/help": "this list",
    "/reset": "start a new conversation (the model forgets the earlier one)",
    "/retry": "answer the last question again",
    "/image": "not here: pictures are drawn in Telegram",
    "/exit": "quit (also /quit, Ctrl-D, or Ctrl-C at the prompt)",
}


class PressableCall(Protocol):
    """A call an answer waits for the user to press, as the terminal asks about it."""

    @property
    def id(self) -> int: ...

    @property
    def name(self) -> str: ...

    @property
    def arguments(self) -> Mapping[str, Any]: ...

    @property
    def description(self) -> str: ...


@runtime_checkable  # `fmbot chat` finds the feature offering it by this type
class Confirmations(Protocol):
    """Who decides a call that waits for a yes (the tool loop): the terminal asks here about
    each call a `waiting` answer waits for."""

    def waiting(self, result: TurnResult) -> Sequence[PressableCall]: ...

    async def decide(self, call_id: int, *, confirmed: bool, by: int) -> object: ...


BANNER = (
    "fmbot terminal chat. /help lists the commands; Ctrl-C stops an answer, Ctrl-D quits.\n"
)
HISTORY_LENGTH = 1000
# "/word" or "/word arguments": a command; "/etc/hosts is..." is a question.
_COMMAND = re.compile(r"^(/[A-Za-z_]+)(?:\s+(.*))?$", re.DOTALL)


class SnapshotPrinter:
    """Prints a cumulative stream: only the new tail when the text grew, the whole text
    again when the model revised what it had already sent."""

    def __init__(self, out: TextIO) -> None:
        self.out = out if out is not None else sys.stdout
        self.shown = ""

    def __call__(self, snapshot: Snapshot) -> None:
        text = snapshot.text
        if text.startswith(self.shown):
            self.out.write(text[len(self.shown) :])
        else:
            self.out.write("\n[revised]\n" + text)
        self.shown = text
        self.out.flush()


class LineHistory:
    """Readline's history in a file, when stdin is a terminal with readline."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.readline: ModuleType | None = None
        if path is None or not sys.stdin.isatty():
            return
        try:
            import readline
        except ImportError:  # pragma: no cover - Windows without pyreadline
            return
        self.readline = readline
        readline.set_history_length(HISTORY_LENGTH)
        with contextlib.suppress(OSError):
            readline.read_history_file(path)
        names = sorted({*COMMANDS, "/quit"})
        readline.set_completer(
            lambda text, state: ([n for n in names if n.startswith(text)] + [None])[state]
        )
        readline.set_completer_delims(" \t\n")
        readline.parse_and_bind("tab: complete")

    def save(self) -> None:
        if self.readline is None or self.path is None:
            return
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.readline.write_history_file(self.path)


class TerminalChat:
    def __init__(
        self,
        conversation: ConversationService,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        chat_id: int = 0,
        model: str | None = None,
        read_line: Callable[[str], str] = input,
        out: TextIO | None = None,
        history: Path | None = None,
        tools: Confirmations | None = None,
        is_admin: bool = False,
    ) -> None:
        """`tools`: the tool loop, which asks here about each call waiting for a yes; `out`:
        where the chat is printed (default: `sys.stdout` when the chat is made, not when this
        module was imported, so a caller that redirects the output gets it)."""
        self.conversation = conversation
        self.tools = tools
        self.sessionmaker = sessionmaker
        self.chat = ChatRef(chat_id, "private", "terminal")
        self.speaker = Speaker(chat_id, "you", is_admin=is_admin)
        self.model = model
        self.read_line = read_line
        self.out = out if out is not None else sys.stdout
        self.history = history

    async def run(self) -> None:
        if self.model is not None:
            async with self.sessionmaker() as session:
                await ChatRepository(session).upsert(self.chat.chat_id, "private", "terminal")
                await ChatRepository(session).set_model(self.chat.chat_id, self.model)
                await session.commit()
        lines = LineHistory(self.history)
        self.out.write(BANNER)
        self.out.flush()
        try:
            while True:
                line = self._prompt()
                if line is None:
                    return
                if not line:
                    continue
                match = _COMMAND.match(line)
                if match is None:
                    await self._interruptible(self._answer(line))
                elif not await self._command(match.group(1).lower(), line):
                    return
        finally:
            lines.save()

    async def _confirm(
        self, result: TurnResult, printer: SnapshotPrinter
    ) -> tuple[TurnResult | None, SnapshotPrinter]:
        """Ask about each call waiting for confirmation, then carry the turn on."""
        tools = self.tools
        if tools is None:  # nothing can wait for a press without the tool loop
            raise RuntimeError("a call waits for a press, but the chat has no tool loop")
        if result.text and not printer.shown:
            self.out.write(result.text)
        self.out.write("\n")
        for call in tools.waiting(result):
            arguments = json.dumps(dict(call.arguments), ensure_ascii=False)
            question = f"[{call.description or call.name}: {call.name} {arguments}] run it? [y/N] "
            answer = (await asyncio.to_thread(self.read_line, question)).strip().lower()
            await tools.decide(call.id, confirmed=answer in ("y", "yes", "д", "да"),
                               by=self.speaker.user_id)
        printer = SnapshotPrinter(self.out)
        self.out.write("bot> ")
        self.out.flush()
        carried = await self.conversation.resume(
            self.chat, self.speaker, result.message_id, on_snapshot=printer
        )
        return carried, printer

    def _prompt(self) -> str | None:
        """The next line; None to quit (Ctrl-D, or Ctrl-C at the prompt)."""
        with _sigint_raises():
            try:
                return self.read_line(PROMPT).strip()
            except (EOFError, KeyboardInterrupt):
                self.out.write("\n")
                self.out.flush()
                return None

    async def _command(self, name: str, line: str) -> bool:
        """Run one of the chat's own commands; False to quit."""
        if name in ("/exit", "/quit"):
            return False
        if name == "/help":
            width = max(map(len, COMMANDS))
            self._say("\n".join(f"  {c:<{width}}  {what}" for c, what in COMMANDS.items()))
        elif name == "/reset":
            await self.conversation.reset(self.chat.chat_id)
            self._say("[new conversation]")
        elif name == "/retry":
            await self._interruptible(self._answer(line, retry=True))
        elif name == "/image":
            self._say("[the terminal chat is text only: /image draws pictures in Telegram]")
        else:
            self._say(f"[unknown command {name}: /help lists the commands]")
        return True

    def _say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    async def _interruptible(self, work: Awaitable[None]) -> None:
        """Run `work`; Ctrl-C meanwhile stops it (the chat goes on)."""
        task = asyncio.ensure_future(work)
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGINT, task.cancel)
            handled = True
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, Windows
            handled = False
        try:
            await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # the chat itself is being stopped
            self._say("\n[stopped]")
        finally:
            if handled:
                loop.remove_signal_handler(signal.SIGINT)

    async def _answer(self, line: str, *, retry: bool = False) -> None:
        printer = SnapshotPrinter(self.out)
        self.out.write("bot> ")
        self.out.flush()
        result: TurnResult | None
        if retry:
            result = await self.conversation.retry_last(
                self.chat, self.speaker, on_snapshot=printer
            )
        else:
            result = await self.conversation.run_turn(
                self.chat, self.speaker, line, on_snapshot=printer
            )
        if result is None:
            self._say("[nothing to retry]")
            return
        while result is not None and result.status is MessageStatus.WAITING:  # a "yes"?
            result, printer = await self._confirm(result, printer)
        if result is None:
            return
        grounded = grounded_of(result)
        if grounded.not_found or (not printer.shown and result.text):
            self.out.write(result.text)  # "not found" (nothing was streamed) is stored as shown
        self.out.write("\n")
        for source in grounded.sources:
            if source.cited:
                self.out.write(f"[{source.number}] {source.title} ({source.url or source.path})\n")
        if result.error is not None:
            self.out.write(f"[error: {result.error}]\n")
        elif result.status is MessageStatus.TRUNCATED:
            self.out.write("[the answer reached the length limit]\n")
        if result.trimmed_history:
            self.out.write("[older messages were left out of the context]\n")
        self.out.flush()


@contextlib.contextmanager
def _sigint_raises() -> Iterator[None]:
    """Ctrl-C as a KeyboardInterrupt inside `input()` (asyncio's own handler would cancel the
    whole chat instead); the handler in place before comes back afterwards."""
    try:
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
