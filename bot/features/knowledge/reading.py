"""Documents read in worker processes, each read bounded in CPU time and memory whatever the
file holds: the knowledge base's files and documents users send in chat.

A thread cannot bound a parser: a 38 KB DOCX of 20,000 one-letter paragraphs once took a
minute of CPU in python-docx, a PDF's content stream or a ZIP part can be built to cost more,
and C code (lxml, zlib) cannot be interrupted from Python. So the extractors run in a few
long-lived worker processes (reading_worker.py) under RLIMIT_CPU per read and RLIMIT_AS for
the process: past its budget the kernel ends the worker, the caller gets
TooComplexDocumentError, and the next read starts a fresh worker. Workers are started on first
use and kept, so an ordinary file pays no start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from bot.features.knowledge import reading_worker
from bot.features.knowledge.blocks import (
    CorruptDocumentError,
    DocumentError,
    Extracted,
    TooComplexDocumentError,
)

log = logging.getLogger(__name__)

# The CPU a document sent in chat may cost (an ordinary 50-page PDF takes about 0.5 s).
CHAT_CPU_SECONDS = 3.0
# The knowledge base's files are the deployment's own and may be long manuals.
KB_CPU_SECONDS = 60.0
MEMORY_MB = 1024
WORKERS = 2
# A worker that says more than this is broken (a capped chat document's answer is about 8 MB
# at worst: 200,000 one-letter paragraphs as blocks).
MAX_ANSWER_BYTES = 64 * 1024 * 1024
# The worker imports only bot.features.knowledge: bot/__init__ (the whole public API, about
# 1.2 s of CPU) is replaced by a bare package. -P keeps the working directory off sys.path, so a
# developer's own "bot" folder cannot stand in for fmbot's.
_BOOTSTRAP = (
    "import sys, types\n"
    "package = types.ModuleType('bot')\n"
    "package.__path__ = [sys.argv[1]]\n"
    "sys.modules['bot'] = package\n"
    "from bot.features.knowledge.reading_worker import main\n"
    "main(int(sys.argv[2]))\n"
)
_PACKAGE = str(Path(__file__).resolve().parents[2])  # bot/
_ERRORS: dict[str, type[DocumentError]] = {
    kind: error for error, kind in reading_worker.ERROR_KINDS.items()
}
_ERRORS["corrupt"] = CorruptDocumentError


class _Answer(BaseModel):
    """A worker's answer. The worker parsed hostile bytes: what it says is validated, field by
    field, like any input."""

    ok: Extracted | None = None
    error: str = ""
    message: str = ""


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


class DocumentReader:
    """`await reader.read(name, data)`: the file's text as blocks, or a DocumentError subclass
    (TooComplexDocumentError past `cpu_seconds` of CPU or `memory_mb` of address space).
    At most `workers` reads run at once; `aclose()` ends the workers."""

    def __init__(
        self,
        *,
        cpu_seconds: float = CHAT_CPU_SECONDS,
        memory_mb: int = MEMORY_MB,
        workers: int = WORKERS,
    ) -> None:
        self.cpu_seconds = cpu_seconds
        self._memory_bytes = memory_mb * 1024 * 1024
        self._slots = asyncio.Semaphore(workers)
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._closed = False

    @property
    def worker_pids(self) -> tuple[int, ...]:
        """The live workers' process ids (for operators and tests measuring their CPU)."""
        return tuple(w.process.pid for w in (*self._idle, *self._busy) if w.alive)

    async def read(
        self, name: str, data: bytes, *, max_chars: int | None = None, sent: bool = False
    ) -> Extracted:
        """`name`'s suffix picks the reader (`sent`: a file sent in chat, every plain-text type
        read as plain text); `max_chars` caps the text read, whatever the format."""
        if self._closed:
            raise RuntimeError("the document reader is closed")
        header = {"name": name, "max_chars": max_chars, "sent": sent,
                  "cpu_seconds": self.cpu_seconds}
        async with self._slots:
            worker = self._idle.pop() if self._idle else await self._start()
            self._busy.add(worker)
            frame: bytes | None = None
            try:
                frame = await worker.ask(header, data, MAX_ANSWER_BYTES)
            finally:
                self._busy.discard(worker)
                if frame is None or not worker.alive or self._closed:
                    # Ended, broken or cancelled mid-read: never reused. Shielded: a
                    # cancelled read still reaps its worker.
                    code = await asyncio.shield(worker.end())
                else:
                    self._idle.append(worker)
        if frame is None:
            raise self._failure(name, code)
        return self._result(name, frame)

    async def aclose(self) -> None:
        self._closed = True
        workers, self._idle = [*self._idle, *self._busy], []
        for worker in workers:
            await worker.end()

    async def _start(self) -> _Worker:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-P", "-c", _BOOTSTRAP, _PACKAGE, str(self._memory_bytes),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )
        return _Worker(process)

    def _failure(self, name: str, code: int | None) -> DocumentError:
        if code == -signal.SIGXCPU:
            log.warning("document %r: reading it took over %.0f CPU-seconds; refused",
                        name, self.cpu_seconds)
            return TooComplexDocumentError()
        log.warning("document %r: the worker reading it ended (exit code %s)", name, code)
        return CorruptDocumentError("the reader failed on this file (damaged?)")

    def _result(self, name: str, frame: bytes) -> Extracted:
        try:
            answer = _Answer.model_validate_json(frame)
        except ValidationError as exc:
            log.warning("document %r: the worker's answer is malformed: %s", name,
                        exc.errors(include_input=False)[:1])
            raise CorruptDocumentError("the reader failed on this file (damaged?)") from None
        if answer.ok is not None:
            return answer.ok
        error = _ERRORS.get(answer.error, CorruptDocumentError)
        raise error(answer.message) if answer.message else error()
