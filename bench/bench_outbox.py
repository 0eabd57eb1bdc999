"""Outbox benchmark: CPU of streaming answers to Telegram (Bot API calls, pacing, rendering).

    .venv/bin/python bench/bench_outbox.py [--answers 200] [--chats 20] [--group]
        [--scale 0.1] [--profile /tmp/outbox.prof]

The fake Bot API (`tests.fakes.telegram.server`, flood limits off) runs as its own process on
127.0.0.1, so only our side is measured. Each answer goes through the production Bot
(`make_bot`) and Outbox the way bot/telegram/answers.py feeds it: `stream()`, then the load
benchmark's answer (bench/load_fm.py: 300 words in 25 cumulative chunks of 12 at 40 words/s
after a 300 ms first-token delay) offered frame by frame with `update()`, then `finish()`.
Every time (pacing intervals, chunk spacing) is multiplied by `--scale`, and the bot-wide rate
divided by it, so the same calls go out per answer as in real time, only faster. Prints this
process's CPU ms per answer and per Bot API call, and the calls per answer by method.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import time
from collections import Counter
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load_fm import FILLER  # noqa: E402
from bot.telegram.outbox import Outbox, Pacing  # noqa: E402
from bot.telegram.startup import make_bot  # noqa: E402
from tests.e2e.processes import TG_TOKEN, start_telegram_process  # noqa: E402

WORDS, CHUNK_WORDS, RATE, FIRST_DELAY = 300, 12, 40.0, 0.3


def answer_chunks(n: int) -> list[str]:
    words = f"Echo: question number {n}".split()
    words += [FILLER[i % len(FILLER)] for i in range(WORDS - len(words))]
    return [" ".join(words[:end]) for end in range(CHUNK_WORDS, WORDS + CHUNK_WORDS, CHUNK_WORDS)]


async def one_answer(outbox: Outbox, chat_id: int, n: int, group: bool, scale: float) -> None:
    handle = outbox.stream(
        chat_id,
        "supergroup" if group else "private",
        draft=not group,
        reply_to=n if group else None,
    )
    frames = answer_chunks(n)
    await asyncio.sleep(FIRST_DELAY * scale)
    for frame in frames:
        handle.update(frame)
        await asyncio.sleep(CHUNK_WORDS / RATE * scale)
    await handle.finish(frames[-1])


async def chat_worker(
    outbox: Outbox, chat_id: int, turns: list[int], args: argparse.Namespace
) -> None:
    for n in turns:
        await one_answer(outbox, chat_id, n, args.group, args.scale)


async def run(args: argparse.Namespace) -> None:
    tg = await start_telegram_process(flood=False)
    http = aiohttp.ClientSession()
    try:
        sign = -1 if args.group else 1
        chats = [sign * (1000 + i) for i in range(args.chats)]
        for chat_id in chats:  # the fake answers "chat not found" to chats nobody wrote in
            body = {"chat_id": chat_id, "text": "hi"}
            if args.group:
                body |= {"chat_type": "supergroup", "user": {"id": 7}}
            async with http.post(f"{tg.url}/_control/user_message", json=body) as resp:
                resp.raise_for_status()
        bot = make_bot(TG_TOKEN, tg.url)
        s = args.scale
        outbox = Outbox(
            bot,
            Pacing(
                private_interval=1.05 * s, group_interval=3.4 * s, global_rate=30.0 / s,
                typing_interval=4.5 * s, draft_keepalive=20.0 * s, retry_after_scale=s,
            ),
        )
        # warm-up: first calls build aiogram's models and open the connection
        await asyncio.gather(*(one_answer(outbox, c, 0, args.group, s) for c in chats[:2]))
        async with http.get(f"{tg.url}/_control/stats") as resp:
            before = Counter((await resp.json())["calls"])
        turns = [list(range(i + 1, args.answers + 1, args.chats)) for i in range(args.chats)]
        profiler = cProfile.Profile() if args.profile else None
        wall, cpu = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        workers = [chat_worker(outbox, c, t, args) for c, t in zip(chats, turns, strict=True)]
        await asyncio.gather(*workers)
        if profiler:
            profiler.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        async with http.get(f"{tg.url}/_control/stats") as resp:
            stats = await resp.json()
        calls = Counter(stats["calls"])
        calls.subtract(before)
        total = sum(calls.values())
        per = {k: round(v / args.answers, 2) for k, v in sorted(calls.items()) if v}
        print(
            f"answers {args.answers} ({'groups' if args.group else 'private'}), "
            f"chats {args.chats}, scale {s}: wall {wall:.1f} s"
        )
        print(f"calls per answer {total / args.answers:.2f}: {per}; 429s {stats['count_429']}")
        print(
            f"CPU ms/answer {1000 * cpu / args.answers:.2f}   "
            f"CPU ms/call {1000 * cpu / max(total, 1):.3f}"
        )
        await outbox.aclose()
        await bot.session.close()
        if profiler:
            profiler.dump_stats(args.profile)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    finally:
        await http.close()
        tg.proc.terminate()
        await tg.proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--answers", type=int, default=200)
    parser.add_argument("--chats", type=int, default=20)
    parser.add_argument("--group", action="store_true", help="groups: edits instead of drafts")
    parser.add_argument("--scale", type=float, default=0.1, help="time multiplier")
    parser.add_argument("--profile", help="write cProfile stats here and print the top")
    args = parser.parse_args()
    try:
        import uvloop  # the bot runs on uvloop where installed (bot/cli.py)

        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:
        runner = asyncio.Runner()
    with runner:
        runner.run(run(args))


if __name__ == "__main__":
    main()
