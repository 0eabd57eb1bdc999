"""Start-up CPU of `python -m bot run` (until it polls) and of `python -m bot check`, each a fresh
interpreter against the project's fake Telegram and fake Foundation Models on loopback.

    .venv/bin/python bench/bench_startup.py [--runs 7] [--bot-path /tmp/old]

`--bot-path`: the `bot` package of another build (a folder holding it: `git archive <commit>
bot migrations | tar -x -C /tmp/old`), run by this environment, so two builds are compared in
one session.

`run`: the bot's own CPU (user + system, every thread; /proc, 10 ms ticks) when the fake
Telegram sees its first getUpdates, and the wall seconds from spawning it to that call. The
database is migrated once and copied for each run, so a run is a restart (no migration to
apply), the usual start of a deployed bot. `check`: the whole command's CPU (RUSAGE_CHILDREN
once it is reaped) and wall seconds. Then `python -c "import aiogram"`, the share of both that
is aiogram building its models. Medians of `--runs`, with the spread; the machine's load
average is printed beside them, as the machine is shared and wall seconds follow the load.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.bench_load import loadavg  # noqa: E402
from bench.process_cpu import children_cpu, process_cpu  # noqa: E402
from tests.e2e.processes import (  # noqa: E402
    FM_API_KEY,
    FM_FOLDER,
    TG_TOKEN,
    bot_env,
    migrate_database,
)
from tests.fakes.telegram.server import TelegramServer  # noqa: E402
from tests.fakes.yandex.server import FakeFoundationModels  # noqa: E402

READY_WITHIN = 180.0  # a liveness bound on a start that hangs, not a figure


async def start_run(env: dict[str, str], workdir: Path, tg: TelegramServer) -> tuple[float, float]:
    """One `python -m bot run` until its first getUpdates: (CPU-seconds, wall seconds)."""
    polls_before = len([c for c in tg.calls if c.method == "getUpdates"])
    log = (workdir / "run.log").open("ab")
    began = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=workdir, env=env,
        stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        while len([c for c in tg.calls if c.method == "getUpdates"]) == polls_before:
            if proc.returncode is not None or time.monotonic() - began > READY_WITHIN:
                raise RuntimeError(f"the bot did not poll: see {workdir / 'run.log'}")
            await asyncio.sleep(0.02)
        wall = time.monotonic() - began
        cpu = process_cpu(proc.pid)
    finally:
        if proc.returncode is None:
            proc.terminate()
        await proc.wait()
        log.close()
    return cpu, wall


async def run_check(env: dict[str, str], workdir: Path,
                    *args: str) -> tuple[float, float, int]:
    """One `python -m bot check` (or `python <args>`): (CPU-seconds, wall seconds, exit
    code)."""
    cpu_before, began = children_cpu(), time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *(args or ("-m", "bot", "check")), cwd=workdir, env=env,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    output, _ = await proc.communicate()
    wall = time.monotonic() - began
    (workdir / "check.log").write_bytes(output)
    return children_cpu() - cpu_before, wall, proc.returncode or 0


def fresh_database(migrated: Path, db: Path) -> None:
    """`db` as `migrated` left it: no WAL or queue of an earlier run."""
    for stale in db.parent.glob(db.name + "*"):
        stale.unlink()
    shutil.copy(migrated, db)


def calibration() -> float:
    """CPU-seconds of ten million additions in pure Python, as bench/results.md's "cal": this
    machine's speed drifts by a third within the hour, and every figure here with it."""
    began, total = time.process_time(), 0
    for i in range(10_000_000):
        total += i
    return time.process_time() - began


def line(name: str, cpu: list[float], wall: list[float]) -> str:
    return (f"{name:<14} CPU-seconds median {statistics.median(cpu):.2f} "
            f"({min(cpu):.2f}-{max(cpu):.2f}), wall seconds median {statistics.median(wall):.2f} "
            f"({min(wall):.2f}-{max(wall):.2f}), {len(cpu)} runs")


async def main(runs: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="fmbot-startup-"))
    try:
        migrated = workdir / "migrated.db"
        await migrate_database(migrated, workdir)
        async with TelegramServer(TG_TOKEN) as tg, FakeFoundationModels(
            api_key=FM_API_KEY, folder_id=FM_FOLDER
        ) as fm:
            db = workdir / "bot.db"
            env = bot_env(telegram_url=tg.url, fm_url=fm.url,
                          database_url=f"sqlite+aiosqlite:///{db}")
            print(f"load average before: {loadavg()}, cal {calibration():.2f} s", flush=True)
            run_cpu, run_wall = [], []
            for _ in range(runs):
                fresh_database(migrated, db)
                cpu, wall = await start_run(env, workdir, tg)
                run_cpu.append(cpu)
                run_wall.append(wall)
            print(line("run", run_cpu, run_wall), flush=True)
            check_cpu, check_wall, codes = [], [], set()
            for _ in range(runs):
                cpu, wall, code = await run_check(env, workdir)
                check_cpu.append(cpu)
                check_wall.append(wall)
                codes.add(code)
            print(line("check", check_cpu, check_wall) + f", exit codes {sorted(codes)}",
                  flush=True)
            # The floor under both: aiogram's import builds its ~630 pydantic models.
            floor_cpu, floor_wall = [], []
            for _ in range(runs):
                cpu, wall, _ = await run_check(env, workdir, "-c", "import aiogram")
                floor_cpu.append(cpu)
                floor_wall.append(wall)
            print(line("import aiogram", floor_cpu, floor_wall), flush=True)
            print(f"load average after: {loadavg()}, cal {calibration():.2f} s", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--bot-path", default="", help="a folder holding another build's bot")
    args = parser.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    if args.bot_path:  # bot_env() passes PYTHONPATH on, ahead of this checkout's install
        os.environ["PYTHONPATH"] = str(Path(args.bot_path).resolve())
    asyncio.run(main(args.runs))
