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
