"""`take_all`: one token from several buckets at once or from none, headroom (`keep`) that
lower priorities leave, reservations, on both coordinators."""

from __future__ import annotations

import pytest

from bot.coordination import Bucket, Coordinator
from tests.coordination.conftest import Factory


async def test_both_or_neither(coordinator: Coordinator) -> None:
    bot, chat = Bucket("bot", 10.0, 5.0), Bucket("chat:1", 1.0, 1.0)
    assert await coordinator.take_all([bot, chat]) == (0.0, -1)
    wait, limit = await coordinator.take_all([bot, chat])
    assert limit == 1  # the chat's bucket is empty, the bot's is not
    assert 0.9 < wait <= 1.0
    # Nothing was taken from the bot's bucket by the refusal: four of five tokens are left.
    for _ in range(4):
        assert await coordinator.take_all([bot]) == (0.0, -1)
    wait, limit = await coordinator.take_all([bot])
    assert limit == 0
    assert 0.0 < wait <= 0.1


async def test_keep_leaves_headroom_that_reservations_may_spend(coordinator: Coordinator) -> None:
    frame = Bucket("bot", 1.0, 3.0, keep=2.0)
    assert await coordinator.take_all([frame]) == (0.0, -1)  # 3 -> 2 left
    wait, limit = await coordinator.take_all([frame])  # would leave 1 < keep
    assert (limit, wait) == (0, pytest.approx(1.0, abs=0.05))
    final = Bucket("bot", 1.0, 3.0)
    assert (await coordinator.take_all([final], reserve=True))[0] == 0.0  # 2 -> 1
    assert (await coordinator.take_all([final], reserve=True))[0] == 0.0  # 1 -> 0
    wait, _ = await coordinator.take_all([final], reserve=True)  # into debt: -1
    assert wait == pytest.approx(1.0, abs=0.05)
    wait, _ = await coordinator.take_all([frame])  # a frame needs 3 tokens: 4 s away
    assert wait == pytest.approx(4.0, abs=0.05)


async def test_shared_between_clients(coordinators: Factory) -> None:
    a, b = coordinators(), coordinators()
    bucket = Bucket("bot", 1.0, 2.0)
    assert (await a.take_all([bucket]))[0] == 0.0
    assert (await b.take_all([bucket]))[0] == 0.0
    assert (await a.take_all([bucket]))[0] > 0.9
    assert (await b.take_all([bucket]))[0] > 0.9
