"""A webhook replica killed outright between Telegram taking an answer and the database noting
it: how long that window is, and what it costs (issue 67).

    .venv/bin/python bench/bench_replica_kill.py [--replicas 3] [--chats 30] [--kills 8]
        [--busy 0] [--interval 0.05] [--postgres URL] [--redis URL] [--keep DIR]

Webhook replicas (`python -m bot run`, fresh interpreters) on a throwaway PostgreSQL database
and Redis, the fake Bot API (in this process, posting each chat's updates beside the others')
and the fake Foundation Models server. Each round, `--chats` private chats ask a question at
once; when the fake Bot API has taken the final `sendMessage` of one chat chosen at random, it
holds its answer back, SIGKILLs the replica holding that chat's lease (Redis names it) and only
then answers, so the replica dies in the window every time; the round ends when every chat
has its answer, and the replica is started again. Every answer of every round counts, not only
the aimed one: a kill may catch others of the killed replica's answers in the same window.

The window is measured on every answer that was not aimed at: from the fake taking the final
message (its `time.time()`) to the COMMIT that noted the answer delivered (a deferred trigger
on `messages`, this run's database only, reading PostgreSQL's `clock_timestamp()`: one
machine, one clock). Prints answers lost (a question never answered), doubles (an answer
shown twice), the window's p50/p95/max, and, for each aimed kill, the seconds from the kill to
the answer shown again. `--busy N` runs N busy loops beside it (pure Python, one core each).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.throwaway_postgres import DEFAULT_POSTGRES, throwaway_postgres
from bot.storage.migrations import migrate
from bot.testing.telegram.state import Call
from tests.e2e.cluster import Replicas, webhook_cluster

# Noted at COMMIT (a deferred constraint trigger): the moment the note is durable, not the
# UPDATE's, which may wait for the rest of its unit of work.
NOTED = [
    "CREATE TABLE bench_noted (message_id bigint NOT NULL, at double precision NOT NULL)",
    """CREATE FUNCTION bench_note() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO bench_noted VALUES (NEW.id, extract(epoch FROM clock_timestamp()));
         RETURN NULL;
       END $$""",
    """CREATE CONSTRAINT TRIGGER bench_noted AFTER UPDATE ON messages
       DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
       WHEN (OLD.delivery_pending IS TRUE AND NEW.delivery_pending IS NULL)
       EXECUTE FUNCTION bench_note()""",
]
ANSWERS = text(
    "SELECT c.chat_id, m.text, n.at FROM bench_noted n JOIN messages m ON m.id = n.message_id"
    " JOIN conversations c ON c.id = m.conversation_id"
)


@dataclass
class Kill:
    chat_id: int
    text: str
    replica: str
    taken: float  # when the fake took the aimed message (time.time())
    killed: float


@dataclass
class Run:
    r: Replicas
    prefix: str  # the replicas' Redis keys
    redis: Redis
    chats: list[int]
    taken: list[tuple[int, str, float]] = field(default_factory=list)  # final sends
    kills: list[Kill] = field(default_factory=list)
    aim: tuple[int, str] | None = None  # the chat and answer to kill in the window of

    async def before_reply(self, call: Call) -> None:
        """The fake's hook, after it took a call and before it answers it."""
        now = time.time()
        if call.method != "sendMessage" or call.status != 200 or call.chat_id not in self.chats:
            return
        said = str(call.params.get("text", ""))
        self.taken.append((call.chat_id, said, now))
        if self.aim != (call.chat_id, said):
            return
        self.aim = None
        owner = await self.redis.get(f"{self.prefix}lease:chat:{call.chat_id}")
        name = bytes(owner or b":?").decode().split(":", 1)[1].removeprefix("replica-")
        # Counted before the kill's wait: the round sees the answer shown meanwhile.
        kill = Kill(call.chat_id, said, name, now, now)
        self.kills.append(kill)
        await self.r.bots[name].kill()  # the answer below goes to a dead socket
        kill.killed = time.time()

    def shown(self, chat_id: int) -> list[str]:
        chat = self.r.tg.chats.get(chat_id)
        return [] if chat is None else [m.text or "" for m in chat.bot_messages]


def question(chat_id: int, round_: int) -> str:
    return f"question {chat_id}.{round_}"


async def restart(run: Run, name: str) -> None:
    bot = run.r.bots[name]
    listening = sum("webhook listening" in str(r.get("message")) for r in bot.log_records())
    await bot.start()
    await run.r.tg.wait_for(lambda: sum(
        "webhook listening" in str(r.get("message")) for r in bot.log_records()) > listening, 120)


def answered(run: Run, round_: int) -> bool:
    return all(f"Echo: {question(ch, round_)}" in run.shown(ch) for ch in run.chats)


def sent_again(run: Run, kill: Kill) -> bool:
    return run.shown(kill.chat_id).count(kill.text) > 1


async def rounds(run: Run, kills: int, rng: random.Random) -> None:
    for k in range(kills):
        victim = rng.choice(run.chats)  # armed before it is asked: its answer may be quick
        run.aim = (victim, f"Echo: {question(victim, k)}")
        kills = len(run.kills)
        for chat_id in run.chats:
            run.r.tg.send_user_message(chat_id, question(chat_id, k))
            await asyncio.sleep(0.01)
        await run.r.tg.wait_for(functools.partial(answered, run, k), 120)
        if len(run.kills) > kills:
            # The aimed answer was shown when it was taken: the round ends when the replica
            # taking the chat over (its lease expires in 6 s) has sent it again, or after
            # 60 s without (liveness only; counted as "not sent again").
            with contextlib.suppress(TimeoutError):
                await run.r.tg.wait_for(functools.partial(sent_again, run, run.kills[-1]), 60)
        await asyncio.sleep(2.0)  # another answer sent twice would be shown by now
        for name, bot in run.r.bots.items():
            if not bot.running:
                await restart(run, name)


def window(
    run: Run, noted: list[tuple[int, str, float]]
) -> list[tuple[float, tuple[int, str]]]:
    """Seconds from the fake taking each final message to the COMMIT noting it: the last
    send of an answer and its last note (an answer sent again is noted once, after)."""
    aimed = {(k.chat_id, k.text) for k in run.kills}
    sent: dict[tuple[int, str], float] = {}
    for chat_id, said, at in run.taken:
        sent[(chat_id, said)] = max(at, sent.get((chat_id, said), at))
    notes: dict[tuple[int, str], float] = {}
    for chat_id, said, at in noted:
        notes[(chat_id, said)] = max(at, notes.get((chat_id, said), at))
    return sorted((notes[key] - at, key) for key, at in sent.items()
                  if key in notes and key not in aimed and notes[key] >= at)


def first(run: Run, key: tuple[int, str]) -> float:
    return min(at for ch, said, at in run.taken if (ch, said) == key)


def percentile(values: list[float], q: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


async def run_bench(args: argparse.Namespace) -> int:
    busy = [await asyncio.create_subprocess_exec(sys.executable, "-c", "while True: pass")
            for _ in range(args.busy)]
    try:
        return await measure(args)
    finally:
        for loop in busy:
            loop.kill()
            await loop.wait()


async def measure(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    async with throwaway_postgres(args.postgres) as url:
        if url is None:
            return 1
        await migrate(url)
        engine = create_async_engine(url)
        try:
            async with engine.begin() as conn:
                for statement in NOTED:
                    await conn.execute(text(statement))
            names = [chr(ord("a") + i) for i in range(args.replicas)]
            chats = list(range(1, args.chats + 1))
            with tempfile.TemporaryDirectory(prefix="bench-kill-") as scratch:
                async with webhook_cluster(
                    names, Path(args.keep or scratch), database_url=url,
                    redis_url=args.redis, label="bench-kill", webhook_parallel=True,
                ) as r:
                    r.fm.default_chunks, r.fm.default_interval = 4, args.interval
                    redis = Redis.from_url(args.redis)
                    bot_id = r.tg.token.split(":", 1)[0]
                    run = Run(r, f"fmbot:{bot_id}:", redis, chats)
                    r.tg.before_reply = run.before_reply
                    started = time.monotonic()
                    try:
                        await rounds(run, args.kills, rng)
                    finally:
                        r.tg.before_reply = None
                        await redis.aclose()
                    took = time.monotonic() - started
                    shown = {ch: Counter(run.shown(ch)) for ch in chats}
            async with engine.connect() as conn:
                noted = [(int(c), str(t), float(a)) for c, t, a in await conn.execute(ANSWERS)]
        finally:
            await engine.dispose()
    return report(args, run, shown, noted, took)


def report(args: argparse.Namespace, run: Run, shown: dict[int, Counter[str]],
           noted: list[tuple[int, str, float]], took: float) -> int:
    expected = [(ch, f"Echo: {question(ch, k)}") for k in range(args.kills) for ch in run.chats]
    lost = [key for key in expected if shown[key[0]][key[1]] == 0]
    doubles = {key: shown[key[0]][key[1]] for key in expected if shown[key[0]][key[1]] > 1}
    aimed = {(k.chat_id, k.text) for k in run.kills}
    unaimed = {key: n for key, n in doubles.items() if key not in aimed}
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{args.replicas} webhook replicas, {args.chats} private chats, {args.kills} rounds "
          f"({len(expected)} answers) in {took:.0f} s; {args.interval:g} s between chunks; "
          f"{args.busy} busy loops beside; load average at the end {load}")
    killed = "".join(k.replica for k in run.kills)
    print(f"kills in the window: {len(run.kills)} (replicas {killed})")
    print(f"answers lost: {len(lost)} {lost[:5] if lost else ''}")
    print(f"doubles: {sum(n - 1 for n in doubles.values())} "
          f"({len(doubles.keys() & aimed)} of the {len(aimed)} aimed at, "
          f"{len(unaimed)} others caught in the window by the same kills)")
    if unaimed:  # how far from a kill their first send was taken: inside the window?
        near = sorted(
            min((first(run, key) - k.killed for k in run.kills), key=abs) * 1000
            for key in unaimed
        )
        print("  the others' first send taken, from the nearest kill: "
              + ", ".join(f"{ms:+.1f} ms" for ms in near))
    spans = window(run, noted)
    if spans:
        ms = [1000 * s for s, _ in spans]
        print(f"window, Telegram took the answer -> COMMIT noting it, {len(ms)} answers: "
              f"p50 {percentile(ms, 50):.1f} ms, p95 {percentile(ms, 95):.1f} ms, "
              f"max {max(ms):.1f} ms")
        print("  longest: " + ", ".join(f"{1000 * s:.0f} ms ({said!r})"
                                        for s, (_, said) in spans[-3:]))
    again = sorted(
        min(at for ch, said, at in run.taken if (ch, said) == (k.chat_id, k.text)
            and at > k.killed) - k.killed
        for k in run.kills if shown[k.chat_id][k.text] > 1
    )
    missed = [k for k in run.kills if shown[k.chat_id][k.text] < 2]
    if missed:
        print(f"aimed answers not sent again: {len(missed)}: " + ", ".join(
            f"chat {k.chat_id} {k.text!r} on {k.replica} at {k.killed:.3f}" for k in missed))
    if again:
        print(f"aimed answer shown again {again[0]:.1f}-{again[-1]:.1f} s after the kill "
              f"(median {statistics.median(again):.1f} s)")
    return 0 if not lost and len(run.kills) == args.kills else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--chats", type=int, default=30)
    parser.add_argument("--kills", type=int, default=8)
    parser.add_argument("--busy", type=int, default=0)
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--keep", help="a folder to keep the replicas' logs in")
    args = parser.parse_args()
    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
    sys.exit(asyncio.run(run_bench(args)))


if __name__ == "__main__":
    main()
