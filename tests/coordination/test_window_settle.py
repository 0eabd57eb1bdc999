"""The message window's settle carries each answer's age (scripts.ADMIT, LocalCoordinator):
an answer counts for the span after the answer, however late the store hears of it."""

from __future__ import annotations

import time

from bot.coordination import Coordinator, Window
from tests.coordination.conftest import Factory


async def test_an_answer_told_late_counts_from_the_answer_not_from_the_telling(
    coordinators: Factory,
) -> None:
    store: Coordinator = coordinators()
    window = Window("messages", limit=2, span=1.0)
    assert await store.admit(window, "a") == (0.0, -1)
    assert await store.admit(window, "b") == (0.0, -1)
    # "a" was answered 0.8 s ago: it counts 0.2 s more, not the whole span from now.
    told = time.monotonic()
    await store.admit(window, None, settle=[("a", 0.8)])
    wait, short = await store.admit(window, "c")
    since = time.monotonic() - told
    assert short == 0
    # 0.2 s less the time since the telling (the window comes from what the test measured),
    # to the store's millisecond.
    assert 0.2 - since - 0.005 <= wait <= 0.2 + 0.005


async def test_an_answered_call_never_leaves_the_window_before_its_span_is_over(
    redis_url: str, redis_prefix: str
) -> None:
    """Telegram counts a call from its arrival, which is before its answer: so the store must
    keep it at least `span` after the answer, to the microsecond. Each call here was answered
    a fraction of a millisecond before the telling (where rounding the age, or the store's
    clock cut to the millisecond, ended it early, and a 31st message reached the fake)."""
    from bot.coordination.redisstore import RedisCoordinator

    store = RedisCoordinator.from_url(redis_url, prefix=redis_prefix)
    window = Window("messages", limit=100, span=1.0)
    try:
        ages = [0.0, 0.0001, 0.0004, 0.0005, 0.0006, 0.0009, 0.0012, 0.0015, 0.3004, 0.5006]
        members = [f"m{i}" for i in range(len(ages))]
        for member in members:
            assert await store.admit(window, member) == (0.0, -1)
        for member, age in zip(members, ages, strict=True):
            answered = time.time() - age  # as Telegram's clock saw the answer, at the latest
            await store.admit(window, None, settle=[(member, age)])
            until = await store.redis.zscore(f"{redis_prefix}window:messages", member)
            assert until is not None
            assert until / 1000 >= answered + window.span, (member, age)
    finally:
        await store.aclose()
