"""An fmbot App that spends a set amount of CPU after every answer: the regression the CPU guard
must catch (tests/e2e/test_bench_smoke.py), injected through the public API.

``FMBOT_BENCH_BURN_MS`` (default 2) milliseconds of this thread's CPU time per answered turn,
whatever else the machine runs: `time.thread_time` counts only the CPU this thread used.
Run it with ``bench_load.py --bot-app bench.cpu_burner:app``.
"""

from __future__ import annotations

import os
import time

from bot import AnswerEvent, App

app = App.from_env()
BURN_SECONDS = float(os.environ.get("FMBOT_BENCH_BURN_MS", "2")) / 1000


@app.on_answer
async def burn(event: AnswerEvent) -> None:
    """Spin until this thread has used ``BURN_SECONDS`` more CPU."""
    done = time.thread_time() + BURN_SECONDS
    while time.thread_time() < done:
        pass
