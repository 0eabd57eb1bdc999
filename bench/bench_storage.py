"""Storage benchmark: prompt-window read and turn append in a chat with 100,000 messages.

    .venv/bin/python bench/bench_storage.py [--messages 100000] [--budget 30000] [--runs 300]
                                            [--postgres URL | --no-postgres]

Builds a fresh database (SQLite file in a temporary directory; a throwaway database on the
PostgreSQL server when reachable), migrated with Alembic, holding one chat with `--messages`
messages (user ~60 tokens, assistant ~300 tokens, alternating) interleaved with other chats'
messages, then times:

- window: `MessageRepository.recent_for_prompt(conversation, budget)` in a fresh read
  session, what the prompt builder calls once per turn (reported: the call alone, and with
  opening/closing the session);
- turn: storing a turn as the conversation service does: the user message in one unit of
  work, the answer in another (two commits).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.throwaway_postgres import throwaway_postgres
from bot.storage.database import Database
from bot.storage.migrations import migrate
from bot.storage.models import Message, MessageRole, MessageStatus
from bot.storage.repositories import (
    ChatRepository,
    ConversationRepository,
    MessageRepository,
)

CHAT = 4242
OTHER_CHATS = 20
DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def _row(conversation_id: int, i: int, rng: random.Random) -> dict[str, object]:
    user = i % 2 == 0
    tokens = rng.randint(20, 100) if user else rng.randint(100, 500)
    return {
        "conversation_id": conversation_id,
        "role": MessageRole.USER if user else MessageRole.ASSISTANT,
        "status": MessageStatus.COMPLETE,
        "author_user_id": CHAT if user else None,
        "text": "слово " * (tokens * 3 // 4),
        "token_count": tokens,
        "telegram_message_ids": [i],
        "created_at": dt.datetime.now(dt.UTC),
        "updated_at": dt.datetime.now(dt.UTC),
    }


async def populate(db: Database, messages: int) -> int:
    rng = random.Random(7)
    async with db.session() as session:
        ids = []
        for chat_id in [CHAT, *range(-1, -OTHER_CHATS - 1, -1)]:
            await ChatRepository(session).upsert(chat_id, "private" if chat_id > 0 else "group")
            ids.append((await ConversationRepository(session).current(chat_id)).id)
    target, others = ids[0], ids[1:]
    batch: list[dict[str, object]] = []
    for i in range(messages):
        batch.append(_row(target, i, rng))
        if i % 2:  # other chats write half as much, interleaved (ids not contiguous)
            batch.append(_row(rng.choice(others), i, rng))
        if len(batch) >= 5000:
            async with db.session() as session:
                await session.execute(insert(Message), batch)
            batch = []
    if batch:
        async with db.session() as session:
            await session.execute(insert(Message), batch)
    return target


def percentiles(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return f"p50 {statistics.median(ms):7.3f} ms   p95 {p95:7.3f} ms   max {ms[-1]:7.3f} ms"


@dataclass
class Timing:
    wall: list[float]
    cpu: float  # process CPU seconds per call, all threads (aiosqlite's included)

    def __str__(self) -> str:
        return f"{percentiles(self.wall)}   cpu/call {self.cpu * 1000:6.3f} ms"


async def timed(runs: int, step: Callable[[], Awaitable[object]]) -> Timing:
    for _ in range(min(20, runs)):  # warm caches and statement compilation
        await step()
    samples = []
    cpu_start = time.process_time()
    for _ in range(runs):
        start = time.perf_counter()
        await step()
        samples.append(time.perf_counter() - start)
    return Timing(samples, (time.process_time() - cpu_start) / runs)


async def bench(url: str, label: str, messages: int, budget: int, runs: int) -> None:
    await migrate(url)
    db = Database(url)
    try:
        start = time.perf_counter()
        conversation = await populate(db, messages)
        print(
            f"[{label}] {messages:,} messages in the chat (+ others) stored in "
            f"{time.perf_counter() - start:.1f} s"
        )
        window_sizes: list[int] = []

        async def window_in_session() -> None:
            async with db.read_session() as session:
                window = await MessageRepository(session).recent_for_prompt(conversation, budget)
                window_sizes.append(len(window))

        async with db.read_session() as session:
            repo = MessageRepository(session)
            call = await timed(runs, lambda: repo.recent_for_prompt(conversation, budget))
        with_session = await timed(runs, window_in_session)

        turn_no = 0

        async def append_turn() -> None:
            nonlocal turn_no
            turn_no += 1
            async with db.session() as session:
                question = await MessageRepository(session).add(
                    conversation,
                    MessageRole.USER,
                    f"question {turn_no}",
                    token_count=12,
                    author_user_id=CHAT,
                )
            async with db.session() as session:
                await MessageRepository(session).add(
                    conversation,
                    MessageRole.ASSISTANT,
                    f"answer {turn_no} " * 50,
                    token_count=150,
                    reply_to_id=question.id,
                )

        turn = await timed(runs, append_turn)
        print(
            f"[{label}] window ({budget:,} tokens, {statistics.median(window_sizes):.0f} msgs)"
            f" call only:    {call}"
        )
        print(f"[{label}] window incl. session open/close:        {with_session}")
        print(f"[{label}] append a turn (2 units of work):        {turn}")
    finally:
        await db.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--budget", type=int, default=30_000)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()

    # Wall-clock percentiles on a shared machine move with its load: print it beside them.
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await bench(url, "sqlite", args.messages, args.budget, args.runs)
    if args.no_postgres:
        return
    async with throwaway_postgres(args.postgres) as url:
        if url is not None:
            await bench(url, "postgres", args.messages, args.budget, args.runs)


if __name__ == "__main__":
    asyncio.run(main())
