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
import json
import os
import time
from pathlib import Path

import pytest

from bench.bench_load import loadavg, run_point
from bench.load_report import RunFigures
from tests.conftest import REPO_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

BASELINE = REPO_ROOT / "bench" / "cpu_baseline.json"
USERS = 30
TOLERANCE = 1.10


def options(*, plain: bool) -> argparse.Namespace:
    return argparse.Namespace(
        groups=1, images=0, turns=2, words=100, rate=40.0, first_delay=0.3,
        generations="chats", load=0.85, ramp=2.0, log_level="WARNING", bot_path=None,
        bot_env=[], plain=plain, replicas=1, redis_url="", dump=None, profile=None,
        keep_log=None,
    )  # fmt: skip


async def pair(workdir: Path, n: int) -> tuple[RunFigures, RunFigures]:
    plain_dir, fmbot_dir = workdir / f"plain{n}", workdir / f"fmbot{n}"
    plain_dir.mkdir()
    fmbot_dir.mkdir()
    # At the same time, not one after the other: whatever else the machine runs (the suite's
    # other workers, another job) then weighs on both bots alike, and the ratio stays the
    # code's. One after the other, a burst of load during fmbot's run alone tipped the ratio
    # (1.39-1.57 against 1.25 on a busy machine; within the bound when quiet).
    plain, fmbot = await asyncio.gather(
        run_point(options(plain=True), USERS, plain_dir),
        run_point(options(plain=False), USERS, fmbot_dir),
    )
    return plain, fmbot


async def test_cpu_per_turn_stays_within_10_percent_of_the_plain_bot_baseline(
    tmp_path: Path,
) -> None:
    stored = json.loads(BASELINE.read_text())
    record = os.environ.get("FMBOT_RECORD_CPU_BASELINE") == "1"
    ratios: list[float] = []
    for n in range(5 if record else 3):
        plain, fmbot = await pair(tmp_path, n)
        turns = fmbot.text_turns
        assert turns == USERS * 2 + 2
        assert fmbot.exact == turns, fmbot.problems
        assert fmbot.tg_429 == 0, fmbot.tg_429_by_method
        assert plain.answered == turns
        ratios.append(fmbot.cpu_ms_per_turn / plain.cpu_ms_per_turn)
        if not record and ratios[-1] <= stored["ratio"] * TOLERANCE:
            break
    if record:
        ratio = sorted(ratios)[len(ratios) // 2]
        BASELINE.write_text(
            json.dumps(
                {
                    "ratio": round(ratio, 3),
                    "pairs": [round(r, 3) for r in ratios],
                    "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                    "load_average": loadavg(),
                },
                indent=2,
            )
            + "\n"
        )
        return
    best = min(ratios)
    assert best <= stored["ratio"] * TOLERANCE, (
        f"fmbot's CPU per turn is {best:.2f}x the plain bot's (pairs: "
        f"{', '.join(f'{r:.2f}' for r in ratios)}), more than 10% above the baseline "
        f"{stored['ratio']:.2f}x (bench/cpu_baseline.json)"
    )
