"""An fmbot App whose CPU per answered turn is a set share above fmbot's own: the regression
the CPU guard must catch (tests/e2e/test_bench_smoke.py), injected through the public API.

After every answer it spins for ``FMBOT_BENCH_BURN_SHARE`` (default 0.3) of the CPU the
process used since the previous answer (the first: since the first turn began), its own
spinning left out. Summed over a run that is the share of all the CPU spent from the first
turn to the last answer, so fmbot is made that much dearer whatever a turn costs on this
machine: a fixed number of milliseconds was 11% of a turn when the guard was written and 7%
(below the guard's 10% tolerance) once turns cost more, which the guard then rightly let pass
on some runs. (Counting from the first answer instead left out the run's first seconds, when
every user's first turn is under way: a quarter burned that way came to about 16%; counting
from the bot's start took in the end of its start-up: 30% came to about 40%.)

Run it with ``bench_load.py --bot-app bench.cpu_burner:app``.
"""

from __future__ import annotations

import os
import time

from bot import AnswerEvent, App, ToolContext

app = App.from_env()
SHARE = float(os.environ.get("FMBOT_BENCH_BURN_SHARE", "0.3"))


class _Burner:
    def __init__(self) -> None:
        self.since: float | None = None  # process CPU after the previous answer's spin

    def start(self) -> None:
        if self.since is None:
            self.since = time.process_time()

    def __call__(self) -> None:
        now = time.process_time()
        if self.since is None:  # not seen a turn begin (a context provider left out)
            self.since = now
        # This thread's CPU only: other threads working meanwhile add nothing to the spin.
        done = time.thread_time() + SHARE * (now - self.since)
        while time.thread_time() < done:
            pass
        self.since = time.process_time()


_burn = _Burner()


@app.context
async def first_turn(context: ToolContext) -> None:
    """Count from the first turn's start (the benchmark measures from when the bot polls;
    nothing runs between that and the first update). Adds nothing to the prompt."""
    _burn.start()


@app.on_answer
async def burn(event: AnswerEvent) -> None:
    """Spin for ``SHARE`` of the CPU used since the previous answer."""
    _burn()
