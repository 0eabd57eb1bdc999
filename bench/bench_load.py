"""Load benchmark: the bot as a process against the fake Telegram and Foundation Models servers.

    .venv/bin/python bench/bench_load.py [--users 50,500] [--generations 20] [--load 0.85]
    .venv/bin/python bench/bench_load.py --users 200 --groups 10 --images 0 --turns 2 \
        --generations chats --ramp 10      # every chat streaming at once (issue 15)

Each sweep point starts its own processes on 127.0.0.1: the fake Bot API
(`tests.fakes.telegram.server`, Telegram's flood limits enforced), the fake Foundation Models
(`bench.load_fm`: answers of 300 tokens after a 300 ms first-token delay at 40 tokens/s, the
concurrent-generation quota enforced with 429s) and `python -m bot run` (SQLite in a temporary
directory, YANDEX_MAX_CONCURRENT_GENERATIONS equal to the fake's quota). Then N private users
(plus N/25 groups and N/10 image requests, i.e. 20 and 50 at 500 users) write 3 turns each;
they arrive over a ramp chosen so that the offered load is `--load` of what the generation
quota can serve (a larger load only lengthens the queue before the model, which is shown but
is not part of the delays). With `--generations chats` the fake model (and the bot's limit) allow
as many concurrent generations as there are chats, and `--ramp S` starts every user within S
seconds (instead of the ramp that `--load` implies): every answer streams at once, which is
what the bot-wide Telegram budgets are measured at. Times come from the fakes (`time.time()`
on one machine): the model's
first/last chunk per request and what each chat saw per turn. Bot CPU is utime+stime from
/proc/<pid>/stat over the driving phase, divided by the answered text turns; peak RSS is
VmHWM; the database size counts the WAL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load_driver import Driver, Plan  # noqa: E402
from bench.load_replicas import bench_token, replicas, summed, wait_webhooks  # noqa: E402
from bench.load_report import (  # noqa: E402
    RunFigures,
    by_kind,
    collect,
    complete_visible,
    final_floor,
    table,
    user_side,
)
from tests.e2e.processes import (  # noqa: E402
    FM_API_KEY,
    FM_FOLDER,
    TG_TOKEN,
    BotProcess,
    FakeProcess,
    bot_env,
    start_telegram_process,
)

CLK_TCK = os.sysconf("SC_CLK_TCK")


class PlainBotProcess(BotProcess):
    """bench/plain_bot.py (a plain aiogram + httpx bot) in the place of ``python -m bot run``."""

    async def start(self) -> None:
        self.starts += 1
        with self.log_path.open("ab") as log:
            self.started_at = time.time()
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, str(ROOT / "bench" / "plain_bot.py"),
                cwd=self.workdir, env=self.env, stdin=asyncio.subprocess.DEVNULL,
                stdout=log, stderr=log,
            )


def pin(pids: list[int], cpus: set[int]) -> None:
    """Every thread of every process in `pids` on `cpus`."""
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").iterdir():
            os.sched_setaffinity(int(task.name), cpus)


def cpu_times(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of the process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK  # utime, stime


def status_field(pid: int, key: str) -> int:
    """A number from /proc/<pid>/status (kB for the memory fields)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


async def get_json(session: aiohttp.ClientSession, url: str) -> Any:
    async with session.get(url) as resp:
        resp.raise_for_status()
        return await resp.json()


READY_WITHIN = 180.0


async def wait_ready(session: aiohttp.ClientSession, tg: str, bot: BotProcess) -> None:
    # A liveness bound (a start that hangs), generous: the suite's smoke run starts several
    # bots at once, and the machine may be busy with other work.
    deadline = time.monotonic() + READY_WITHIN
    while time.monotonic() < deadline:
        stats = await get_json(session, f"{tg}/_control/stats")
        if stats["calls"].get("getUpdates"):
            return
        if not bot.running:
            raise RuntimeError(f"bot exited:\n{bot.log_tail()}")
        await asyncio.sleep(0.2)
    raise RuntimeError(f"bot did not poll within {READY_WITHIN:g} s:\n{bot.log_tail()}")


async def start_profilers(
    prefix: str | None, users: int, pids: list[int]
) -> list[asyncio.subprocess.Process]:
    """py-spy (a tool in .venv, not a dependency) sampling each bot process over the driving
    phase: `<prefix>-<users>.txt` for one process, `<prefix>-<users>-<i>.txt` per replica."""
    if not prefix:
        return []
    py_spy = Path(sys.executable).with_name("py-spy")
    names = [f"{prefix}-{users}.txt"] if len(pids) == 1 else [
        f"{prefix}-{users}-{i}.txt" for i in range(len(pids))
    ]
    return [
        await asyncio.create_subprocess_exec(
            str(py_spy), "record", "-p", str(pid), "-r", "100", "--gil", "-f", "raw",
            "-o", name, stdout=asyncio.subprocess.DEVNULL,
        )
        for pid, name in zip(pids, names, strict=True)
    ]


async def run_point(args: argparse.Namespace, users: int, workdir: Path) -> RunFigures:
    groups = args.groups if args.groups is not None else round(users / 25)
    images = args.images if args.images is not None else round(users / 10)
    generations = users + groups if args.generations == "chats" else int(args.generations)
    turn_time = args.first_delay + args.words / args.rate
    total_turns = (users + groups) * args.turns
    ramp = total_turns * turn_time / (generations * args.load)
    if args.ramp is not None:
        ramp = args.ramp
    plan = Plan(users, groups, args.turns, images, ramp, words=args.words)
    figures = RunFigures(users, groups)
    db_path = workdir / "bot.db"
    token = bench_token() if args.replicas else TG_TOKEN
    # Replicas take updates by webhook: delivered over up to 40 connections, as Telegram does.
    tg = await start_telegram_process(token, webhook_parallel=args.replicas > 0)
    fm = await FakeProcess.start(
        "bench.load_fm",
        *("--port", "0", "--api-key", FM_API_KEY, "--folder", FM_FOLDER),
        *("--words", str(args.words), "--rate", str(args.rate)),
        *("--first-delay", str(args.first_delay), "--quota", str(generations)),
    )
    env = bot_env(
        telegram_url=tg.url,
        fm_url=fm.url,
        database_url=f"sqlite+aiosqlite:///{db_path}",
        token=token,
        extra={
            "LOG_LEVEL": args.log_level,
            "YANDEX_MAX_CONCURRENT_GENERATIONS": str(generations),
            "DAILY_IMAGE_LIMIT": "0",
            **({"PYTHONPATH": args.bot_path} if args.bot_path else {}),
            **dict(item.split("=", 1) for item in args.bot_env),
        },
    )
    if args.plain:
        bot: BotProcess = PlainBotProcess(env, workdir, workdir / "bot.log")
    else:
        app_args = ("--app", args.bot_app) if args.bot_app else ()
        bot = BotProcess(env, workdir, workdir / "bot.log", args=("run", *app_args))
    try:
        async with aiohttp.ClientSession() as session, AsyncExitStack() as stack:
            if args.replicas:
                cluster = await stack.enter_async_context(
                    replicas(
                        args.replicas, token, env, workdir, args.redis_url, args.route,
                        coordinated=not args.no_redis,
                    )
                )
                pids, redis = cluster.pids, cluster.redis
                await wait_webhooks(session, tg.url, args.replicas)
            else:
                await bot.start()
                assert bot.proc is not None
                pids, redis = [bot.proc.pid], None
                await wait_ready(session, tg.url, bot)
            pid = pids[0]
            if args.pin is not None:
                pin(pids, args.pin)
            profilers = await start_profilers(args.profile, users, pids)
            rss, peak = status_field(pid, "VmRSS") / 1024, status_field(pid, "VmHWM") / 1024
            print(
                f"[{users} users] bot pid {pid} ready after {sum(cpu_times(pid)):.2f} s of CPU, "
                f"RSS {rss:.0f} MB"
                f" (peak so far {peak:.0f} MB); ramp {ramp:.0f} s, "
                f"{total_turns} text turns, {images} images",
                flush=True,
            )
            if args.idle > 0:  # before any user writes: what the processes cost doing nothing
                idle0, began = summed(cpu_times, pids), time.monotonic()
                woke0 = sum(status_field(p, "voluntary_ctxt_switches") for p in pids)
                await asyncio.sleep(args.idle)
                idle1, lasted = summed(cpu_times, pids), time.monotonic() - began
                woke = sum(status_field(p, "voluntary_ctxt_switches") for p in pids) - woke0
                spent = (idle1[0] + idle1[1] - idle0[0] - idle0[1]) / lasted * 1000
                print(f"  idle: {spent:.1f} ms of CPU a second over {len(pids)} processes "
                      f"({spent / len(pids):.1f} each), {woke / lasted:.1f} wake-ups a second, "
                      f"measured for {lasted:.0f} s", flush=True)
            if args.warm:  # other users first, so that what the processes do once is done
                warm = Plan(args.warm, 1, 2, 1, 2.0, words=args.words, first_chat=500_000)
                await Driver(tg.url, warm).run()
            cpu0, t0 = summed(cpu_times, pids), time.monotonic()
            each0 = [sum(cpu_times(p)) for p in pids]
            switches0 = sum(status_field(p, "voluntary_ctxt_switches") for p in pids)
            redis0 = redis.writes if redis is not None else 0
            driver = Driver(tg.url, plan)
            turns = await driver.run()
            figures.wall = time.monotonic() - t0
            # Summed over the replicas (CPU per turn is then the whole deployment's).
            now_cpu = summed(cpu_times, pids)
            user, system = (now_cpu[0] - cpu0[0]), (now_cpu[1] - cpu0[1])
            figures.cpu_seconds, figures.cpu_system_seconds = user + system, system
            if len(pids) > 1:
                each = [sum(cpu_times(p)) - c for p, c in zip(pids, each0, strict=True)]
                print("  CPU by replica: " + ", ".join(f"{c:.2f}" for c in each) + " s",
                      flush=True)
            figures.peak_rss_mb = max(status_field(p, "VmHWM") for p in pids) / 1024
            figures.wakeups = sum(status_field(p, "voluntary_ctxt_switches") for p in pids)
            figures.wakeups -= switches0
            if redis is not None:
                trips = redis.writes - redis0
                print(f"  Redis: {trips} round trips from {len(pids)} replicas, "
                      f"{trips / max(1, len(turns)):.1f} per turn", flush=True)
            for profiler in profilers:
                profiler.send_signal(signal.SIGINT)
            for profiler in profilers:
                await profiler.wait()
            stats = await get_json(session, f"{tg.url}/_control/stats")
            load = await get_json(session, f"{fm.url}/_control/load")
            chats = {}
            for chat_id in sorted({t.chat_id for t in turns}):
                chats[chat_id] = await get_json(session, f"{tg.url}/_control/chat/{chat_id}")
            calls = (await get_json(session, f"{tg.url}/_control/calls"))["calls"]
            if args.dump:
                dump = json.dumps({"calls": calls, "chats": chats, "fm": load})
                await asyncio.to_thread(Path(f"{args.dump}-{users}.json").write_text, dump)
            figures.tg_429_detail = dict(
                Counter(
                    f"{c['method']} in {'private' if (c['chat_id'] or 0) > 0 else 'group'}"
                    for c in calls
                    if c["status"] == 429
                )
            )
        figures.tg_429 = stats["count_429"]
        figures.tg_429_by_method = stats.get("count_429_by_method", {})
        figures.tg_calls = stats["calls"]
        figures.fm_429 = load["quota_429"]
        collect(figures, turns, chats, load["records"])
    finally:
        if bot.running:
            await bot.terminate()
        await fm.stop()
        await tg.stop()
    figures.db_mb = await asyncio.to_thread(db_megabytes, workdir)
    return figures


def loadavg() -> str:
    """The machine's load average over 1, 5 and 15 minutes (the machine is shared)."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def db_megabytes(workdir: Path) -> float:
    return sum(p.stat().st_size for p in workdir.glob("bot.db*") if p.is_file()) / 2**20


def print_point(figures: RunFigures) -> None:
    print(table([figures]), flush=True)
    print(f"  load average before -> after: {figures.load_before} -> {figures.load_after}",
          flush=True)
    print(f"  the user's wait, p50/p95/p99: {user_side(figures)}", flush=True)
    print(f"  after the model, p50/p95/p99 by chat type: {by_kind(figures)}", flush=True)
    print(f"  {final_floor(figures)}", flush=True)
    print(
        "  complete text visible (a draft or the message, after the model's last chunk) "
        f"p50/95/99: {complete_visible(figures)}",
        flush=True,
    )
    print(f"  Telegram calls: {figures.tg_calls}", flush=True)
    print(
        f"  bot CPU: {figures.cpu_seconds:.2f} s over the driving phase, of which "
        f"{figures.cpu_system_seconds:.2f} s in the kernel (sockets, polling, SQLite I/O); "
        f"the loop thread slept and woke {figures.wakeups} times "
        f"({figures.wakeups / max(1, figures.answered):.1f} per turn)",
        flush=True,
    )
    print(f"  Telegram 429s by method: {figures.tg_429_by_method or 'none'}", flush=True)
    if figures.tg_429_detail:
        print(f"  Telegram 429s: {figures.tg_429_detail}", flush=True)
    print(f"  bot CPU per answered turn: {figures.cpu_ms_per_turn:.2f} ms", flush=True)
    for problem in figures.problems:
        print(f"  problem: {problem}", flush=True)


async def main_async(args: argparse.Namespace) -> None:
    runs = []
    for users in [int(u) for u in args.users.split(",")]:
        with tempfile.TemporaryDirectory(prefix=f"bench-load-{users}-") as tmp:
            load_before = loadavg()
            figures = await run_point(args, users, Path(tmp))
            figures.load_before, figures.load_after = load_before, loadavg()
            if args.keep_log:
                await asyncio.to_thread(shutil.copyfile, Path(tmp) / "bot.log", args.keep_log)
        print_point(figures)
        runs.append(figures)
    print()
    print(
        f"bench_load: {args.turns} turns/user, answers of {args.words} tokens at "
        f"{args.rate:.0f} tokens/s after {1000 * args.first_delay:.0f} ms, "
        f"{args.generations} concurrent generations, "
        + (f"users start within {args.ramp:g} s" if args.ramp is not None else "")
        + (f"offered load {args.load:.2f}" if args.ramp is None else "")
    )
    print(table(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--users", default="50,500", help="comma-separated sweep, e.g. 50,500,1000"
    )
    parser.add_argument("--groups", type=int, default=None, help="default users/25")
    parser.add_argument("--images", type=int, default=None, help="default users/10")
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--words", type=int, default=300, help="answer length in tokens")
    parser.add_argument("--rate", type=float, default=40.0, help="tokens per second")
    parser.add_argument("--first-delay", type=float, default=0.3)
    parser.add_argument(
        "--generations",
        default="20",
        help="Yandex quota = bot limit; 'chats': as many as there are chats (users + groups)",
    )
    parser.add_argument("--load", type=float, default=0.85, help="offered / servable turn rate")
    parser.add_argument(
        "--ramp", type=float, default=None, help="start every user within this many seconds"
    )
    parser.add_argument("--log-level", default="WARNING")
    parser.add_argument(
        "--bot-path",
        default=None,
        help="run the bot from this directory's bot/ (a snapshot, to compare two versions)",
    )
    parser.add_argument(
        "--bot-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for the bot process, e.g. TELEGRAM_MESSAGE_BURST=30 (repeatable)",
    )
    parser.add_argument(
        "--bot-app",
        default=None,
        metavar="MODULE:APP",
        help="run fmbot with this App (`python -m bot run --app`), e.g. bench.cpu_burner:app",
    )
    parser.add_argument(
        "--plain",
        action="store_true",
        help="run bench/plain_bot.py (plain aiogram + httpx) instead of fmbot: the yardstick",
    )
    parser.add_argument(
        "--replicas", type=int, default=0,
        help="N webhook replicas on PostgreSQL and Redis behind a round-robin proxy (1: the "
        "same deployment with one replica, the yardstick for N); 0: one polling process on "
        "SQLite",
    )
    parser.add_argument(
        "--idle", type=float, default=0.0,
        help="first measure the processes' CPU for this many seconds with nothing to do",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--dump", default=None, help="write calls/chats/model records as JSON")
    parser.add_argument(
        "--no-redis", action="store_true",
        help="with --replicas 1: no REDIS_URL (one webhook process on PostgreSQL), what "
        "the replicas' coordination costs",
    )
    parser.add_argument(
        "--route", choices=("round-robin", "chat", "first"), default="round-robin",
        help="where the replicas' proxy sends each update: in turn (as a balancer in front of "
        "Telegram's webhook does), by chat (a chat always to one replica: what handing chats "
        "between replicas costs), or all to the first (the others idle: what spreading costs)",
    )
    parser.add_argument(
        "--warm", type=int, default=0,
        help="serve this many other users (2 turns, a group, an image) before measuring: what "
        "each process does once (compiling, first imports) leaves the measured phase",
    )
    parser.add_argument(
        "--pin", type=lambda s: {int(c) for c in s.split(",")}, default=None,
        help="pin the bot processes to these CPUs (e.g. 0): whether processes running side by "
        "side on both cores cost more CPU than the same work on one",
    )
    parser.add_argument("--profile", default=None, help="py-spy raw output prefix")
    parser.add_argument("--keep-log", default=None, help="copy the bot log of the last point")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
