"""Bot CPU per streamed turn on the Responses wire against the OpenAI-compatible wire.

    .venv/bin/python bench/bench_wires.py [--pairs 5] [--users 20] [--turns 2] [--chunks 40]

Method. Interleaved pairs: each pair runs `python -m bot run` once with TEXT_API=openai and once
with TEXT_API=responses (the order alternates from pair to pair), each time a fresh bot, database
and fakes (the fake Telegram and Foundation Models servers of the test suite, in this process).
After a warm-up turn, `--users` private chats each ask `--turns` questions; every answer is 300
words streamed in `--chunks` pieces, 20 ms apart (`/v1/chat/completions` SSE deltas or
`/v1/responses` SSE events). The bot's CPU is utime+stime from /proc/<pid>/stat, read before the
first question and after the last answer is delivered, divided by the answered turns. Machine
load drifts, so each pair's ratio (responses / openai) is its own figure, and the median ratio
is the result: the target is a ratio within 1.10.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.harness import E2E  # noqa: E402

WORDS = " ".join(f"word{i % 37}" for i in range(300))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run_once(wire: str, args: argparse.Namespace) -> float:
    """CPU seconds per answered turn for one bot on `wire`."""
    with tempfile.TemporaryDirectory(prefix=f"bench-wires-{wire}-") as tmp:
        env = {"TEXT_API": wire, "LOG_LEVEL": "WARNING", "RATE_LIMIT_PER_MINUTE": "0"}
        async with E2E(Path(tmp), extra_env=env) as e2e:
            e2e.fm.queue_reply(WORDS, chunks=args.chunks, interval=0.02)
            await e2e.start_bot()
            e2e.tg.send_user_message(999, "warm up")
            await e2e.wait_for(lambda: e2e.texts(999), 60)
            pid = e2e.bot.proc.pid  # type: ignore[union-attr]
            start = cpu_seconds(pid)
            users = [1000 + n for n in range(args.users)]
            for turn in range(1, args.turns + 1):
                for user in users:
                    e2e.fm.queue_reply(WORDS, chunks=args.chunks, interval=0.02)
                    e2e.tg.send_user_message(user, f"question {turn}")
                await e2e.wait_for(
                    lambda t=turn: all(len(e2e.texts(u)) >= t for u in users), 300)  # type: ignore[misc]
            spent = cpu_seconds(pid) - start
            await e2e.bot.terminate()
    return spent / (args.users * args.turns)


async def main_async(args: argparse.Namespace) -> None:
    ratios: list[float] = []
    figures: dict[str, list[float]] = {"openai": [], "responses": []}
    for pair in range(args.pairs):
        order = ("openai", "responses") if pair % 2 == 0 else ("responses", "openai")
        got = {wire: await run_once(wire, args) for wire in order}
        for wire, value in got.items():
            figures[wire].append(value)
        ratios.append(got["responses"] / got["openai"])
        print(f"pair {pair + 1} ({order[0]} first): openai {got['openai'] * 1000:.2f} ms, "
              f"responses {got['responses'] * 1000:.2f} ms per turn, "
              f"ratio {ratios[-1]:.3f}", flush=True)
    for wire, values in figures.items():
        print(f"{wire}: median {statistics.median(values) * 1000:.2f} ms CPU per streamed turn "
              f"(min {min(values) * 1000:.2f}, max {max(values) * 1000:.2f})")
    median = statistics.median(ratios)
    print(f"responses / openai: median ratio {median:.3f} over {len(ratios)} pairs "
          f"(min {min(ratios):.3f}, max {max(ratios):.3f}); target <= 1.10: "
          f"{'met' if median <= 1.10 else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--turns", type=int, default=2)
    parser.add_argument("--chunks", type=int, default=40)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
