"""`take_all`: one token from several buckets at once or from none, headroom (`keep`) that
lower priorities leave, reservations, on both coordinators."""

from __future__ import annotations

from bot.coordination import Bucket, Coordinator
from tests.coordination.conftest import Factory, Since


async def test_both_or_neither(coordinator: Coordinator) -> None:
    bot, chat = Bucket("bot", 10.0, 5.0), Bucket("chat:1", 1.0, 1.0)
    since = Since()
    assert await coordinator.take_all([bot, chat]) == (0.0, -1)
    wait, limit = await coordinator.take_all([bot, chat])
    assert limit == 1  # the chat's bucket is empty, the bot's is not
    assert since.about(wait, 1.0), wait
    # Nothing was taken from the bot's bucket by the refusal: four of five tokens are left.
    for _ in range(4):
        assert await coordinator.take_all([bot]) == (0.0, -1)
    wait, limit = await coordinator.take_all([bot])
    assert limit == 0
    assert since.about(wait, 0.1), wait


async def test_keep_leaves_headroom_that_reservations_may_spend(coordinator: Coordinator) -> None:
    frame = Bucket("bot", 1.0, 3.0, keep=2.0)
    since = Since()
    assert await coordinator.take_all([frame]) == (0.0, -1)  # 3 -> 2 left
    wait, limit = await coordinator.take_all([frame])  # would leave 1 < keep
    assert limit == 0
    assert since.about(wait, 1.0), wait
    final = Bucket("bot", 1.0, 3.0)
    assert (await coordinator.take_all([final], reserve=True))[0] == 0.0  # 2 -> 1
    assert (await coordinator.take_all([final], reserve=True))[0] == 0.0  # 1 -> 0
    wait, _ = await coordinator.take_all([final], reserve=True)  # into debt: -1
    assert since.about(wait, 1.0), wait
    wait, _ = await coordinator.take_all([frame])  # a frame needs 3 tokens: 4 s away
    assert since.about(wait, 4.0), wait


async def test_shared_between_clients(coordinators: Factory) -> None:
    a, b = coordinators(), coordinators()
    bucket = Bucket("bot", 1.0, 2.0)
    since = Since()
    assert (await a.take_all([bucket]))[0] == 0.0
    assert (await b.take_all([bucket]))[0] == 0.0
    # Both see the one bucket: empty for either, whoever took.
    assert since.about((await a.take_all([bucket]))[0], 1.0)
    assert since.about((await b.take_all([bucket]))[0], 1.0)
