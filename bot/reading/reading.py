"""Documents read in worker processes, each read bounded in CPU time and memory whatever the
file holds: the knowledge base's files and documents users send in chat.

A thread cannot bound a parser: a 38 KB DOCX of 20,000 one-letter paragraphs once took a
minute of CPU in python-docx, a PDF's content stream or a ZIP part can be built to cost more,
and C code (lxml, zlib) cannot be interrupted from Python. So the extractors run in a few
long-lived worker processes (reading_worker.py) under RLIMIT_CPU per read and RLIMIT_AS for
the process: past its budget the kernel ends the worker, the caller gets
TooComplexDocumentError, and the next read starts a fresh worker. Workers are started on first
use and kept, so an ordinary file pays no start-up.

CPU time is not time: a worker that waits (stopped with SIGSTOP, starved by a busy machine)
uses none, and held its place forever. So each read also has a wall-clock limit: past it the
worker is killed and replaced (a worker found stopped is not the file's fault: the read is
made again once on a fresh one). Who reads next is reading_queue.py's: per-user fairness in
the main lane, a short look for every waiting read, and at most `per_user` reads of one user
waiting or running (more are refused at once with BusyReaderError).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from bot.reading import reading_worker
from bot.reading.blocks import (
    BusyReaderError,
    CorruptDocumentError,
    DocumentError,
    Extracted,
    TooComplexDocumentError,
)
from bot.reading.reading_queue import Lane, ReadQueue

log = logging.getLogger(__name__)

# The CPU a document sent in chat may cost (an ordinary 50-page PDF takes about 0.5 s).
CHAT_CPU_SECONDS = 3.0
# The time it may take, waiting included once a worker has it (DOCUMENT_READ_SECONDS).
CHAT_WALL_SECONDS = 20.0
# The knowledge base's files are the deployment's own and may be long manuals.
KB_CPU_SECONDS = 60.0
KB_WALL_SECONDS = 300.0
MEMORY_MB = 1024
WORKERS = 2
# The formats whose readers a worker imports before it is ready (documents sent in chat are
# mostly these; a first look at one then waits for no import). Any other format's reader is
# imported on its first read, outside the read's limits.
PRELOAD = (".pdf", ".docx")
# A waiting read's look (reading_queue.py): an ordinary file is read well within it.
LOOK_SECONDS = 1.0
# Reads of one user waiting or running at once (an album of files is a few).
PER_USER = 3
# A worker that has not finished its imports by then is broken (or the machine is).
START_SECONDS = 60.0
# A worker that says more than this is broken (a capped chat document's answer is about 8 MB
# at worst: 200,000 one-letter paragraphs as blocks).
MAX_ANSWER_BYTES = 64 * 1024 * 1024
# The worker imports only bot.reading: bot/__init__ (the whole public API, about 1.2 s of CPU)
# is replaced by a bare package. -P keeps the working directory off sys.path, so a
# developer's own "bot" folder cannot stand in for fmbot's.
_BOOTSTRAP = (
    "import sys, types\n"
    "package = types.ModuleType('bot')\n"
    "package.__path__ = [sys.argv[1]]\n"
    "sys.modules['bot'] = package\n"
    "from bot.reading.reading_worker import main\n"
    "main(int(sys.argv[2]), sys.argv[3])\n"
)
_PACKAGE = str(Path(__file__).resolve().parents[1])  # bot/
_ERRORS: dict[str, type[DocumentError]] = {
    kind: error for error, kind in reading_worker.ERROR_KINDS.items()
}
_ERRORS["corrupt"] = CorruptDocumentError


class _LogLine(BaseModel):
    """A line the parsers logged in the worker: logged here, with the document's context."""

    level: int = Field(ge=logging.DEBUG, le=logging.CRITICAL)
    logger: str = Field(pattern=r"^[A-Za-z0-9_.]{1,100}$")
    message: str = Field(max_length=reading_worker.MAX_LOG_CHARS)


class _Answer(BaseModel):
    """A worker's answer. The worker parsed hostile bytes: what it says is validated, field by
    field, like any input."""

    ok: Extracted | None = None
    error: str = ""
    message: str = ""
    logs: list[_LogLine] = Field(default=[], max_length=reading_worker.MAX_LOG_LINES + 1)


class _Worker:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.ended = False  # it closed its end of the pipe: it exited, or is exiting

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    async def ask(self, header: dict[str, Any], data: bytes, max_answer: int) -> bytes | None:
        """The answer's frame, or None when the worker ended (or said too much)."""
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None
        assert stdout is not None
        body = json.dumps(header).encode()
        try:
            stdin.write(reading_worker.HEADER.pack(len(body)) + body)
            stdin.write(reading_worker.HEADER.pack(len(data)) + data)
            await stdin.drain()
            head = await stdout.readexactly(reading_worker.HEADER.size)
            (size,) = reading_worker.HEADER.unpack(head)
            if size > max_answer:
                log.warning("document worker answered %d bytes (at most %d): ended",
                            size, max_answer)
                return None
            return await stdout.readexactly(size)
        except (asyncio.IncompleteReadError, ConnectionError):
            self.ended = True
            return None

    def stopped(self) -> bool:
        """Whether the process is stopped (SIGSTOP, a debugger): it would never answer.
        Read from /proc (Linux); elsewhere a stopped worker is found by the wall-clock limit."""
        try:
            with open(f"/proc/{self.process.pid}/stat", "rb") as stat:
                state = stat.read().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        return state in (b"T", b"t")

    async def end(self) -> int | None:
        # A worker that ended by itself is not signalled: Popen.send_signal() would reap it
        # here first and the exit code (SIGXCPU: over its budget) would be lost to asyncio's
        # child watcher ("Unknown child process ... returncode 255").
        if self.alive and not self.ended:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        # On Python 3.11 wait() returns only once the pipes are closed too: what the worker
        # wrote before it ended (bounded: it can write no more) is read and dropped.
        if self.process.stdout is not None:
            await self.process.stdout.read()
        return await self.process.wait()


class _NeedsMoreError(Exception):
    """A look ran out of its time: the read goes back for its full turn."""


class DocumentReader:
    """`await reader.read(name, data)`: the file's text as blocks, or a DocumentError subclass
    (TooComplexDocumentError past `cpu_seconds` of CPU, `wall_seconds` of time or `memory_mb`
    of address space; BusyReaderError past `per_user` reads of one user). At most `workers`
    reads run at once, and one look of `look_seconds` (0: none); `preload`: the formats whose
    readers each worker imports before its first read (the others on first use, outside the
    read's limits too); `aclose()` ends the workers."""

    def __init__(
        self,
        *,
        cpu_seconds: float = CHAT_CPU_SECONDS,
        memory_mb: int = MEMORY_MB,
        workers: int = WORKERS,
        wall_seconds: float = CHAT_WALL_SECONDS,
        look_seconds: float = LOOK_SECONDS,
        per_user: int = PER_USER,
        preload: tuple[str, ...] = PRELOAD,
    ) -> None:
        self.cpu_seconds = cpu_seconds
        self._preload = ",".join(preload)
        self.wall_seconds = wall_seconds
        self.look_seconds = look_seconds
        self.per_user = per_user
        self._memory_bytes = memory_mb * 1024 * 1024
        self._queue = ReadQueue(workers, look=look_seconds > 0)
        self._users: Counter[int] = Counter()  # reads waiting or running, per user
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._closed = False

    @property
    def worker_pids(self) -> tuple[int, ...]:
        """The live workers' process ids (for operators and tests measuring their CPU)."""
        return tuple(w.process.pid for w in (*self._idle, *self._busy) if w.alive)

    async def read(
        self, name: str, data: bytes, *, max_chars: int | None = None, sent: bool = False,
        user: int | None = None, chat_id: int | None = None,
    ) -> Extracted:
        """`name`'s suffix picks the reader (`sent`: a file sent in chat, every plain-text type
        read as plain text); `max_chars` caps the text read, whatever the format; `user`: who
        sent it, for the per-user share (None: the deployment's own files). What the parser
        logs is logged with `name` and `chat_id` (the chat that sent it)."""
        if self._closed:
            raise RuntimeError("the document reader is closed")
        if user is not None and self._users[user] >= self.per_user:
            raise BusyReaderError()
        header = {"name": name, "max_chars": max_chars, "sent": sent,
                  "cpu_seconds": self.cpu_seconds}
        if user is not None:
            self._users[user] += 1
        try:
            return await self._read(name, data, header, user, chat_id)
        finally:
            if user is not None:
                self._users[user] -= 1
                if self._users[user] <= 0:
                    del self._users[user]

    async def _read(
        self, name: str, data: bytes, header: dict[str, Any], user: int | None,
        chat_id: int | None,
    ) -> Extracted:
        entry = self._queue.enqueue(user)
        lane = await self._queue.wait(entry)
        if lane is Lane.LOOK:
            look = {**header, "cpu_seconds": min(self.cpu_seconds, self.look_seconds)}
            try:
                return await self._attempt(name, data, look, self.look_seconds, chat_id,
                                           look=True)
            except _NeedsMoreError:
                pass
            finally:
                self._queue.release(entry, Lane.LOOK)
            entry = self._queue.enqueue(user, after=entry)
            lane = await self._queue.wait(entry)
        try:
            return await self._attempt(name, data, header, self.wall_seconds, chat_id)
        finally:
            self._queue.release(entry, lane)

    async def _attempt(
        self, name: str, data: bytes, header: dict[str, Any], wall: float,
        chat_id: int | None = None, *, look: bool = False, again: bool = True,
    ) -> Extracted:
        worker = await self._worker()
        self._busy.add(worker)
        frame: bytes | None = None
        late = stopped = False
        try:
            try:
                async with asyncio.timeout(wall):
                    frame = await worker.ask(header, data, MAX_ANSWER_BYTES)
            except TimeoutError:
                late, stopped = True, worker.stopped()
        finally:
            self._busy.discard(worker)
            if frame is None or not worker.alive or self._closed:
                # Ended, broken, late or cancelled mid-read: never reused. Shielded: a
                # cancelled read still reaps its worker (SIGKILL ends a stopped one too).
                code = await asyncio.shield(worker.end())
            else:
                self._idle.append(worker)
        if frame is not None:
            return self._result(name, frame, chat_id)
        if stopped and again and not self._closed:
            log.warning("document %r: its worker %d was stopped (SIGSTOP?); replaced, read "
                        "again", name, worker.process.pid)
            return await self._attempt(name, data, header, wall, chat_id, look=look,
                                       again=False)
        if look and (late or code == -signal.SIGXCPU):
            raise _NeedsMoreError
        if late:
            log.warning("document %r: reading it took over %.0f s; refused", name, wall)
            raise TooComplexDocumentError()
        raise self._failure(name, code)

    async def _worker(self) -> _Worker:
        """An idle worker fit to read, or a new one; a stopped one is ended, not used."""
        while self._idle:
            worker = self._idle.pop()
            if worker.alive and not worker.stopped():
                return worker
            if worker.alive:
                log.warning("document worker %d was stopped (SIGSTOP?): replaced",
                            worker.process.pid)
            await worker.end()
        return await self._start()

    async def aclose(self) -> None:
        self._closed = True
        workers, self._idle = [*self._idle, *self._busy], []
        for worker in workers:
            await worker.end()

    async def _start(self) -> _Worker:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-P", "-c", _BOOTSTRAP, _PACKAGE, str(self._memory_bytes),
            self._preload,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )
        worker = _Worker(process)
        # Its imports take most of a second: waited for here, outside the read's limits.
        assert process.stdout is not None
        try:
            async with asyncio.timeout(START_SECONDS):
                head = await process.stdout.readexactly(reading_worker.HEADER.size)
                (size,) = reading_worker.HEADER.unpack(head)
                if size > 64:
                    raise ConnectionError("not a ready frame")
                await process.stdout.readexactly(size)
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError) as exc:
            await asyncio.shield(worker.end())
            log.warning("a document worker did not start: %s", type(exc).__name__)
            raise CorruptDocumentError("the reader could not start") from None
        except BaseException:
            await asyncio.shield(worker.end())
            raise
        return worker

    def _failure(self, name: str, code: int | None) -> DocumentError:
        if code == -signal.SIGXCPU:
            log.warning("document %r: reading it took over %.0f CPU-seconds; refused",
                        name, self.cpu_seconds)
            return TooComplexDocumentError()
        log.warning("document %r: the worker reading it ended (exit code %s)", name, code)
        return CorruptDocumentError("the reader failed on this file (damaged?)")

    def _result(self, name: str, frame: bytes, chat_id: int | None) -> Extracted:
        try:
            answer = _Answer.model_validate_json(frame)
        except ValidationError as exc:
            log.warning("document %r: the worker's answer is malformed: %s", name,
                        exc.errors(include_input=False)[:1])
            raise CorruptDocumentError("the reader failed on this file (damaged?)") from None
        where = f"document {name!r}" + (f" in chat {chat_id}" if chat_id is not None else "")
        for line in answer.logs:
            # Under the parser's own logger name ("pypdf._reader"), so its level applies; the
            # message is the hostile file's as much as pypdf's: one line, newlines escaped.
            logging.getLogger(line.logger).log(
                line.level, "%s: %s", where, line.message.replace("\n", "\\n"))
        if answer.ok is not None:
            return answer.ok
        error = _ERRORS.get(answer.error, CorruptDocumentError)
        raise error(answer.message) if answer.message else error()
