"""Prompt-building and conversation-turn benchmark (the conversation core's own cost).

    .venv/bin/python bench/bench_prompt.py [--messages 100000] [--turns 200]
                                           [--postgres URL | --no-postgres]

1. build_prompt alone (pure): a window of stored messages (user 20-100 tokens, assistant
   100-500, the storage bench's mix) into a 32k and a 256k context; p50/p95 per build.
2. Whole turns through ConversationService with the real client, against the fake Foundation
   Models server run as a separate process (so the CPU figure is the bot's alone), in a chat
   that already holds `--messages` messages: wall time per turn, time to the first snapshot
   (everything before the model answers: two DB units of work, the window read, the prompt,
   the HTTP request), the same for a bare `client.stream()` call as the baseline, and the
   bot process's CPU per turn. On SQLite (a file in a temporary directory) and, when reachable,
   on a throwaway PostgreSQL database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.conversation import ChatRef, ConversationService, Speaker, TurnOptions  # noqa: E402
from bot.foundation_models.auth import ApiKeyAuth  # noqa: E402
from bot.foundation_models.client import FoundationModelsClient  # noqa: E402
from bot.foundation_models.types import ChatMessage, Role, Snapshot  # noqa: E402
from bot.prompting import HistoryItem, build_prompt  # noqa: E402
from bot.storage.database import Database, create_engine  # noqa: E402
from bot.storage.migrations import migrate  # noqa: E402
from bot.storage.models import Message, MessageRole, MessageStatus  # noqa: E402
from bot.storage.repositories import ChatRepository, ConversationRepository  # noqa: E402

API_KEY, FOLDER = "bench-key", "bench-folder"
CHAT = ChatRef(4242, "private")
SPEAKER = Speaker(4242, "Bench")
DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def pct(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return f"p50 {statistics.median(ms):7.2f} ms   p95 {p95:7.2f} ms"


def message_tokens(i: int, rng: random.Random) -> int:
    return rng.randint(20, 100) if i % 2 == 0 else rng.randint(100, 500)


def bench_builder(runs: int) -> None:
    rng = random.Random(1)
    history = []
    for i in range(2_000):
        tokens = message_tokens(i, rng)
        role = Role.USER if i % 2 == 0 else Role.ASSISTANT
        history.append(HistoryItem(role, "слово " * (tokens * 3 // 4), tokens))
    for context in (32_000, 256_000):
        samples = []
        kept = 0
        for _ in range(runs):
            start = time.perf_counter()
            result = build_prompt("You are helpful.", history, "new question", context, 2_000)
            samples.append(time.perf_counter() - start)
            kept = len(result.messages)
        print(f"build_prompt, {context:>7} context ({kept:4} messages kept): {pct(samples)}")


async def seed(db: Database, messages: int) -> None:
    rng = random.Random(2)
    async with db.sessionmaker() as session:
        await ChatRepository(session).upsert(CHAT.chat_id, CHAT.type)
        conversation = await ConversationRepository(session).current(CHAT.chat_id)
        await session.commit()
    for start in range(0, messages, 5_000):
        rows = []
        for i in range(start, min(messages, start + 5_000)):
            tokens = message_tokens(i, rng)
            rows.append(
                {
                    "conversation_id": conversation.id,
                    "role": MessageRole.USER if i % 2 == 0 else MessageRole.ASSISTANT,
                    "status": MessageStatus.COMPLETE,
                    "text": "слово " * (tokens * 3 // 4),
                    "token_count": tokens,
                }
            )
        async with db.sessionmaker() as session:
            await session.execute(insert(Message), rows)
            await session.commit()
    if db.engine.dialect.name == "postgresql":
        # Fresh statistics, as autovacuum would gather after a bulk load in production.
        async with db.engine.connect() as conn:
            await conn.execute(text("ANALYZE messages"))
            await conn.commit()


class FakeProcess:
    """The fake Foundation Models server as a child process."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.yandex.server", "--port", "0",
             "--api-key", API_KEY, "--folder", FOLDER],
            cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        self.url = line.removeprefix("LISTENING ")
        settings = {"action": "set", "default_chunks": 1, "default_interval": 0.0}
        httpx.post(f"{self.url}/_control/script", content=json.dumps(settings))

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


async def bench_turns(url: str, label: str, fake: FakeProcess, messages: int, turns: int) -> None:
    await migrate(url)
    db = Database(url)
    client = FoundationModelsClient(
        folder_id=FOLDER, auth=ApiKeyAuth(API_KEY), llm_url=fake.url, operation_url=fake.url
    )
    try:
        started = time.perf_counter()
        await seed(db, messages)
        print(f"[{label}] seeded {messages} messages in {time.perf_counter() - started:.1f} s")
        service = ConversationService(
            sessionmaker=db.sessionmaker, model=client, options=TurnOptions(
                default_model="yandexgpt-lite", default_system_prompt="You are helpful.",
                reply_reserve=2_000, max_reply_tokens=1_500, temperature=0.3,
            ),
        )
        await service.run_turn(CHAT, SPEAKER, "warm-up")
        walls, firsts, bare = [], [], []
        cpu_before = time.process_time()
        for n in range(turns):
            start = time.perf_counter()
            first: list[float] = []

            def on_snapshot(_: Snapshot, first: list[float] = first, start: float = start) -> None:
                if not first:
                    first.append(time.perf_counter() - start)

            result = await service.run_turn(CHAT, SPEAKER, f"question number {n}",
                                             on_snapshot=on_snapshot)
            assert result.error is None, result.error
            walls.append(time.perf_counter() - start)
            firsts.append(first[0])
        cpu = (time.process_time() - cpu_before) / turns
        prompt = [ChatMessage(Role.USER, "hello")]
        for _ in range(turns):
            start = time.perf_counter()
            async for _snapshot in client.stream(prompt, model="yandexgpt-lite"):
                bare.append(time.perf_counter() - start)
                break
        print(f"[{label}] turn, wall                 : {pct(walls)}")
        print(f"[{label}] turn, to first snapshot    : {pct(firsts)}")
        print(f"[{label}] bare stream, first snapshot: {pct(bare)}")
        words = result.usage.input_tokens if result.usage else "?"
        print(f"[{label}] bot CPU per turn           : {cpu * 1000:7.2f} ms ({words} words)")
    finally:
        await client.aclose()
        await db.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--builds", type=int, default=2_000)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()

    bench_builder(args.builds)
    fake = FakeProcess()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{tmp}/bench.db"
            await bench_turns(url, "sqlite", fake, args.messages, args.turns)
        if not args.no_postgres:
            await postgres(args.postgres, fake, args.messages, args.turns)
    finally:
        fake.stop()


async def postgres(base: str, fake: FakeProcess, messages: int, turns: int) -> None:
    name = f"fmbot_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # unreachable server: say so and skip
        print(f"[postgres] skipped: {type(exc).__name__}: {exc}")
        await admin.dispose()
        return
    try:
        url = make_url(base).set(database=name).render_as_string(hide_password=False)
        await bench_turns(url, "postgres", fake, messages, turns)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


if __name__ == "__main__":
    asyncio.run(main())
