"""The fake Foundation Models server, paced and instrumented for the load benchmark.

    python -m bench.load_fm --port 0 --api-key K --folder F [--words 300] [--rate 40]
        [--first-delay 0.3] [--chunk-words 12] [--quota 20]

A subclass of `tests.fakes.yandex.server.FakeFoundationModels` (the kit's fake, which imports
nothing else of `bot`), so the wire format, auth checks, images and the `/_control/script` API
are the fake's own. What it adds, all for unscripted completions:

- **Answers of `--words` words** (the fake counts a word as a token): "Echo: <last user
  message>" followed by deterministic filler words, so every answer embeds the user's unique
  text and the driver can pair model requests with chats.
- **Pacing as specified**: the first chunk after `--first-delay` seconds, then cumulative
  chunks of `--chunk-words` words at `--rate` words per second (about 10-15 tokens a chunk is
  what the real service sends; ../shared/reference/foundation-models-api.md §2.6).
- **The quota Yandex enforces**: more than `--quota` concurrent generations answer 429 (as the
  real `ai.textGenerationCompletionSessionsCount` quota does), counted in `quota_429`.
- **Timing per request**: when the first and the last chunk were written (`time.time()`, the
  same clock as the fake Telegram's), the prompt's last user message and the final text, read
  with `GET /_control/load`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass
from typing import Any

from bot.testing.yandex.exchange import Request, Response, Stream, json_response
from bot.testing.yandex.scripts import Reply
from tests.fakes.yandex.server import FakeFoundationModels, serve_until_signalled

FILLER = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "a",
    "lazy",
    "dog",
    "while",
    "seven",
    "calm",
    "rivers",
    "run",
    "past",
    "old",
    "stone",
    "bridges",
    "under",
    "grey",
    "northern",
    "skies",
    "and",
    "every",
    "small",
    "lamp",
    "keeps",
    "its",
    "quiet",
    "light",
]


@dataclass
class Record:
    """One streamed completion as the fake saw it."""

    started_at: float
    prompt: str = ""
    text: str = ""
    first_chunk_at: float | None = None
    last_chunk_at: float | None = None
    chunks: int = 0
    status: int = 200


_current: contextvars.ContextVar[Record | None] = contextvars.ContextVar("record", default=None)


class _Slot:
    """A generation's place under the quota, released once."""

    def __init__(self, on_final: Callable[[], None]) -> None:
        self._on_final: Callable[[], None] | None = on_final

    def release(self) -> None:
        if self._on_final is not None:
            self._on_final()
            self._on_final = None


async def _paced(inner: Stream, record: Record, first_delay: float,
                 slot: _Slot) -> AsyncIterator[bytes]:
    """`inner`'s parts, the first after `first_delay`, every one stamped."""
    try:
        async for data in inner:
            if record.first_chunk_at is None and first_delay > 0:
                await asyncio.sleep(first_delay)
            yield data
            now = time.time()
            if record.first_chunk_at is None:
                record.first_chunk_at = now
            record.last_chunk_at = now
            record.chunks += 1
            if b"ALTERNATIVE_STATUS_PARTIAL" not in data:
                # The generation ends with its final line: release the quota slot now,
                # before the client (which has the final line) can start its next request.
                slot.release()
    finally:
        slot.release()
        await inner.aclose()


class LoadFoundationModels(FakeFoundationModels):
    def __init__(
        self,
        *,
        words: int = 300,
        rate: float = 40.0,
        first_delay: float = 0.3,
        chunk_words: int = 12,
        quota: int = 10,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.words, self.rate, self.first_delay = words, rate, first_delay
        self.chunk_words, self.quota = chunk_words, quota
        self.records: list[Record] = []
        self.quota_429 = 0
        self.active = 0
        self.peak_active = 0

    def answer_for(self, prompt: str) -> str:
        head = f"Echo: {prompt}".split()
        filler = [FILLER[i % len(FILLER)] for i in range(max(0, self.words - len(head)))]
        return " ".join(head + filler)

    def reply_for(self, messages: list[dict[str, Any]], key: str = "text") -> Reply:
        if self.replies:
            return self.replies.popleft()
        prompt = next(
            (str(m.get(key) or "") for m in reversed(messages) if m.get("role") == "user"), ""
        )
        text = self.answer_for(prompt)
        chunks = max(1, -(-len(text.split()) // self.chunk_words))
        reply = Reply(text, chunks=chunks, interval=self.chunk_words / self.rate)
        record = _current.get()
        if record is not None:
            record.prompt, record.text = prompt, text
        return reply

    async def completion(self, body: dict[str, Any]) -> Response:
        record = Record(time.time())
        self.records.append(record)
        if self.quota and self.active >= self.quota:
            self.quota_429 += 1
            record.status = 429
            return self.error(
                429, "ai.textGenerationCompletionSessionsCount.count gauge quota limit exceed"
            )
        self.active += 1
        self.peak_active = max(self.peak_active, self.active)
        _current.set(record)
        slot = _Slot(self._release)
        try:
            answer = await super().completion(body)
        except BaseException:
            slot.release()
            raise
        if answer.stream is None:
            slot.release()
            return answer
        answer.stream = Stream(_paced(answer.stream, record, self.first_delay, slot))
        return answer

    def _release(self) -> None:
        self.active -= 1

    async def _dispatch(self, request: Request, body: Any) -> Response:
        if request.path == "/_control/load":
            return json_response(
                {
                    "records": [asdict(r) for r in self.records],
                    "quota_429": self.quota_429,
                    "peak_active": self.peak_active,
                    "stream_disconnects": self.stream_disconnects,
                }
            )
        return await super()._dispatch(request, body)


async def _serve(args: argparse.Namespace) -> None:
    fm = LoadFoundationModels(
        api_key=args.api_key,
        folder_id=args.folder,
        host=args.host,
        port=args.port,
        words=args.words,
        rate=args.rate,
        first_delay=args.first_delay,
        chunk_words=args.chunk_words,
        quota=args.quota,
    )
    fm.image_pending_polls = args.image_polls
    await serve_until_signalled(fm)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load_fm")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", default="test-key")
    parser.add_argument("--folder", default="test-folder")
    parser.add_argument("--words", type=int, default=300)
    parser.add_argument("--rate", type=float, default=40.0, help="words (tokens) per second")
    parser.add_argument("--first-delay", type=float, default=0.3)
    parser.add_argument("--chunk-words", type=int, default=12)
    parser.add_argument("--quota", type=int, default=10, help="concurrent generations; 0 = off")
    parser.add_argument("--image-polls", type=int, default=2)
    asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main(sys.argv[1:])
