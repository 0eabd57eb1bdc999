"""The worker process that reads documents for `reading.DocumentReader`: untrusted bytes are
parsed here, under limits the parent cannot enforce on its own threads.

Each read runs under RLIMIT_CPU (the kernel ends the process with SIGXCPU when the read's CPU
budget is spent, even inside C code: lxml, zlib) and the whole process under RLIMIT_AS (a
decompression bomb ends in MemoryError). The parent starts it as

    python -P -c BOOTSTRAP <path of the bot package>

and speaks frames on its stdin and stdout: a 4-byte big-endian length, then that many bytes.
Once started it says `{"ready": true}`; then a request is two frames (a JSON header, then the
file's bytes); the answer is one JSON frame, either {"ok": <Extracted as a dict>} or
{"error": <kind>, "message": <reason>}, with "logs": what the parsers logged during the read
([{"level", "logger", "message"}]). Results go back
as JSON, never pickle: a process that parsed hostile input is not trusted to hand the parent
objects to unpickle.

The worker has no log of its own: pypdf's warnings ("EOF marker not found") went to logging's
last-resort handler, a bare line on the shared stderr without time, chat or file. They go back
with the answer instead, and the parent logs them with the document's context.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import math
import os
import resource
import struct
import sys
from dataclasses import asdict
from typing import Any, BinaryIO

from bot.reading.blocks import (
    DocumentError,
    EncryptedDocumentError,
    MissingExtraError,
    NoTextError,
    TooComplexDocumentError,
    UnsupportedDocumentError,
)
from bot.reading.extractors import READER_MODULES, extract, extract_sent, suffix_of

HEADER = struct.Struct(">I")
# The error kinds the parent turns back into DocumentError subclasses.
ERROR_KINDS: dict[type[DocumentError], str] = {
    NoTextError: "no_text",
    EncryptedDocumentError: "encrypted",
    UnsupportedDocumentError: "unsupported",
    MissingExtraError: "missing_extra",
    TooComplexDocumentError: "too_complex",
}


# Bounds on what one read may log: a hostile file can make a parser warn once per object.
MAX_LOG_LINES = 20
MAX_LOG_CHARS = 500


class _Collector(logging.Handler):
    """The records of one read, as the parent will log them."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[dict[str, Any]] = []
        self.dropped = 0

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.lines) >= MAX_LOG_LINES:
            self.dropped += 1
            return
        try:
            message = record.getMessage()
        except Exception:  # a library's bad format string: its template says enough
            message = str(record.msg)
        self.lines.append({"level": record.levelno, "logger": record.name,
                           "message": message[:MAX_LOG_CHARS]})

    def take(self) -> list[dict[str, Any]]:
        lines, dropped = self.lines, self.dropped
        if dropped:
            lines.append({"level": logging.INFO, "logger": __name__,
                          "message": f"{dropped} more log lines of this read left out"})
        self.lines, self.dropped = [], 0
        return lines


def _read_frame(stream: BinaryIO) -> bytes | None:
    head = stream.read(HEADER.size)
    if len(head) < HEADER.size:
        return None  # the parent closed the pipe: it stopped, so does the worker
    (size,) = HEADER.unpack(head)
    body = stream.read(size)
    return body if len(body) == size else None


def _write_frame(stream: BinaryIO, payload: dict[str, Any]) -> None:
    body = json.dumps(payload, ensure_ascii=False).encode()
    stream.write(HEADER.pack(len(body)) + body)
    stream.flush()


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _answer(header: dict[str, Any], data: bytes, collector: _Collector) -> dict[str, Any]:
    answer = _extracted(header, data)
    answer["logs"] = collector.take()
    return answer


def _import_reader(name: str) -> None:
    """The reader of `name`'s format imported, outside any read's limits (a worker imports
    only the readers of the formats it is given: a knowledge base of Markdown never pays
    pypdf's import). One that cannot be imported is the read's to report."""
    module = READER_MODULES.get(suffix_of(name))
    if module is not None and module not in sys.modules:
        with contextlib.suppress(ImportError):
            importlib.import_module(module)


def _extracted(header: dict[str, Any], data: bytes) -> dict[str, Any]:
    name = str(header["name"])
    max_chars = header.get("max_chars")
    limit = None if max_chars is None else int(max_chars)
    # RLIMIT_CPU counts the process's whole life in whole seconds: this read may use what
    # the process has used so far plus its budget (rounded up to the next second).
    _import_reader(name)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = math.ceil(_cpu_used() + float(header["cpu_seconds"]))
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
    try:
        extracted = (extract_sent(name, data, limit) if header.get("sent")
                     else extract(name, data, max_chars=limit))
    except DocumentError as exc:
        return {"error": ERROR_KINDS.get(type(exc), "corrupt"), "message": str(exc)}
    except MemoryError:
        return {"error": "too_complex", "message": "needs more memory than a document may"}
    finally:
        resource.setrlimit(resource.RLIMIT_CPU, (resource.RLIM_INFINITY, hard))
    return {"ok": asdict(extracted)}


def main(memory_bytes: int, preload: str = "") -> None:
    """Serve reads on stdin until it closes. `preload`: the suffixes (".pdf,.docx") whose
    readers are imported before the worker says it is ready, so that its first read of them
    waits for no import (a chat's short first look at a file has a second)."""
    # No core file when the CPU limit ends a read (SIGXCPU dumps core by default).
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if memory_bytes > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    # The frames go out on a copy of fd 1, and fd 1 itself now points at stderr: nothing else
    # (a library's print, C code writing to stdout) can corrupt a frame.
    stdin = sys.stdin.buffer
    stdout = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    collector = _Collector()
    root = logging.getLogger()
    root.addHandler(collector)
    root.setLevel(logging.INFO)
    for suffix in filter(None, preload.split(",")):
        _import_reader(f"file{suffix}")
    # Ready: its imports are done. The parent waits for this before it gives a read a time
    # limit, so a fresh worker's start-up is never counted against a file.
    collector.take()  # what the imports said is no read's
    _write_frame(stdout, {"ready": True})
    while True:
        header = _read_frame(stdin)
        data = _read_frame(stdin) if header is not None else None
        if header is None or data is None:
            return
        _write_frame(stdout, _answer(json.loads(header), data, collector))
