"""bot.testing's speed: one question and answer through a `BotTester`, after the first.

    .venv/bin/python bench/bench_tester.py [--turns 50]

Runs examples/mybot.py's App in a BotTester (the in-process Telegram and test model: no
socket, no subprocess) and times, after a warm-up turn: a plain question answered by the
EchoModel, a question whose answer calls the App's tool first (two model rounds), and a
router command. Prints the start-up, then p50 / p95 / max wall time and the process's CPU
time per exchange. The target (issue: a tester's Q&A after the first) is 100 ms; a busy
machine shows in the load average printed beside the figures.

Then a tester's whole life as a test has it (start, one question and answer, stop) `--cycles`
times, the process's CPU per cycle: first as a test process starts, then after `gc.freeze()`,
as fmbot's suite freezes what its collection imported (tests/conftest.py; docs/testing.md
shows it for a user's suite).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "examples")]

from bot.testing import BotTester, ScriptedModel  # noqa: E402


def figures(name: str, walls: list[float], cpus: list[float]) -> str:
    walls_ms = sorted(w * 1000 for w in walls)
    p95 = walls_ms[min(len(walls_ms) - 1, int(0.95 * len(walls_ms)))]
    return (f"{name:<28} p50 {statistics.median(walls_ms):6.1f} ms  p95 {p95:6.1f} ms  "
            f"max {walls_ms[-1]:6.1f} ms  cpu {1000 * statistics.mean(cpus):6.1f} ms")


async def timed(turns: int, step: Callable[[int], Awaitable[object]]) -> tuple[list[float],
                                                                              list[float]]:
    walls, cpus = [], []
    for i in range(turns):
        wall, cpu = time.perf_counter(), time.process_time()
        await step(i)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return walls, cpus


async def main(turns: int) -> None:
    import mybot

    model = ScriptedModel()
    model.when("order").call("order_status", order_id="A-7").answer("It has shipped.")
    started = time.perf_counter()
    # Many questions a minute from one user: the per-user rate limit (20) is off here.
    async with BotTester(mybot.app, model=model, settings={"RATE_LIMIT_PER_MINUTE": 0}) as tester:
        print(f"start-up (migrated template copied, bot built): "
              f"{1000 * (time.perf_counter() - started):.0f} ms")
        anna = tester.user("Anna")
        first = time.perf_counter()
        await anna.says("warm up")
        print(f"first question and answer: {1000 * (time.perf_counter() - first):.0f} ms")

        async def question(i: int) -> None:
            reply = await anna.says(f"question {i}")
            assert reply.text == f"question {i}"

        async def tool(i: int) -> None:
            reply = await anna.says(f"where is my order {i}?")
            assert reply.tool_calls
            assert reply.text == "It has shipped."

        async def command(i: int) -> None:
            assert (await anna.says("/ping")).text == "pong"

        for name, step in (("question and answer", question),
                           ("answer after a tool call", tool), ("router command", command)):
            print(figures(name, *await timed(turns, step)))
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"on {os.cpu_count()} CPUs")


async def cycles(count: int) -> float:
    """The process's CPU per tester life (start, one exchange, stop), in seconds."""
    import mybot

    cpu = time.process_time()
    for _ in range(count):
        async with BotTester(mybot.app) as tester:
            assert (await tester.user("Anna").says("hi")).text == "hi"
    return (time.process_time() - cpu) / count


def lives(count: int) -> None:
    asyncio.run(cycles(3))  # the template database migrated, first uses paid
    plain = asyncio.run(cycles(count))
    gc.collect()
    gc.freeze()
    frozen = asyncio.run(cycles(count))
    print(f"a tester's life (start, one exchange, stop), {count} times: "
          f"cpu {1000 * plain:.1f} ms each; after gc.freeze() {1000 * frozen:.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=50)
    parser.add_argument("--cycles", type=int, default=20)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.turns))
    lives(arguments.cycles)
