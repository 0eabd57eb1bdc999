"""The job runner's pacer: calls at least `interval` apart, also after the event loop was
held up (a stall must not turn into a burst past Yandex's operations quota)."""

from __future__ import annotations

import asyncio
import itertools
import time

from bot.insights.pacing import Pacer


async def test_a_stalled_loop_does_not_release_the_waiters_at_once() -> None:
    pacer = Pacer(10.0)  # 0.1 s apart
    loop = asyncio.get_running_loop()
    went: list[float] = []

    async def call() -> None:
        await pacer.wait()
        went.append(loop.time())

    calls = [asyncio.create_task(call()) for _ in range(8)]
    await asyncio.sleep(0)  # all of them waiting, the first gone
    # The loop held up on purpose: five of the waiters' turns pass meanwhile.
    time.sleep(0.5)  # noqa: ASYNC251
    await asyncio.gather(*calls)
    gaps = [b - a for a, b in itertools.pairwise(went)]
    # Measured on the loop's own clock: a busy machine only makes the gaps longer.
    assert min(gaps) >= pacer.interval - 1e-6, gaps
