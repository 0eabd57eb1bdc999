"""The turn's SQL part by part: CPU of each session call of bench_turn_sql's turns.

    .venv/bin/python bench/turn_sql_parts.py [--postgres URL] [--runs 3] [--turns 600]

Runs `bench_turn_sql.py`'s turns (its `Bench`: the real intake, middleware and conversation
service, warm, each run on chats of its own) with every awaited `AsyncSession` call
(`execute`, `scalar`, `scalars`, `run_sync`, `commit`, `rollback`, `close`, `flush`) timed with
`time.process_time()` and keyed by the caller in fmbot that made it; a call made while another
is timed (a `scalar` running `execute`; on PostgreSQL, a group turn's note of its shown
message, a task of its own, while the turn awaits the server) counts in the outer one. What
is left ("rest") is the
turn's Python outside those calls (statements built, the prompt, the stand-in model, the
bench's own). Pinned to one CPU, as bench_turn_sql is. SQLite by default.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_turn_sql import Bench
from bench.throwaway_postgres import throwaway_postgres
from bot.storage.database import Database
from bot.storage.migrations import migrate

CALLS = ("execute", "scalar", "scalars", "run_sync", "commit", "rollback", "close", "flush")


class Parts:
    def __init__(self) -> None:
        self.cpu: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.on = False
        self._inside = False

    def install(self) -> None:
        for name in CALLS:
            setattr(AsyncSession, name, self._timed(name, getattr(AsyncSession, name)))

    def _timed(self, name: str, call: Callable[..., Any]) -> Callable[..., Any]:
        parts = self

        async def timed(session: AsyncSession, *args: Any, **kwargs: Any) -> Any:
            if not parts.on or parts._inside:
                return await call(session, *args, **kwargs)
            key = f"{name} <- {_caller()}"
            parts._inside = True
            started = time.process_time()
            try:
                return await call(session, *args, **kwargs)
            finally:
                parts.cpu[key] += time.process_time() - started
                parts.calls[key] += 1
                parts._inside = False

        return timed


def _caller() -> str:
    frame = sys._getframe(2)
    while frame is not None and (
        "sqlalchemy" in frame.f_code.co_filename or frame.f_code.co_filename == __file__
    ):
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None:
        return "?"
    return f"{Path(frame.f_code.co_filename).stem}.{frame.f_code.co_name}"


async def measure(url: str, label: str, runs: int, turns: int) -> None:
    await migrate(url)
    db = Database(url)
    parts = Parts()
    parts.install()
    try:
        runner = Bench(db, 200, 8)
        for update, data in [runner.prepare(i) for i in range(60)]:  # warm
            await runner.turn(update, data)
        total = 0.0
        for run in range(runs):
            updates = [runner.prepare(i, run + 1) for i in range(turns)]
            gc.collect()
            parts.on = True
            started = time.process_time()
            for update, data in updates:
                await runner.turn(update, data)
            total += time.process_time() - started
            parts.on = False
    finally:
        await db.dispose()
    count = runs * turns
    print(f"[{label}] {total / count * 1000:.3f} ms of CPU a turn ({runs} x {turns} turns)")
    summed = 0.0
    for key, cpu in sorted(parts.cpu.items(), key=lambda item: -item[1]):
        summed += cpu
        print(f"{cpu / count * 1000:7.3f} ms  {parts.calls[key] / count:5.2f}/turn  {key}")
    print(f"{summed / count * 1000:7.3f} ms in session calls; rest "
          f"{(total - summed) / count * 1000:.3f} ms")


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--postgres", help="measure on PostgreSQL (a throwaway database)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--turns", type=int, default=600)
    parser.add_argument("--cpu", type=int, default=1, help="pin to this CPU (-1: no pinning)")
    args = parser.parse_args()
    if args.cpu >= 0 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    if args.postgres:
        async with throwaway_postgres(args.postgres) as url:
            if url is None:
                raise SystemExit(f"PostgreSQL at {args.postgres} is not reachable")
            await measure(url, "postgres", args.runs, args.turns)
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await measure(url, "sqlite", args.runs, args.turns)


if __name__ == "__main__":
    try:  # as bench_turn_sql: the bot runs on uvloop where installed
        import uvloop
    except ImportError:
        asyncio.run(main())
    else:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(main())
