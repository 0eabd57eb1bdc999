"""SQL cost of one answered turn: CPU ms, statements and transactions per turn.

    .venv/bin/python bench/bench_turn_sql.py [--turns 600] [--chats 150] [--groups 6]
                                             [--postgres URL | --no-postgres] [--no-ids]

Runs the database side of answered turns as the bot does, on a fresh migrated database
(SQLite file in a temporary directory; a throwaway PostgreSQL database when reachable):
the real `Intake` claims the update and stores it in the durable queue, the real
`DatabaseMiddleware` upserts user and chat (cached as in the bot),
then `ConversationService.run_turn` answers through an in-process model that yields 25
cumulative snapshots at once (a stand-in for the external Foundation Models API, so only our
code runs), a group turn records the edited message's id while streaming (as the outbox's
`on_shown` does), and the delivered message's id is stored last, as `Answerer` does.
Turns go round-robin over the chats (3 per chat at the defaults, as in bench_load).

CPU is `time.process_time()` over the measured turns (the aiosqlite thread included), so it
also counts the service's own Python (prompt building, the fake model): the point is the
before/after difference. The process pins itself to one CPU (`--cpu`, -1 = no pinning): on a
shared machine the cost of waking aiosqlite's thread on another core varies from run to run
more than the figures being compared. Statements are counted with a `before_cursor_execute`
listener, transactions with `commit`/`rollback` listeners (COMMIT is not a cursor execution, and
on SQLite BEGIN goes to the driver directly: see bot/storage/database.py).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncGenerator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiogram.types import Chat, Message, Update, User

from bench.throwaway_postgres import throwaway_postgres
from bot.conversation import ChatRef, ConversationService, Speaker, TurnOptions
from bot.foundation_models.types import (
    ChatMessage,
    Completion,
    CompletionOptions,
    CompletionStatus,
    Snapshot,
    Usage,
)
from bot.prompting import estimate_tokens
from bot.storage.database import Database
from bot.storage.migrations import migrate
from bot.telegram.intake import Intake
from bot.telegram.middlewares import DatabaseMiddleware, RecentlySeen

DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
CHUNKS = 25
WORDS = 12


class InstantModel:
    """Answers 300 tokens in 25 cumulative snapshots, without waiting."""

    def __init__(self) -> None:
        words = [f"слово{i}" for i in range(CHUNKS * WORDS)]
        self.texts = [" ".join(words[: (i + 1) * WORDS]) for i in range(CHUNKS)]

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str,
        options: CompletionOptions | None = None,
    ) -> Completion:
        raise NotImplementedError

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str,
        options: CompletionOptions | None = None,
    ) -> AsyncGenerator[Snapshot, None]:
        for partial in self.texts[:-1]:
            yield Snapshot(partial, CompletionStatus.PARTIAL)
        usage = Usage(input_tokens=120, completion_tokens=300, total_tokens=420)
        yield Snapshot(self.texts[-1], CompletionStatus.FINAL, usage)

    async def count_tokens(self, messages: Sequence[ChatMessage], *, model: str) -> int:
        return sum(estimate_tokens(m.text) for m in messages)


class Counts:
    def __init__(self) -> None:
        self.statements: Counter[str] = Counter()
        self.transactions = 0

    def attach(self, db: Database) -> None:
        engines = {db.engine.sync_engine, db.read_engine.sync_engine}
        for engine in engines:
            event.listen(engine, "before_cursor_execute", self._statement)
            event.listen(engine, "commit", self._commit)
            event.listen(engine, "rollback", self._commit)

    def _statement(self, _c: Any, _cur: Any, statement: str, *_: Any) -> None:
        self.statements[statement.split(None, 1)[0].upper()] += 1

    def _commit(self, _conn: Any) -> None:
        self.transactions += 1

    def reset(self) -> None:
        self.statements.clear()
        self.transactions = 0


class FakeBot:
    id = 777


class Bench:
    def __init__(self, db: Database, chats: int, groups: int, ids: bool = True) -> None:
        self.db = db
        self.ids = ids  # False: without the last transaction (the delivered message's id)
        self.service = ConversationService(
            sessionmaker=db.sessionmaker,
            model=InstantModel(),
            options=TurnOptions(
                default_model="yandexgpt-lite",
                default_system_prompt="You are a helpful assistant.",
                reply_reserve=2_000,
                max_reply_tokens=1_500,
                temperature=0.3,
            ),
        )
        seen = RecentlySeen()
        self.middleware = DatabaseMiddleware(db.sessionmaker, seen)
        self.intake = Intake(db.sessionmaker, FakeBot.id, bookkeeping=seen.store_senders)
        self.chats = chats
        self.groups = groups
        self.update_id = 0
        self.sent = 0
        self.pending: set[asyncio.Task[None]] = set()

    def _update(self, chat_id: int, user_id: int, words: str) -> tuple[Update, dict[str, Any]]:
        self.update_id += 1
        user = User(id=user_id, is_bot=False, first_name=f"User {user_id}", language_code="en")
        if chat_id > 0:
            chat = Chat(id=chat_id, type="private", first_name=user.first_name)
        else:
            chat = Chat(id=chat_id, type="group", title=f"group {-chat_id}")
        message = Message(
            message_id=self.update_id,
            date=dt.datetime.now(dt.UTC),
            chat=chat,
            from_user=user,
            text=words,
        )
        data = {"event_from_user": user, "event_chat": chat, "bot": FakeBot()}
        return Update(update_id=self.update_id, message=message), data

    def prepare(self, index: int, run: int = 0) -> tuple[Update, dict[str, Any]]:
        """The update of turn `index` of `run` (each run has its own chats); built beforehand:
        aiogram's models are not our cost."""
        slot = index % self.chats
        group = slot < self.groups
        slot += run * self.chats
        chat_id = -1000 - slot if group else 10_000 + slot
        user_id = 20_000 + index % (self.chats * 2) if group else chat_id
        words = f"question {index}: how does the thing number {index} work, in short?"
        return self._update(chat_id, user_id, words)

    async def turn(self, update: Update, data: dict[str, Any]) -> None:
        update_message = update.message
        assert update_message is not None

        async def handler(_event: Any, handler_data: dict[str, Any]) -> None:
            assert handler_data["session"] is not None

        chat_id, user_id = update_message.chat.id, data["event_from_user"].id
        words = update_message.text or ""
        group = chat_id < 0
        await self.intake.accept([update])
        arrival = self.intake.take(update.update_id)
        assert arrival is not None
        receipt = arrival.receipt
        await self.middleware(handler, update, data)  # type: ignore[arg-type]
        chat = ChatRef(chat_id, "group" if group else "private", data["event_chat"].title)
        speaker = Speaker(user_id, f"User {user_id}")
        self.sent += 1
        shown = self.sent

        noted = False

        def on_snapshot(_snapshot: Snapshot) -> None:
            nonlocal noted
            if group and not noted:  # the edited message appears with the first text
                noted = True
                task = asyncio.create_task(self.service.note_streaming_ids(chat_id, [shown]))
                self.pending.add(task)
                task.add_done_callback(self.pending.discard)

        result = await self.service.run_turn(
            chat,
            speaker,
            words,
            on_snapshot=on_snapshot,
            telegram_message_id=update_message.message_id,
            receipts=(receipt,) if receipt is not None else (),
        )
        if self.ids and getattr(result, "telegram_message_ids", ()) != (shown,):  # as Answerer
            await self.service.set_answer_telegram_ids(result.message_id, [shown])
        if self.pending:
            await asyncio.gather(*self.pending)


async def bench(
    url: str, label: str, turns: int, chats: int, groups: int, repeat: int, ids: bool = True
) -> None:
    await migrate(url)
    db = Database(url)
    counts = Counts()
    counts.attach(db)
    try:
        runner = Bench(db, chats, groups, ids)
        warm = [runner.prepare(i) for i in range(min(60, turns))]
        for update, data in warm:  # warm the caches (compiled statements, imports)
            await runner.turn(update, data)
        cpus = []
        for run in range(repeat):
            # Each run has chats of its own (new conversations), like a fresh bench_load.
            updates = [runner.prepare(i, run + 1) for i in range(turns)]
            counts.reset()
            gc.collect()
            started_cpu, started = time.process_time(), time.perf_counter()
            for update, data in updates:
                await runner.turn(update, data)
            cpus.append((time.process_time() - started_cpu) / turns * 1000)
            wall = time.perf_counter() - started
        kinds = " ".join(f"{k} {v / turns:.2f}" for k, v in sorted(counts.statements.items()))
        total = sum(counts.statements.values())
        print(
            f"[{label}] {turns} turns x {repeat} ({groups} of {chats} chats groups): "
            f"CPU min {min(cpus):.2f} median {statistics.median(cpus):.2f} ms/turn, "
            f"wall {wall / turns * 1000:.2f} ms/turn (last run), "
            f"{total / turns:.2f} statements/turn ({kinds}), "
            f"{counts.transactions / turns:.2f} transactions/turn"
        )
    finally:
        await db.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--turns", type=int, default=600)
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--groups", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=5, help="measured runs (min, median)")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--cpu", type=int, default=1, help="pin to this CPU (-1: no pinning)")
    parser.add_argument(
        "--no-ids",
        action="store_true",
        help="leave out the last transaction (the delivered message's id): what it costs",
    )
    args = parser.parse_args()
    if args.cpu >= 0 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        ids = not args.no_ids
        await bench(url, "sqlite", args.turns, args.chats, args.groups, args.repeat, ids)
    if args.no_postgres:
        return
    async with throwaway_postgres(args.postgres) as url:
        if url is not None:
            await bench(
                url, "postgres", args.turns, args.chats, args.groups, args.repeat, not args.no_ids
            )


if __name__ == "__main__":
    try:  # the bot runs on uvloop where installed (bot/cli.py), so the bench does too
        import uvloop
    except ImportError:
        asyncio.run(main())
    else:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(main())
