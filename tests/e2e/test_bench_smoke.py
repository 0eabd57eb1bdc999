"""The benchmark smoke run: bench_load at a small scale, fmbot and the plain aiogram + httpx bot
(bench/plain_bot.py) side by side on this machine, and a guard on fmbot's CPU per answered
turn.

CPU per turn differs from machine to machine (and with the load other processes put on it),
so the guard compares the ratio fmbot / plain bot, measured side by side in the same run,
with the ratio stored in ``bench/cpu_baseline.json``: more than 10% above it fails. A busy
machine can still tip one pair, so up to three pairs are measured and the best one counts
(a real regression makes every pair slower). After a change that makes fmbot cheaper or
dearer on purpose, run this test with ``FMBOT_RECORD_CPU_BASELINE=1`` and commit the file it
writes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bench.bench_load import loadavg, run_point
from tests.conftest import REPO_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

BASELINE = REPO_ROOT / "bench" / "cpu_baseline.json"
USERS = 30
TOLERANCE = 1.10
PAIRS = 3


def options(*, plain: bool, app: str | None = None) -> argparse.Namespace:
    return argparse.Namespace(
        groups=1, images=0, turns=2, words=100, rate=40.0, first_delay=0.3,
        generations="chats", load=0.85, ramp=2.0, log_level="WARNING",
        bot_path=str(REPO_ROOT) if app else None, bot_app=app,
        bot_env=[], plain=plain, replicas=0, redis_url="", dump=None, profile=None,
        keep_log=None,
    )


async def pair(workdir: Path, n: int, app: str | None = None) -> float:
    """fmbot's CPU per answered turn over the plain bot's, both run at the same time.

    At the same time, not one after the other: whatever else the machine runs (the suite's
    other workers, another job) then weighs on both bots alike, and the ratio stays the
    code's. One after the other, a burst of load during fmbot's run alone tipped the ratio
    (1.39-1.57 against 1.25 on a busy machine; within the bound when quiet)."""
    plain_dir, fmbot_dir = workdir / f"plain{n}", workdir / f"fmbot{n}"
    plain_dir.mkdir()
    fmbot_dir.mkdir()
    plain, fmbot = await asyncio.gather(
        run_point(options(plain=True), USERS, plain_dir),
        run_point(options(plain=False, app=app), USERS, fmbot_dir),
    )
    turns = fmbot.text_turns
    assert turns == USERS * 2 + 2
    assert fmbot.exact == turns, fmbot.problems
    assert fmbot.tg_429 == 0, fmbot.tg_429_by_method
    assert plain.answered == turns
    ratio = fmbot.cpu_ms_per_turn / plain.cpu_ms_per_turn
    print(
        f"pair {n}: fmbot {fmbot.cpu_ms_per_turn:.1f} ms/turn, plain "
        f"{plain.cpu_ms_per_turn:.1f} ms/turn, ratio {ratio:.3f}; load {loadavg()}"
    )
    return ratio


def bound() -> float:
    return float(json.loads(BASELINE.read_text())["ratio"]) * TOLERANCE


async def guard(workdir: Path, app: str | None = None) -> list[float]:
    """The guard's rule: up to ``PAIRS`` pairs, stopping at the first within the bound (a busy
    machine can tip one pair; a real regression makes every pair slower). The ratios."""
    ratios: list[float] = []
    for n in range(PAIRS):
        ratios.append(await pair(workdir, n, app))
        if ratios[-1] <= bound():
            break
    return ratios


@contextlib.asynccontextmanager
async def busy_process() -> AsyncIterator[None]:
    """A CPU-bound process beside the measurement, as another job on the machine would be."""
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", "while True: pass")
    try:
        yield
    finally:
        proc.kill()
        await proc.wait()


async def test_cpu_per_turn_stays_within_10_percent_of_the_plain_bot_baseline(
    tmp_path: Path,
) -> None:
    """With a CPU-bound process running beside it (the test starts one)."""
    if os.environ.get("FMBOT_RECORD_CPU_BASELINE") == "1":
        ratios = [await pair(tmp_path, n) for n in range(5)]
        BASELINE.write_text(
            json.dumps(
                {
                    "ratio": round(sorted(ratios)[len(ratios) // 2], 3),
                    "pairs": [round(r, 3) for r in ratios],
                    "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                    "load_average": loadavg(),
                },
                indent=2,
            )
            + "\n"
        )
        return
    async with busy_process():
        ratios = await guard(tmp_path)
    assert min(ratios) <= bound(), (
        f"fmbot's CPU per turn is {min(ratios):.2f}x the plain bot's (pairs: "
        f"{', '.join(f'{r:.2f}' for r in ratios)}; load average {loadavg()}), more than 10% "
        f"above the baseline {bound() / TOLERANCE:.2f}x (bench/cpu_baseline.json)"
    )


async def test_thirty_percent_more_cpu_per_turn_fails_the_guard(tmp_path: Path) -> None:
    """The guard can fail: the same run with an App that makes every turn cost 30% more CPU
    (bench/cpu_burner.py) is over the bound in every pair the guard measures.

    30%, not the 10% of the tolerance: beside the rest of the suite and a busy loop one pair's
    ratio moves by a tenth either way (1.40-1.53 for one code in one run), so a regression
    just past 10% can pass a pair, as it can pass the guard's best-of-three. It was 2 ms a
    turn, 11% when written; when turns cost more it was 7%, and a pair let it through (CI,
    stop 40)."""
    # The guard's pairs, all at once (each pair's two bots still side by side): the guard
    # stops at the first pair within the bound, so failing means every pair is over it.
    ratios = await asyncio.gather(
        *(pair(tmp_path, n, app="bench.cpu_burner:app") for n in range(PAIRS))
    )
    assert min(ratios) > bound(), (ratios, loadavg())
