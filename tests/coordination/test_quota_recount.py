"""Issue 67: a Yandex 429 caused by the replicas' own over-admission, while the shared
generation cap cannot vouch for its count (Redis came back empty, or is away), is waited out and
sent again instead of reaching the user as "the model is overloaded"; a 429 while the count is
sure is the caller's error after the client's usual three attempts, as before.

Real Redis (a redis-server of the test's own where it restarts empty, the shared one under the
test's key prefix elsewhere), the fake Yandex answering the quota's 429, and the client's
`sleep` (a seam of ours) counting the pauses instead of taking them, so nothing here depends
on the wall clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing

import pytest

from bot.coordination import SharedGenerationLimit
from bot.coordination.generations import QUOTA_PAUSE
from bot.coordination.redisstore import RedisCoordinator, connect
from bot.foundation_models.auth import ApiKeyAuth
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.errors import RateLimitError
from bot.foundation_models.observer import NullObserver
from bot.foundation_models.types import ChatMessage
from tests.coordination.proxy import TcpProxy
from tests.fakes.yandex.server import FakeFoundationModels
from tests.redis_server import PrivateRedis

FOLDER = "b1gquota"
COMPLETION = "/foundationModels/v1/completion"
QUOTA = "ai.textGenerationCompletionSessionsCount.count gauge quota limit exceed: allowed 2"


class Retries(NullObserver):
    """The client's reports of retries, by reason (what fmbot_yandex_retries_total counts)."""

    def __init__(self) -> None:
        self.reasons: list[str] = []

    def retry(self, endpoint: str, reason: str) -> None:
        self.reasons.append(reason)


class Pauses:
    """The client's sleep: each pause noted, none taken (the loop still turns); `first`, if
    set, is awaited in the first one (something happening while the client waits)."""

    def __init__(self) -> None:
        self.taken: list[float] = []
        self.first: Callable[[], Awaitable[None]] | None = None

    async def __call__(self, seconds: float) -> None:
        if not self.taken and self.first is not None:
            await self.first()
        self.taken.append(seconds)
        await asyncio.sleep(0)


@pytest.fixture
async def fm() -> AsyncIterator[FakeFoundationModels]:
    async with FakeFoundationModels(api_key="k", folder_id=FOLDER) as server:
        server.default_chunks = 3
        yield server


def replica(
    fm: FakeFoundationModels, coordinator: RedisCoordinator, *, ttl: float = 3.0,
    quota_wait: float = 60.0,
) -> tuple[FoundationModelsClient, SharedGenerationLimit, Retries, Pauses]:
    limit = SharedGenerationLimit(coordinator, 2, ttl=ttl, replicas=lambda: 2,
                                  quota_wait=quota_wait)
    retries, pauses = Retries(), Pauses()
    client = FoundationModelsClient(
        folder_id=FOLDER, auth=ApiKeyAuth("k"), llm_url=fm.url, operation_url=fm.url,
        generation_limit=limit, observer=retries, sleep=pauses,
    )
    return client, limit, retries, pauses


async def answer(client: FoundationModelsClient, question: str) -> str:
    messages = [ChatMessage("user", question)]
    return [s async for s in client.stream(messages, model="yandexgpt/latest")][-1].text


def refusals(fm: FakeFoundationModels) -> list[int]:
    return [r.status for r in fm.requests if r.path == COMPLETION]


@pytest.mark.slow
async def test_a_429_after_redis_came_back_empty_is_waited_out_and_sent_again(
    fm: FakeFoundationModels, private_redis: PrivateRedis
) -> None:
    """A replica streams; Redis restarts empty; a replica asking for its first slot ever is
    let in on the emptied count and Yandex refuses it five times (more than the client's three
    attempts): it gives its slot back, waits for a new one, and answers."""
    old = RedisCoordinator.from_url(private_redis.url)
    new = RedisCoordinator.from_url(private_redis.url)
    streaming, old_limit, _, _ = replica(fm, old)
    client, limit, retries, pauses = replica(fm, new)
    try:
        fm.queue_reply("a long answer", chunks=4, interval=0.5)
        stream = streaming.stream([ChatMessage("user", "q")], model="yandexgpt/latest")
        async with aclosing(stream) as running:
            first = await anext(running)  # its slot is in the store, its stream under way
            assert not first.is_final
            await private_redis.restart()  # Redis is back, empty
            fm.fail_next(429, message=QUOTA, path=COMPLETION, times=5)
            assert await answer(client, "q2") == "Echo: q2"
            assert [s async for s in running][-1].text == "a long answer"
    finally:
        for c in (streaming, client):
            await c.aclose()
        for cap in (old_limit, limit):
            await cap.aclose()
        for coordinator in (old, new):
            await coordinator.aclose()
    assert refusals(fm)[-6:] == [429] * 5 + [200]
    # Three attempts (two of the client's pauses), then the slot given back and one pause
    # of the cap's before two more attempts.
    assert retries.reasons.count("429-recount") == 1, retries.reasons
    assert pauses.taken.count(QUOTA_PAUSE) == 1, pauses.taken


@pytest.mark.slow
async def test_a_429_on_a_slot_redis_lost_meanwhile_is_waited_out(
    fm: FakeFoundationModels, private_redis: PrivateRedis
) -> None:
    """A replica long past its first ask is granted a slot; Redis restarts empty while Yandex
    refuses the request: the refusal is checked with the store at once (the slot is gone, so
    the count is rebuilt), and the generation waits for a slot on the new count."""
    ttl = 0.6  # the window after a first ask is 0.5 s
    coordinator = RedisCoordinator.from_url(private_redis.url)
    client, limit, retries, pauses = replica(fm, coordinator, ttl=ttl)
    pauses.first = private_redis.restart  # Redis is back, empty, at the client's first retry
    try:
        assert await answer(client, "q1") == "Echo: q1"
        await asyncio.sleep(ttl)  # past the window (the loop's sleep, not the client's)
        fm.fail_next(429, message=QUOTA, path=COMPLETION, times=3)
        assert await answer(client, "q2") == "Echo: q2"
    finally:
        await client.aclose()
        await limit.aclose()
        await coordinator.aclose()
    assert refusals(fm) == [200, 429, 429, 429, 200]
    assert retries.reasons.count("429-recount") == 1, retries.reasons


@pytest.mark.slow
async def test_a_429_under_the_local_cap_while_redis_is_away_is_waited_out(
    fm: FakeFoundationModels, redis_prefix: str, proxy: TcpProxy
) -> None:
    """A replica started while Redis is unreachable runs under its share of the cap, not
    knowing what the others run: Yandex's refusals then are waited out too."""
    await proxy.stop()
    coordinator = RedisCoordinator(connect(f"redis://127.0.0.1:{proxy.port}/0", timeout=0.3),
                                   prefix=redis_prefix)
    client, limit, retries, _ = replica(fm, coordinator)
    try:
        fm.fail_next(429, message=QUOTA, path=COMPLETION, times=4)
        assert await answer(client, "q") == "Echo: q"
    finally:
        await client.aclose()
        await limit.aclose()
        await coordinator.aclose()
    assert refusals(fm) == [429] * 4 + [200]
    assert retries.reasons.count("429-recount") == 1, retries.reasons


@pytest.mark.slow
async def test_waiting_out_the_quota_is_bounded(
    fm: FakeFoundationModels, redis_prefix: str, proxy: TcpProxy
) -> None:
    """Refused for good: after `quota_wait` seconds of pauses the 429 is the caller's."""
    await proxy.stop()
    coordinator = RedisCoordinator(connect(f"redis://127.0.0.1:{proxy.port}/0", timeout=0.3),
                                   prefix=redis_prefix)
    client, limit, retries, _ = replica(fm, coordinator, quota_wait=3 * QUOTA_PAUSE)
    try:
        fm.fail_next(429, message=QUOTA, path=COMPLETION, times=100)
        with pytest.raises(RateLimitError):
            await answer(client, "q")
    finally:
        await client.aclose()
        await limit.aclose()
        await coordinator.aclose()
    # Three rounds of the cap's pause (0, 2 and 4 s waited), then the fourth refusal shown.
    assert retries.reasons.count("429-recount") == 3, retries.reasons
    assert refusals(fm) == [429] * 4 * 3


@pytest.mark.slow
async def test_a_429_while_the_count_is_sure_is_the_callers_error(
    fm: FakeFoundationModels, redis_url: str, redis_prefix: str
) -> None:
    """The store has this replica's slot and it is past any recount: the quota is used
    elsewhere (another application in the folder), and the client's three attempts stand."""
    ttl = 0.6  # a renewal every 0.2 s; the window after a first ask is 0.5 s
    coordinator = RedisCoordinator.from_url(redis_url, prefix=redis_prefix)
    client, limit, retries, _ = replica(fm, coordinator, ttl=ttl)
    try:
        assert await answer(client, "q1") == "Echo: q1"
        # Past the window in which other replicas might still find the store emptied
        # (the client's sleep is the counting one: this one is the loop's).
        await asyncio.sleep(ttl)
        fm.fail_next(429, message=QUOTA, path=COMPLETION, times=3)
        with pytest.raises(RateLimitError):
            await answer(client, "q2")
    finally:
        await client.aclose()
        await limit.aclose()
        await coordinator.aclose()
    assert refusals(fm) == [200, 429, 429, 429]
    assert "429-recount" not in retries.reasons
