"""An fmbot App whose every answered turn costs 2 ms more CPU: the regression the CPU guard
must catch (bench/cpu_guard.py --burn-ms 2), injected through the public
API.

After every answer it runs a fixed amount of pure-Python work, ``FMBOT_BENCH_BURN_MS``
(default 2) milliseconds of it as measured on the machine the guard's baseline was recorded
on (``ITERATIONS_PER_MS`` there; a quiet 2-vCPU AMD EPYC VM, Python 3.11). Fixed work, not a
fixed time: the guard compares fmbot with a plain bot, so a machine twice as slow makes a
turn, the plain bot's turn and this work all twice as dear, and the regression stays the same
share of a turn. (A fixed 2 ms of the clock was 13% of a turn here and 7% on a machine twice
as slow, where the guard rightly let it pass.)

Run it with ``bench/cpu_guard.py --burn-ms 2`` or ``bench_load.py --bot-app bench.cpu_burner:app``.
"""

from __future__ import annotations

import os

from bot import AnswerEvent, App

app = App.from_env()
# `spin`'s iterations a millisecond on the baseline's machine: 2.29 ms per 100,000, the median
# of 200 timings with time.thread_time(), quiet, 2026-11-25.
ITERATIONS_PER_MS = 44_000
ITERATIONS = round(float(os.environ.get("FMBOT_BENCH_BURN_MS", "2")) * ITERATIONS_PER_MS)


def spin(iterations: int) -> int:
    total = 0
    for number in range(iterations):
        total += number
    return total


@app.on_answer
async def burn(event: AnswerEvent) -> None:
    """The fixed work, once per answered turn."""
    spin(ITERATIONS)
