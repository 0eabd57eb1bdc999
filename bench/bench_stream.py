"""Client CPU cost of a streamed answer (native NDJSON, cumulative chunks).

    .venv/bin/python bench/bench_stream.py [--tokens 4000] [--replies 5] [--interval 0]
    .venv/bin/python bench/bench_stream.py --load [--replies 60]

Two shapes. The default is one long answer (4,000 tokens in ~321 chunks), to show that a
chunk costs what its own bytes cost. `--load` is the load benchmark's turn (bench_load.py): 300
tokens in 25 cumulative chunks of 12 words, each chunk written `--interval` (default 10 ms)
apart so that every chunk is its own socket read, as at 40 tokens/s; there the per-request
overhead (headers, auth, JSON body, pool checkout, response start) weighs as much as the
chunks, so it reports CPU per answer including request setup, and the CPU until the first
snapshot (request setup + response start + first line) separately.

Method. The fake Foundation Models server runs as a *separate process*
(`python -m tests.fakes.yandex.server`), so none of its CPU lands in this process.
For each reply the benchmark scripts the fake (control API) with an answer of `--tokens` words
("tokens"; mixed Cyrillic and Latin, about 6 UTF-8 bytes each) cut into cumulative chunks of
10-15 tokens (seeded random), as the real service sends them (reference §2.6: ~10-15 tokens per
chunk). The consumer then runs `FoundationModelsClient.stream()` to the end, and
`time.process_time()` (user + system CPU of this process, all threads) is read before the call
and after the final snapshot: the figure per reply is everything the client does, from building
the request, HTTP, line splitting and JSON/pydantic parsing, to the event loop's own work, with
nothing subtracted. Per chunk = per reply / chunks. The CPU between consecutive snapshots is
also recorded, to show how a chunk's cost depends on its size (each cumulative line carries the
whole text so far, so late lines are larger) and not on how many chunks came before: the
"per KB" figures for the first and last quarter of chunks should match. The first reply is a
warm-up and is not reported.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.foundation_models.auth import ApiKeyAuth  # noqa: E402
from bot.foundation_models.client import FoundationModelsClient  # noqa: E402
from bot.foundation_models.types import ChatMessage, Role  # noqa: E402

WORDS = ("утконос", "platypus", "яйцекладущее", "mammal", "Австралия", "river", "клюв",
         "electroreception", "норы", "venom", "самец", "spur", "ночью", "swims")


def cumulative_chunks(tokens: int, rng: random.Random) -> list[str]:
    words = [rng.choice(WORDS) for _ in range(tokens)]
    out: list[str] = []
    done = 0
    while done < tokens:
        done = min(tokens, done + rng.randint(10, 15))
        out.append(" ".join(words[:done]))
    return out


def fixed_chunks(tokens: int, per_chunk: int, rng: random.Random) -> list[str]:
    words = [rng.choice(WORDS) for _ in range(tokens)]
    return [" ".join(words[:done]) for done in range(per_chunk, tokens + per_chunk, per_chunk)]


async def one_reply(client: FoundationModelsClient, control: httpx.AsyncClient,
                    chunks: list[str], interval: float) -> tuple[float, list[float], int]:
    await control.post("/_control/script", json={"action": "reply", "text": chunks[-1],
                                                 "chunks": chunks, "interval": interval})
    gaps: list[float] = []
    count = 0
    final = False
    started = last = time.process_time()
    async for snapshot in client.stream([ChatMessage(Role.USER, "platypus")], model="yandexgpt"):
        now = time.process_time()
        gaps.append(now - last)
        last = now
        count += 1
        final = snapshot.is_final
    # Consumed to its end, as the bot does: breaking at the final snapshot would close the
    # response before its end and cost a new connection per reply.
    total = time.process_time() - started
    assert count == len(chunks), (count, len(chunks))
    assert final
    return total, gaps, count


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--load", action="store_true",
                        help="the load benchmark's turn: 300 tokens in 25 chunks of 12")
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop",
                        help="event loop (the bot runs on uvloop where installed)")
    parser.add_argument("--tokens", type=int, default=None)
    parser.add_argument("--replies", type=int, default=None)
    parser.add_argument("--interval", type=float, default=None,
                        help="seconds between chunks on the server (real time)")
    args = parser.parse_args()
    if args.load:
        args.tokens = args.tokens or 300
        args.replies = args.replies or 60
        args.interval = 0.01 if args.interval is None else args.interval
    else:
        args.tokens = args.tokens or 4000
        args.replies = args.replies or 5
        args.interval = args.interval or 0.0
    return args


async def main(args: argparse.Namespace) -> None:
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.fakes.yandex.server", "--port", "0",
        "--api-key", "bench", "--folder", "bench", cwd=ROOT, stdout=asyncio.subprocess.PIPE)
    assert server.stdout is not None
    url = (await server.stdout.readline()).decode().split()[1]
    rng = random.Random(4000)
    chunks = (fixed_chunks(args.tokens, 12, rng) if args.load
              else cumulative_chunks(args.tokens, rng))
    sizes = [len(c.encode()) + 200 for c in chunks]  # + the JSON around the text
    try:
        async with httpx.AsyncClient(base_url=url) as control, FoundationModelsClient(
            folder_id="bench", auth=ApiKeyAuth("bench"), llm_url=url, operation_url=url
        ) as client:
            totals: list[float] = []
            all_gaps: list[list[float]] = []
            for run in range(args.replies + 1):
                total, gaps, _ = await one_reply(client, control, chunks, args.interval)
                if run:
                    totals.append(total)
                    all_gaps.append(gaps)
    finally:
        server.terminate()
        await server.wait()
    n = len(chunks)
    quarter = n // 4
    per_gap = [statistics.median(g[i] for g in all_gaps) for i in range(n)]
    first_kb = sum(sizes[:quarter]) / 1024
    last_kb = sum(sizes[-quarter:]) / 1024
    median = statistics.median(totals)
    if args.load:
        first = statistics.median(g[0] for g in all_gaps)
        rest = statistics.median(sum(g[1:]) for g in all_gaps) / (n - 1)
        print(f"reply: {args.tokens} tokens in {n} cumulative chunks "
              f"({args.interval * 1000:g} ms apart, {args.loop}); {args.replies} replies measured")
        print(f"client CPU per answer: median {median * 1000:.2f} ms "
              f"(min {min(totals) * 1000:.2f}, max {max(totals) * 1000:.2f})")
        print(f"until first snapshot : {first * 1000:.2f} ms (request setup, response start,"
              " first line)")
        print(f"each later chunk     : {rest * 1e6:.0f} µs")
        return
    print(f"reply: {args.tokens} tokens in {n} cumulative chunks ({args.loop}), "
          f"{sum(sizes) / 2**20:.1f} MB of NDJSON; {args.replies} replies measured")
    print(f"client CPU per reply : median {median * 1000:.1f} ms "
          f"(min {min(totals) * 1000:.1f}, max {max(totals) * 1000:.1f})")
    print(f"client CPU per chunk : {median / n * 1e6:.0f} µs (median reply / chunks)")
    print(f"first quarter chunks : {sum(per_gap[:quarter]) / quarter * 1e6:.0f} µs/chunk, "
          f"{sum(per_gap[:quarter]) / first_kb * 1e6:.1f} µs/KB")
    print(f"last quarter chunks  : {sum(per_gap[-quarter:]) / quarter * 1e6:.0f} µs/chunk, "
          f"{sum(per_gap[-quarter:]) / last_kb * 1e6:.1f} µs/KB")


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.loop == "uvloop":
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(main(arguments))
    else:
        asyncio.run(main(arguments))
