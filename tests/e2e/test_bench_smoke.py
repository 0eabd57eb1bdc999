"""The CPU guard (bench/cpu_guard.py) in the suite, on a busy machine: it passes for fmbot and
fails for fmbot made 2 ms of CPU a turn dearer.

One measurement serves both tests: the plain aiogram + httpx bot, fmbot and fmbot with
``bench/cpu_burner.py`` (2 ms of CPU spun after every answer, through the public API's
``on_answer`` hook) run side by side in the same rounds, beside a CPU-bound process that the
fixture starts unless the machine is busy already (the suite's other workers keep both cores
busy most of the time: the figures then say so). The guard's rule is applied to each: fmbot's
median ratio to the plain bot must be within 10% of ``bench/cpu_baseline.json``, and the
burner's must not be. After a change that makes fmbot cheaper or dearer on purpose, run
``bench/cpu_guard.py --record`` and commit the file it writes. With
``FMBOT_TEST_GUARD_REPORT=path`` the figures are appended to that file, passed or not (pytest
shows a passing test's output nowhere, and the margin is what tells a guard near its bound).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bench.cpu_guard import (
    FMBOT,
    Rounds,
    bound,
    burner,
    measure,
    within_guard,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300), pytest.mark.xdist_group("cpu_guard")]

BURNER = burner(2.0)


def _append(path: Path, lines: list[str]) -> None:
    with path.open("a", encoding="utf-8") as out:
        out.write("".join(f"{line}\n" for line in lines))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def rounds(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Rounds]:
    workdir: Path = tmp_path_factory.mktemp("cpu-guard")
    measured = await measure([FMBOT, BURNER], workdir, busy=True, unless_busy=True)
    figures = [measured.describe(FMBOT.name), measured.describe(BURNER.name)]
    print("\n".join(figures))
    report = os.environ.get("FMBOT_TEST_GUARD_REPORT")
    if report:
        _append(Path(report), figures)
    yield measured


@pytest.mark.asyncio(loop_scope="module")
async def test_cpu_per_turn_stays_within_10_percent_of_the_plain_bot_baseline(
    rounds: Rounds,
) -> None:
    """With a CPU-bound process running beside it."""
    assert within_guard(rounds, FMBOT.name), (
        f"fmbot's CPU per turn is {rounds.ratio(FMBOT.name):.2f}x the plain bot's, more than "
        f"10% above the baseline (bound {bound():.3f}): {rounds.describe(FMBOT.name)}"
    )


@pytest.mark.asyncio(loop_scope="module")
async def test_two_more_milliseconds_a_turn_fail_the_guard(rounds: Rounds) -> None:
    """The guard can fail: 2 ms more CPU a turn, measured in the same rounds, is over it."""
    assert not within_guard(rounds, BURNER.name), rounds.describe(BURNER.name)
