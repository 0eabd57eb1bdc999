"""How long after a PostgreSQL failover the backlog is answered (issue 50).

    .venv/bin/python bench/bench_failover.py [--replicas 3] [--chats 30] [--late 10]
        [--outage 8] [--interval 0.2] [--postgres URL] [--redis URL] [--keep DIR]

Webhook replicas (`python -m bot run`, fresh interpreters) on a throwaway PostgreSQL database
reached through a loopback TCP proxy, and Redis; the fake Bot API (posting each chat's updates
beside the others', as Telegram does) and the fake Foundation Models server. `--chats` chats
ask a question; half of them ask again at once (queued behind their answer); while every answer
streams, the proxy resets the live connections and refuses new ones for `--outage` seconds,
during which the other half ask again and `--late` other chats ask their first question
(tests/e2e/failover.py has the scenario). Prints, from
the database's return: when the answers that ended during the outage were stored, when the first
and the last question of the backlog reached the model (the questions asked during the outage
come back when Telegram delivers their refused updates again: the fake retries every 2 s over at
most `max_connections` at once, as Telegram does, at its own pace), and when the last answer was
delivered (an answer streams for 8 x `--interval` s). Checks that
every question was answered once, in order, with no error message, and says if not.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.throwaway_postgres import DEFAULT_POSTGRES, throwaway_postgres
from bot.storage.migrations import migrate
from tests.e2e.failover import Failover, failover_cluster, ride_out


def answers_stored(f: Failover) -> list[float]:
    """Seconds from the database's return at which the replicas stored the answers that
    ended while it was away (their log lines)."""
    return sorted(
        dt.datetime.fromisoformat(r["ts"]).timestamp() - f.back_at
        for bot in f.r.bots.values() for r in bot.log_records()
        if "stored once the database was back" in str(r.get("message"))
    )


def backlog_reached_model(f: Failover) -> list[float]:
    """Seconds from the database's return at which each chat completion asked after it
    arrived at the fake model."""
    return sorted(
        r.at - f.back for r in f.r.fm.requests
        if r.at >= f.back and isinstance(r.json, dict) and "messages" in r.json
    )


async def run(args: argparse.Namespace) -> int:
    async with throwaway_postgres(args.postgres) as url:
        if url is None:
            return 1
        await migrate(url)
        names = [chr(ord("a") + i) for i in range(args.replicas)]
        busy = list(range(1, args.chats + 1))
        late = list(range(1001, 1001 + args.late))
        with tempfile.TemporaryDirectory(prefix="bench-failover-") as scratch:
            workdir = args.keep or scratch
            async with failover_cluster(
                names, Path(workdir), postgres_url=url, redis_url=args.redis,
                busy=busy, late=late, webhook_parallel=True,
            ) as f:
                await ride_out(f, args.outage, interval=args.interval)
                reached = backlog_reached_model(f)
                kept = answers_stored(f)
                wrong = f.wrong()
                problems = f.history_problems()
                errors = sum(
                    1 for ch in [*busy, *late] for text in f.shown(ch)
                    if "went wrong" in text or "unavailable" in text
                )
    early = len(busy[::2])  # tests/e2e/failover.py: they ask again just before the cut
    print(f"{args.replicas} webhook replicas, {args.chats} chats streaming when PostgreSQL "
          f"went away for {args.outage:g} s; {early} questions queued just before, "
          f"{args.chats - early + args.late} asked during the outage; answers stream "
          f"{8 * args.interval:.1f} s")
    if kept:
        print(f"{len(kept)} answers that ended during the outage (delivered then) stored "
              f"{kept[0]:.2f}-{kept[-1]:.2f} s after the database returned")
    if reached:
        print(f"backlog questions reached the model {reached[0]:.2f}-{reached[-1]:.2f} s after "
              f"the database returned ({len(reached)} questions)")
    print(f"every question answered {f.recovered:.2f} s after the database returned")
    print(f"wrong chats: {len(wrong)}, prompts without their history: {len(problems)}, "
          f"error or unavailable messages: {errors}")
    return 0 if not wrong and not problems and not errors else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--chats", type=int, default=30)
    parser.add_argument("--late", type=int, default=10)
    parser.add_argument("--outage", type=float, default=8.0)
    parser.add_argument("--interval", type=float, default=0.2)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--keep", help="a folder to keep the replicas' logs in")
    args = parser.parse_args()
    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
