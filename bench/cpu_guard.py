"""The CPU guard: fmbot's CPU per answered turn over the plain aiogram + httpx bot's
(bench/plain_bot.py), measured in rounds on bots that are started once and run side by side.

    .venv/bin/python bench/cpu_guard.py                 # the guard's figures, and its verdict
    .venv/bin/python bench/cpu_guard.py --burn-ms 2     # also fmbot made 2 ms a turn dearer
    .venv/bin/python bench/cpu_guard.py --record        # write bench/cpu_baseline.json
    .venv/bin/python bench/cpu_guard.py --against ../old  # also fmbot as a checkout has it

Every contender (the plain bot, fmbot, and any other App) gets its own fake Telegram and fake
Foundation Models processes and is started once. Two warm-up rounds follow, left out of the
figures: they hold the first-use costs (imports on first call, caches, the first SQLite pages)
that weigh several milliseconds a turn at this scale and vary from run to run. Then every
measured round sends the same conversations (new chats each round, so no history grows) to
every contender at the same time, and reads each process's CPU clock before and after.

The figure is the **median over rounds of fmbot's CPU per turn divided by the plain bot's in
the same round**. Side by side, whatever else the machine runs weighs on both bots alike; the
median leaves out a round that a burst of load tipped. The process CPU clock
(``clock_gettime`` on the process's CPU-time clock) is exact to the nanosecond and counts
every thread, those that ended included, where ``/proc/<pid>/stat`` counts 10 ms ticks: a
round's 0.8 CPU-seconds would be read to within 2-3%.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.bench_load import PlainBotProcess, get_json, loadavg, wait_ready  # noqa: E402
from bench.load_driver import Driver, Plan, Turn  # noqa: E402
from bench.load_report import RunFigures, collect  # noqa: E402
from tests.e2e.processes import (  # noqa: E402
    FM_API_KEY,
    FM_FOLDER,
    BotProcess,
    FakeProcess,
    bot_env,
    start_telegram_process,
)

BASELINE = ROOT / "bench" / "cpu_baseline.json"
# The guard fails more than 10% above the baseline's ratio. Between runs the median moved
# by up to 5% (1.45-1.56 in 14 runs of 2026-11-25: quiet, beside a busy loop, inside the
# suite; baseline 1.483); 2 ms more a turn raised it by 15-22% (to 1.70-1.80), so 10% sits
# halfway between the two.
TOLERANCE = 1.10
USERS = 30  # private chats a round, plus one group
GROUPS = 1
TURNS = 2  # per chat and round
ROUNDS = 5  # measured, after the warm-up
# A verdict within CLOSE of the bound is decided on more rounds, up to MORE_ROUNDS in all: one
# CI run failed at 1.629 against the bound 1.628 (rounds 1.378-1.698, the host slow: the plain
# bot's turn cost 15-20 ms against 9-12 the day after). Five rounds put a median that close on
# either side by chance; the bound itself does not move, and 2 ms more a turn (1.70-1.86) is
# decided in the first five.
CLOSE = 0.04
MORE_ROUNDS = 11
# Two warm-up rounds: after one, the plain bot's first or second measured round cost it
# 10-25% more in every run of 2026-11-25 (fmbot's did not; the cause was not looked into).
WARMUP = 2
WORDS, RATE, FIRST_DELAY = 100, 40.0, 0.3  # the fake model's answers
PLAIN = "plain"


@dataclass(frozen=True)
class Contender:
    """A bot the guard measures: the plain bot, ``python -m bot run``, or an App."""

    name: str
    plain: bool = False
    app: str | None = None  # "module:attribute", run with ``python -m bot run --app``
    env: tuple[tuple[str, str], ...] = ()


FMBOT = Contender("fmbot")


def process_cpu(pid: int) -> float:
    """CPU seconds of process ``pid`` (all its threads, ended ones included), to the
    nanosecond: the process's CPU-time clock, whose id Linux derives from the pid
    (``MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED)`` in the kernel's posix-timers.h, what
    glibc's ``clock_getcpuclockid`` returns)."""
    return time.clock_gettime((~pid << 3) | 2)


@dataclass
class Rounds:
    """What the guard measured: CPU milliseconds per answered turn, per contender and round."""

    cpu_ms: dict[str, list[float]] = field(default_factory=dict)
    loads: list[str] = field(default_factory=list)  # load average at each round's end
    steal: list[float] = field(default_factory=list)  # share of the machine's time stolen
    beside: str = "nothing started beside"  # what ran beside the measured rounds
    priority: str = "the machine's default priority"  # the measured processes' (nice)

    def ratios(self, name: str) -> list[float]:
        """``name``'s CPU per turn over the plain bot's, round by round."""
        return [c / p for c, p in zip(self.cpu_ms[name], self.cpu_ms[PLAIN], strict=True)]

    def ratio(self, name: str) -> float:
        return statistics.median(self.ratios(name))

    def describe(self, name: str) -> str:
        ratios = ", ".join(f"{r:.3f}" for r in self.ratios(name))
        ms = ", ".join(f"{c:.1f}" for c in self.cpu_ms[name])
        plain = ", ".join(f"{c:.1f}" for c in self.cpu_ms[PLAIN])
        stolen = ", ".join(f"{100 * s:.0f}%" for s in self.steal)
        return (
            f"{name}: median ratio {self.ratio(name):.3f} (rounds {ratios}); "
            f"{ms} ms/turn against the plain bot's {plain}; load {' | '.join(self.loads)}; "
            f"steal {stolen}; {self.beside}; {self.priority}"
        )

    def close_to_bound(self) -> list[str]:
        """The contenders whose verdict is within ``CLOSE`` of the bound, either side."""
        limit = bound()
        return [
            name for name in self.cpu_ms
            if name != PLAIN and abs(self.ratio(name) - limit) <= CLOSE * limit
        ]


def baseline() -> float:
    """The ratio recorded in bench/cpu_baseline.json."""
    return float(json.loads(BASELINE.read_text())["ratio"])


def bound() -> float:
    return baseline() * TOLERANCE


def within_guard(rounds: Rounds, name: str = FMBOT.name) -> bool:
    """The guard's rule: the median ratio is at most 10% above the baseline's."""
    return rounds.ratio(name) <= bound()


@dataclass
class _Running:
    contender: Contender
    tg: FakeProcess
    fm: FakeProcess
    bot: BotProcess
    turns: list[Turn] = field(default_factory=list)

    @property
    def pid(self) -> int:
        assert self.bot.proc is not None
        return self.bot.proc.pid


async def _start(contender: Contender, workdir: Path, stack: AsyncExitStack) -> _Running:
    chats = USERS + GROUPS
    tg = await start_telegram_process()
    stack.push_async_callback(tg.stop)
    fm = await FakeProcess.start(
        "bench.load_fm",
        *("--port", "0", "--api-key", FM_API_KEY, "--folder", FM_FOLDER),
        *("--words", str(WORDS), "--rate", str(RATE)),
        *("--first-delay", str(FIRST_DELAY), "--quota", str(chats)),
    )
    stack.push_async_callback(fm.stop)
    env = bot_env(
        telegram_url=tg.url,
        fm_url=fm.url,
        database_url=f"sqlite+aiosqlite:///{workdir / 'bot.db'}",
        extra={
            "LOG_LEVEL": "WARNING",
            "YANDEX_MAX_CONCURRENT_GENERATIONS": str(chats),
            "DAILY_IMAGE_LIMIT": "0",
            **({"PYTHONPATH": str(ROOT)} if contender.app else {}),
            **dict(contender.env),
        },
    )
    log = workdir / "bot.log"
    if contender.plain:
        bot: BotProcess = PlainBotProcess(env, workdir, log)
    else:
        app_args = ("--app", contender.app) if contender.app else ()
        bot = BotProcess(env, workdir, log, args=("run", *app_args))
    await bot.start()

    async def stop() -> None:
        if bot.running:
            await bot.terminate()

    stack.push_async_callback(stop)
    return _Running(contender, tg, fm, bot)


def _plan(round_number: int) -> Plan:
    # New chats every round (ids 1000, 2000, ...): a conversation's history would otherwise
    # grow from round to round, and fmbot's prompts with it.
    return Plan(
        USERS, GROUPS, TURNS, images=0, ramp=1.0, think=(0.2, 0.6), words=WORDS,
        first_chat=1000 * (round_number + 1),
    )


async def _one_round(running: _Running, plan: Plan) -> float:
    """Drive one round; the process's CPU seconds over it."""
    before = process_cpu(running.pid)
    turns = await Driver(running.tg.url, plan).run()
    spent = process_cpu(running.pid) - before
    running.turns.extend(turns)
    return spent


async def _check_answers(running: _Running, session: aiohttp.ClientSession) -> None:
    """Every measured turn answered with the model's exact text, and no 429 from Telegram."""
    chats = {
        chat_id: await get_json(session, f"{running.tg.url}/_control/chat/{chat_id}")
        for chat_id in sorted({t.chat_id for t in running.turns})
    }
    records = (await get_json(session, f"{running.fm.url}/_control/load"))["records"]
    stats = await get_json(session, f"{running.tg.url}/_control/stats")
    figures = RunFigures(USERS, GROUPS)
    collect(figures, running.turns, chats, records)
    name = running.contender.name
    if running.contender.plain:
        assert figures.answered == figures.text_turns, (name, figures.problems)
        return
    assert figures.exact == figures.text_turns, (name, figures.problems)
    assert stats["count_429"] == 0, (name, stats.get("count_429_by_method"))


async def measure(
    contenders: Sequence[Contender],
    workdir: Path,
    *,
    rounds: int = ROUNDS,
    busy: bool = False,
    unless_busy: bool = False,
    more: int = MORE_ROUNDS,
) -> Rounds:
    """Start the plain bot and ``contenders`` side by side, run ``WARMUP`` rounds and ``rounds``
    measured rounds, then more, up to ``more`` in all, while a verdict is close to the bound
    (``Rounds.close_to_bound``); every turn of the measured rounds must be answered exactly.
    ``busy``: a CPU-bound process runs beside the measured rounds (not the start-ups, whose CPU
    is not measured: it would only cost the machine time); with ``unless_busy``, only when the
    last warm-up round left a whole core of the machine idle (the bots themselves keep about
    half of one busy; inside the test suite the other workers keep the rest busy: a busy loop
    would only slow the suite down)."""
    everyone = [Contender(PLAIN, plain=True), *contenders]
    out = Rounds({c.name: [] for c in everyone})
    async with AsyncExitStack() as stack, aiohttp.ClientSession() as session:
        running = []
        for contender in everyone:
            home = workdir / contender.name
            home.mkdir()
            running.append(await _start(contender, home, stack))
        for bot in running:
            await wait_ready(session, bot.tg.url, bot.bot)
        pids = [pid for bot in running for pid in (bot.pid, bot.tg.proc.pid, bot.fm.proc.pid)]
        out.priority = await stack.enter_async_context(ahead_of_the_machine(pids))
        async with AsyncExitStack() as beside:
            number = 0
            while number < WARMUP + rounds or (
                number < WARMUP + more and out.close_to_bound()
            ):
                plan = _plan(number)
                number += 1
                machine = MachineCpu()
                spent = await asyncio.gather(*(_one_round(bot, plan) for bot in running))
                if number <= WARMUP:
                    for bot in running:
                        bot.turns.clear()
                    if busy and number == WARMUP:
                        cores = machine.busy_cores()
                        if unless_busy and cores >= machine.cores - 1.0:
                            out.beside = f"the machine already busy ({cores:.1f} cores)"
                        else:
                            await beside.enter_async_context(busy_process())
                            out.beside = f"a busy loop beside ({cores:.1f} cores busy before)"
                    continue
                turns = (USERS + GROUPS) * TURNS
                for bot, seconds in zip(running, spent, strict=True):
                    out.cpu_ms[bot.contender.name].append(1000 * seconds / turns)
                out.loads.append(loadavg().split()[0])
                out.steal.append(machine.stolen())
        for bot in running:
            await _check_answers(bot, session)
    return out


# The measured processes' nice value. How much CPU a turn costs depends on how the machine
# schedules a bot, and not alike for the two: starved of CPU (load 4.5-5.7 on two cores: the
# suite's workers and busy loops), fmbot's ratio to the plain bot rose to 1.64-1.66 (two runs:
# once in a fresh-clone suite beside a busy loop, once beside four busy loops), past the
# bound; beside the same four loops at nice -10 it was 1.49, and the 2 ms burner's 1.83.
# Ahead of the machine's other work, the bots are scheduled as on a quiet machine, which is
# what the baseline measures, whatever else runs.
NICE = -10


@contextlib.asynccontextmanager
async def ahead_of_the_machine(pids: Sequence[int]) -> AsyncIterator[str]:
    """The measured processes and this one (the driver) at ``NICE`` for the block; says what
    was done (without the privilege, nothing: then the figures say so)."""
    own = os.getpriority(os.PRIO_PROCESS, 0)
    try:
        for pid in (0, *pids):
            os.setpriority(os.PRIO_PROCESS, pid, NICE)
    except PermissionError:
        os.setpriority(os.PRIO_PROCESS, 0, own)  # giving a raise back needs no privilege
        yield "priority unchanged (no permission to raise it)"
        return
    try:
        yield f"measured at nice {NICE}"
    finally:
        os.setpriority(os.PRIO_PROCESS, 0, own)


class MachineCpu:
    """How many of the machine's cores were busy since this was made (/proc/stat)."""

    def __init__(self) -> None:
        self.cores = os.cpu_count() or 1
        self._start = _cpu_ticks()

    def busy_cores(self) -> float:
        busy0, total0, _ = self._start
        busy1, total1, _ = _cpu_ticks()
        return self.cores * (busy1 - busy0) / max(1, total1 - total0)

    def stolen(self) -> float:
        """The share of the time the hypervisor gave the machine's cores to other guests:
        a slow host shows here, and makes every turn dearer."""
        _, total0, steal0 = self._start
        _, total1, steal1 = _cpu_ticks()
        return (steal1 - steal0) / max(1, total1 - total0)


def _cpu_ticks() -> tuple[int, int, int]:
    """(busy, all, stolen) jiffies of every core together, from /proc/stat's first line."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    steal = fields[7] if len(fields) > 7 else 0
    return sum(fields) - idle, sum(fields), steal


@contextlib.asynccontextmanager
async def busy_process() -> AsyncIterator[None]:
    """A CPU-bound process beside the measurement, as another job on the machine would be."""
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", "while True: pass")
    try:
        yield
    finally:
        proc.kill()
        await proc.wait()


def burner(ms: float) -> Contender:
    """fmbot made ``ms`` milliseconds of CPU dearer per answered turn (bench/cpu_burner.py)."""
    return Contender(
        f"fmbot+{ms:g}ms", app="bench.cpu_burner:app", env=(("FMBOT_BENCH_BURN_MS", str(ms)),)
    )


async def record() -> None:
    """Measure the baseline: four runs, quiet and beside a busy loop in turn (the suite runs
    the guard beside one, and the ratio moves by a few percent with the machine's load), and
    write the mean of their medians to bench/cpu_baseline.json."""
    medians: list[dict[str, object]] = []
    for busy in (False, True, False, True):
        with tempfile.TemporaryDirectory(prefix="cpu-guard-") as tmp:
            rounds = await measure([FMBOT], Path(tmp), busy=busy)
        print(("busy: " if busy else "quiet: ") + rounds.describe(FMBOT.name), flush=True)
        medians.append({"busy": busy, "median": round(rounds.ratio(FMBOT.name), 3),
                        "rounds": [round(r, 3) for r in rounds.ratios(FMBOT.name)]})
    ratio = statistics.mean(float(str(m["median"])) for m in medians)
    BASELINE.write_text(
        json.dumps(
            {
                "ratio": round(ratio, 3),
                "runs": medians,
                "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            },
            indent=2,
        )
        + "\n"
    )
    print(f"recorded {ratio:.3f} in {BASELINE.relative_to(ROOT)}")


async def main_async(args: argparse.Namespace) -> None:
    if args.record:
        await record()
        return
    contenders = [FMBOT] + ([burner(args.burn_ms)] if args.burn_ms else [])
    if args.against is not None:  # another version's `bot` package, first on its import path
        contenders.append(Contender("against", env=(("PYTHONPATH", str(args.against)),)))
    with tempfile.TemporaryDirectory(prefix="cpu-guard-") as tmp:
        rounds = await measure(contenders, Path(tmp), rounds=args.rounds, busy=args.busy)
    for contender in contenders:
        print(rounds.describe(contender.name))
        verdict = "within" if within_guard(rounds, contender.name) else "OVER"
        print(f"{contender.name}: {verdict} the bound {bound():.3f} (baseline {baseline():.3f})")
    if args.against is not None:
        # Side by side in the same rounds: this checkout's CPU a turn over the other's.
        each = [new / old for new, old in zip(rounds.cpu_ms[FMBOT.name],
                                               rounds.cpu_ms["against"], strict=True)]
        print(f"fmbot / {args.against}: median {statistics.median(each):.3f} "
              f"(rounds {', '.join(f'{r:.3f}' for r in each)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="measured rounds")
    parser.add_argument(
        "--burn-ms", type=float, default=0.0, help="also run fmbot made this much dearer a turn"
    )
    parser.add_argument("--busy", action="store_true", help="a busy loop beside the bots")
    parser.add_argument(
        "--against", type=Path, default=None,
        help="also run the fmbot of this checkout (its folder: its `bot` package is imported) "
             "in the same rounds, and print this one's CPU a turn over it",
    )
    parser.add_argument(
        "--record", action="store_true",
        help="measure the baseline (four runs, two beside a busy loop) and write it to "
        "bench/cpu_baseline.json",
    )
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
