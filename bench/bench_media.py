"""A photo turn's bot-side time before the model call, and text turns with photos on (issue 28).

    .venv/bin/python bench/bench_media.py [--turns 60] [--photo-mb 2.0]

The fake Bot API (bot.testing.telegram, its own process, as Telegram is not in the bot's
process) serves
a JPEG of about `--photo-mb` MB on 127.0.0.1 (`--in-process`: in this process). Each photo
turn runs what the bot runs: `TelegramFiles` (getFile, then the download streamed to a
temporary file), `PhotoPreparer` (decode, re-encode to at most 1,600 px), then
`ConversationService.run_turn` stores the question with its image and builds the prompt, until
the vision model's `stream` is called (an in-process stand-in that records the moment and
answers at once). Measured: from the start of the download to that call (target p95 <= 150 ms),
in a chat that already talked (its first message's chat and conversation rows are not counted),
and the process CPU time of those turns.

Text turns: interleaved pairs, each a text turn in a service with the vision model on (one more
query per turn: the images of the latest questions) and one with it off, on the same SQLite
file; the pre-model time of both is reported (target: no regression).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncGenerator, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from PIL import Image

from bot.conversation import ChatRef, ConversationService, Speaker, TurnOptions
from bot.features.vision.images import Vision
from bot.foundation_models.types import (
    ChatMessage,
    Completion,
    CompletionOptions,
    CompletionStatus,
    Snapshot,
    Usage,
)
from bot.storage.database import Database
from bot.storage.migrations import migrate
from bot.telegram.downloads import TelegramFiles
from bot.telegram.media.photos import ImageRef, PhotoPreparer
from tests.e2e.processes import FakeProcess, start_telegram_process
from tests.fakes.telegram.server import TelegramServer
from tests.turn_features import turn_features

TOKEN = "42:BENCH"


class StampingModel:
    """Records when `stream` is called, then answers at once."""

    def __init__(self) -> None:
        self.called_at = 0.0

    async def complete(
        self, messages: Sequence[ChatMessage], *, model: str,
        options: CompletionOptions | None = None,
    ) -> Completion:
        return Completion("ok", CompletionStatus.FINAL, Usage(10, 1, 11))

    async def stream(
        self, messages: Sequence[ChatMessage], *, model: str,
        options: CompletionOptions | None = None,
    ) -> AsyncGenerator[Snapshot, None]:
        self.called_at = time.perf_counter()
        yield Snapshot("ok", CompletionStatus.FINAL, Usage(10, 1, 11))

    async def count_tokens(self, messages: Sequence[ChatMessage], *, model: str) -> int:
        return sum(len(m.text) // 3 + 4 for m in messages)


def photo_of_about(megabytes: float) -> bytes:
    """A camera-like JPEG (noise over gradients compresses like a photo) near the size."""
    rng = random.Random(28)
    width, height = 3000, 2250
    base = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    noise = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    picture = Image.blend(base, noise, 0.12)
    target = megabytes * 1024 * 1024
    for quality in range(95, 20, -5):
        out = io.BytesIO()
        picture.save(out, "JPEG", quality=quality)
        if out.tell() <= target * 1.1:
            return out.getvalue()
    return out.getvalue()


def service(db: Database, model: StampingModel, vision: Vision | None) -> ConversationService:
    return ConversationService(
        sessionmaker=db.sessionmaker, model=model, options=TurnOptions(
            default_model="yandexgpt/latest", default_system_prompt="You are a support assistant.",
            reply_reserve=2000, max_reply_tokens=2000, temperature=0.3,
        ),
        image_tokens=vision.image_tokens,
        features=turn_features(vision=vision),
    )


def summary(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return (f"{name}: n={len(samples)} median {statistics.median(samples) * 1000:.1f} ms, "
            f"p95 {p95 * 1000:.1f} ms, max {ordered[-1] * 1000:.1f} ms")


class Files:
    """The fake Bot API: in this process, or its own (registering files over /_control)."""

    def __init__(self, in_process: bool) -> None:
        self.in_process = in_process
        self.url = ""
        self._tg: TelegramServer | None = None
        self._proc: FakeProcess | None = None

    async def __aenter__(self) -> Files:
        if self.in_process:
            self._tg = await TelegramServer(TOKEN).start()
            self.url = self._tg.url
        else:
            self._proc = await start_telegram_process(TOKEN, flood=False)
            self.url = self._proc.url
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._tg is not None:
            await self._tg.close()
        if self._proc is not None:
            await self._proc.stop()

    async def add(self, data: bytes) -> str:
        if self._tg is not None:
            return self._tg.add_file(data)
        body = {"data": base64.b64encode(data).decode()}
        async with aiohttp.ClientSession() as http, http.post(
            f"{self.url}/_control/file", json=body
        ) as response:
            return str((await response.json())["file_id"])


async def main(turns: int, photo_mb: float, in_process: bool) -> None:
    photo = photo_of_about(photo_mb)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        await migrate(url)
        db = Database(url)
        async with Files(in_process) as tg:
            session = AiohttpSession(api=TelegramAPIServer.from_base(tg.url))
            async with Bot(TOKEN, session=session) as bot:
                files = TelegramFiles(bot, tmp_dir=Path(tmp))
                model = StampingModel()
                preparer = PhotoPreparer(files, max_bytes=10 * 1024 * 1024, cache_bytes=0)
                vision = Vision(model, "gemma-3-27b-it/latest", fetch=preparer.fetch)
                with_vision, without = service(db, model, vision), service(db, model, None)
                photo_samples, stages = [], {"download+re-encode": [], "store+prompt": []}
                cpu = 0.0
                for turn in range(turns + 5):
                    file_id = await tg.add(photo)
                    chat = ChatRef(10_000 + turn, "private")
                    # A chat that talked before (a first message also creates the chat and
                    # its conversation: not what is measured here).
                    await with_vision.run_turn(chat, Speaker(chat.chat_id, "U"), "hello")
                    started, cpu_started = time.perf_counter(), time.process_time()
                    ready = await preparer.prepare(ImageRef(file_id, f"u{file_id}", len(photo)))
                    prepared = time.perf_counter()
                    await with_vision.run_turn(chat, Speaker(chat.chat_id, "U"), "what is it?",
                                               images=[ready])
                    if turn >= 5:  # warm-up excluded
                        cpu += time.process_time() - cpu_started
                        photo_samples.append(model.called_at - started)
                        stages["download+re-encode"].append(prepared - started)
                        stages["store+prompt"].append(model.called_at - prepared)
                on, off = [], []
                for turn in range(turns + 5):
                    pair = [(with_vision, on, 20_000), (without, off, 30_000)]
                    if turn % 2:
                        pair.reverse()  # interleaved, alternating which goes first
                    for svc, samples, base in pair:
                        chat = ChatRef(base + turn % 10, "private")  # 10 chats: some history
                        started = time.perf_counter()
                        await svc.run_turn(chat, Speaker(chat.chat_id, "U"),
                                           f"question number {turn}")
                        if turn >= 5:
                            samples.append(model.called_at - started)
        await db.dispose()
    print(f"photo: {len(photo) / 1024 / 1024:.2f} MB JPEG, 3000x2250 -> {ready.width}x"
          f"{ready.height} JPEG of {len(ready.jpeg) / 1024:.0f} KB")
    print(summary("photo turn before the model call", photo_samples))
    print(f"  CPU (this process, every thread): {cpu / len(photo_samples) * 1000:.1f} ms a turn")
    for name, samples in stages.items():
        print(summary(f"  {name}", samples))
    print(summary("text turn, vision on ", on))
    print(summary("text turn, vision off", off))
    print(f"text turn median ratio on/off: {statistics.median(on) / statistics.median(off):.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=60)
    parser.add_argument("--photo-mb", type=float, default=2.0)
    parser.add_argument("--in-process", action="store_true", help="the fake Bot API in here")
    args = parser.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    asyncio.run(main(args.turns, args.photo_mb, args.in_process))
