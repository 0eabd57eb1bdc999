"""The quota pacer (the embedder's and the insight jobs'): calls at least `interval` apart,
also after the event loop was held up (a stall must not turn into a burst past Yandex's
quota); a hold after a 429 keeps later calls back."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from bot.foundation_models.pacing import Pacer


@pytest.mark.slow
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


@pytest.mark.looptime
async def test_a_hold_keeps_every_later_call_back_and_the_pace_resumes_after_it() -> None:
    pacer = Pacer(4.0, slack=1.25)  # 0.3125 s apart
    loop = asyncio.get_running_loop()
    start = loop.time()
    went: list[float] = []
    for n in range(4):
        await pacer.wait()
        went.append(round(loop.time() - start, 6))
        if n == 1:
            pacer.hold(2.0)  # a 429 with Retry-After: 2
    assert went == [0.0, 0.3125, 0.3125 + 2.0, 0.3125 + 2.0 + 0.3125]


@pytest.mark.looptime
async def test_without_a_rate_nothing_waits() -> None:
    pacer = Pacer(0.0)
    loop = asyncio.get_running_loop()
    start = loop.time()
    for _ in range(100):
        await pacer.wait()
    assert loop.time() == start
