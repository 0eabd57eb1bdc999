"""An fmbot App whose CPU per answered turn is a set share above fmbot's own: the regression
the CPU guard must catch (tests/e2e/test_bench_smoke.py), injected through the public API.

After every answer it spins for ``FMBOT_BENCH_BURN_SHARE`` (default 0.25) of the CPU the
process used since the previous answer, its own spinning left out. Summed over a run that is
the share of all the CPU spent between the first answer and the last, so fmbot is made that
much dearer whatever a turn costs on this machine: a fixed number of milliseconds was 11% of
a turn when the guard was written and 7% (below the guard's 10% tolerance) once turns cost
more, which the guard then rightly let pass on some runs.

Run it with ``bench_load.py --bot-app bench.cpu_burner:app``.
"""

from __future__ import annotations

import os
import time

from bot import AnswerEvent, App

app = App.from_env()
SHARE = float(os.environ.get("FMBOT_BENCH_BURN_SHARE", "0.25"))


class _Burner:
    def __init__(self) -> None:
        self.since: float | None = None  # process CPU after the previous answer's spin

    def __call__(self) -> None:
        now = time.process_time()
        if self.since is not None:
            # This thread's CPU only: other threads working meanwhile add nothing to the spin.
            done = time.thread_time() + SHARE * (now - self.since)
            while time.thread_time() < done:
                pass
        self.since = time.process_time()


_burn = _Burner()


@app.on_answer
async def burn(event: AnswerEvent) -> None:
    """Spin for ``SHARE`` of the CPU used since the previous answer."""
    _burn()
