"""The generation cap shared by replicas: two clients (two "replicas", each its own Redis
connection) never stream more than the cap together from the fake Yandex server; with Redis
gone, generations go on under each process's own cap, and sharing resumes when it is back."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence

import pytest

from bot.coordination import (
    CoordinationUnavailableError,
    LocalCoordinator,
    SharedGenerationLimit,
)
from bot.coordination.generations import KEEP_CHECK
from bot.coordination.redisstore import RedisCoordinator, connect
from bot.foundation_models.auth import ApiKeyAuth
from bot.foundation_models.client import FoundationModelsClient
from bot.foundation_models.types import ChatMessage
from tests.coordination.proxy import TcpProxy
from tests.fakes.yandex.server import FakeFoundationModels

FOLDER = "b1gshared"


@pytest.fixture
async def fm() -> AsyncIterator[FakeFoundationModels]:
    async with FakeFoundationModels(api_key="k", folder_id=FOLDER) as server:
        server.default_chunks = 4
        server.default_interval = 0.1
        yield server


async def stream_all(clients: list[FoundationModelsClient], n: int) -> list[str]:
    async def one(i: int) -> str:
        client = clients[i % len(clients)]
        messages = [ChatMessage("user", f"q{i}")]
        return [s async for s in client.stream(messages, model="yandexgpt/latest")][-1].text

    return await asyncio.gather(*(one(i) for i in range(n)))


def client_for(fm: FakeFoundationModels, limit: SharedGenerationLimit) -> FoundationModelsClient:
    return FoundationModelsClient(
        folder_id=FOLDER, auth=ApiKeyAuth("k"), llm_url=fm.url, operation_url=fm.url,
        max_concurrent_generations=100, generation_limit=limit,
    )


@pytest.mark.slow
async def test_two_replicas_share_one_cap(
    fm: FakeFoundationModels, redis_url: str, redis_prefix: str
) -> None:
    coordinators = [RedisCoordinator.from_url(redis_url, prefix=redis_prefix) for _ in range(2)]
    limits = [SharedGenerationLimit(c, 2, replicas=lambda: 2) for c in coordinators]
    clients = [client_for(fm, limit) for limit in limits]
    try:
        running = asyncio.create_task(stream_all(clients, 8))
        depths = []
        while not running.done():
            depths.append(sum(limit.waiting for limit in limits))
            await asyncio.sleep(0.005)
        texts = await asyncio.wait_for(running, 60)
        # While two stream, the other six wait: what fmbot_queue_depth{queue="generations"} shows.
        assert max(depths) >= 6
        assert sum(limit.waiting for limit in limits) == 0
    finally:
        for client in clients:
            await client.aclose()
        for coordinator in coordinators:
            await coordinator.aclose()
    assert texts == [f"Echo: q{i}" for i in range(8)]
    assert fm.max_active_generations == 2


@pytest.mark.slow
async def test_redis_away_caps_each_replica_alone_then_shares_again(
    fm: FakeFoundationModels, redis_url: str, redis_prefix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    proxy = TcpProxy("127.0.0.1", int(redis_url.rsplit(":", 1)[1].split("/")[0]))
    await proxy.start()
    coordinator = RedisCoordinator(connect(f"redis://127.0.0.1:{proxy.port}/0", timeout=0.3),
                                   prefix=redis_prefix)
    client = client_for(fm, SharedGenerationLimit(coordinator, 2))
    caplog.set_level(logging.INFO, "bot.coordination")
    try:
        await proxy.stop()
        assert await asyncio.wait_for(stream_all([client], 4), 60) == [
            f"Echo: q{i}" for i in range(4)
        ]
        assert fm.max_active_generations == 2  # the local cap of the same size
        await proxy.start()
        assert await stream_all([client], 1) == ["Echo: q0"]
    finally:
        await client.aclose()
        await coordinator.aclose()
        await proxy.stop()
    messages = [r.getMessage() for r in caplog.records]
    assert sum("capping this replica alone" in m for m in messages) == 1, messages
    assert "generation cap: shared again" in messages


class CountingStore(LocalCoordinator):
    """The in-process store, counting how often a slot is asked for and given back (a
    replica's Redis calls)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        super().__init__(clock)
        self.asks = 0
        self.releases = 0

    async def acquire_slot(
        self, semaphore: str, holder: str, *, limit: int, ttl: float, short: float = 0.0,
        within: float = 0.0, rebuild: float = 0.0,
    ) -> bool:
        self.asks += 1
        return await super().acquire_slot(semaphore, holder, limit=limit, ttl=ttl, short=short,
                                          rebuild=rebuild)

    async def release_slot(
        self, semaphore: str, holder: str, *, keep: float = 0.0, claim: float = 2.0,
        within: float = 0.0,
    ) -> bool:
        self.releases += 1
        return await super().release_slot(semaphore, holder, keep=keep, claim=claim)

    def forget(self, semaphore: str) -> None:
        """What Redis does to a key after a failover that lost it."""
        self._holders(semaphore).clear()
        self._known.discard(semaphore)


class Running:
    """Generations running now, per replica, and the most seen at once."""

    def __init__(self, replicas: int) -> None:
        self.now = [0] * replicas
        self.most = 0
        self.most_each = [0] * replicas
        self.finished: list[list[float]] = [[] for _ in range(replicas)]

    async def generation(self, cap: SharedGenerationLimit, replica: int, hold: float) -> None:
        async with cap.slot(FOLDER):
            self.now[replica] += 1
            self.most = max(self.most, sum(self.now))
            self.most_each[replica] = max(self.most_each[replica], self.now[replica])
            await asyncio.sleep(hold)
            self.now[replica] -= 1
        self.finished[replica].append(asyncio.get_running_loop().time())


@pytest.mark.looptime
async def test_a_replica_holding_its_share_hands_each_slot_on_without_the_store() -> None:
    loop = asyncio.get_running_loop()
    store = CountingStore(loop.time)
    limit = SharedGenerationLimit(store, 1)  # alone: its share is the whole cap
    started = loop.time()
    order: list[int] = []

    async def generation(i: int, hold: float) -> None:
        async with limit.slot(FOLDER):
            order.append(i)
            await asyncio.sleep(hold)

    first = asyncio.create_task(generation(0, 10.0))
    await asyncio.sleep(0)
    queued = [asyncio.create_task(generation(i, 1.0)) for i in range(1, 21)]
    await asyncio.gather(first, *queued)
    assert order == list(range(21))
    # One ask for the first; each end hands the slot to the next waiting here; the last one
    # gives it back. Holding the whole cap, the asker asks again only every ttl / 3 (10 s).
    assert store.asks <= 1 + 30 / 10, store.asks
    assert store.releases == 1
    # Handed at once (virtual time: exact): no slot stood idle.
    assert loop.time() - started == pytest.approx(10.0 + 20 * 1.0, abs=0.01)
    assert limit.waiting == 0
    assert await store.slots_held(f"generations:{FOLDER}") == 0
    await limit.aclose()


@pytest.mark.looptime
async def test_without_a_share_replicas_take_turns() -> None:
    """Fewer slots than replicas (1 // 2): a replica holding none asks short, and the one
    holding the slot gives it over at an end within `KEEP_CHECK`; alone, it keeps it."""
    loop = asyncio.get_running_loop()
    store = CountingStore(loop.time)
    caps = [SharedGenerationLimit(store, 1, replicas=lambda: 2) for _ in range(2)]
    running = Running(2)
    alone = [asyncio.create_task(running.generation(caps[0], 0, 1.0)) for _ in range(5)]
    await asyncio.gather(*alone)
    assert running.finished[0][-1] == pytest.approx(5.0, abs=0.01)  # handed on at once
    assert store.releases <= 1 + 5 / KEEP_CHECK, store.releases
    both = [asyncio.create_task(running.generation(caps[i % 2], i % 2, 1.0))
            for i in range(20)]
    await asyncio.gather(*both)
    ends = [times[-1] for times in running.finished]
    assert running.most == 1
    # Turns: neither ran its ten while the other waited (one replica after the other would
    # end 10 s apart).
    assert abs(ends[0] - ends[1]) <= 2 * KEEP_CHECK + 1.0, ends
    for cap in caps:
        await cap.aclose()


@pytest.mark.looptime
async def test_two_replicas_keep_their_shares_and_the_rest_moves_between_them() -> None:
    loop = asyncio.get_running_loop()
    store = CountingStore(loop.time)
    caps = [SharedGenerationLimit(store, 5, replicas=lambda: 2) for _ in range(2)]  # 2 each
    running = Running(2)
    started = loop.time()
    holds = [1.0 + (i % 7) / 10 for i in range(80)]  # 1.0-1.6 s, 102 generation-seconds
    await asyncio.gather(*(running.generation(caps[i % 2], i % 2, holds[i])
                           for i in range(80)))
    ends = [max(times) - started for times in running.finished]
    assert running.most == 5
    # No slot stood idle for long: 102 generation-seconds on 5 slots take 20.4 s at best.
    assert max(ends) <= sum(holds) / 5 + 2.0, ends
    # Each replica ran at least its share: its own 51 generation-seconds on 2 slots.
    assert all(end <= 51 / 2 + 1.0 for end in ends), ends
    # Four slots stay with their replica; asking for the fifth, offering it back now and
    # then: 80 generations through the store one by one would be 160 calls and more.
    assert store.asks + store.releases <= 80, (store.asks, store.releases)
    for cap in caps:
        await cap.aclose()


@pytest.mark.looptime
async def test_a_replica_that_joins_gets_its_share_as_the_census_counts_it() -> None:
    loop = asyncio.get_running_loop()
    store = CountingStore(loop.time)
    counted = [1]
    first = SharedGenerationLimit(store, 4, replicas=lambda: counted[0])
    running = Running(2)
    busy = [asyncio.create_task(running.generation(first, 0, 1.0 + (i % 3) / 10))
            for i in range(40)]
    await asyncio.sleep(2.5)
    assert running.now[0] == 4  # alone, it holds the whole cap
    second = SharedGenerationLimit(store, 4, replicas=lambda: counted[0])
    counted[0] = 2  # the census counts the newcomer
    joined = loop.time()
    late = [asyncio.create_task(running.generation(second, 1, 1.0)) for _ in range(10)]
    # The first's generations end within 1.2 s; it offers what is above its new share to the
    # newcomer, asking short, as they end.
    while running.now != [2, 2]:
        await asyncio.sleep(0.05)
        assert loop.time() - joined < 3.0, running.now
    await asyncio.gather(*busy, *late)
    assert running.most == 4
    for cap in (first, second):
        await cap.aclose()


@pytest.mark.looptime
async def test_a_slot_handed_to_a_generation_that_left_goes_to_the_next_one() -> None:
    loop = asyncio.get_running_loop()
    store = CountingStore(loop.time)
    limit = SharedGenerationLimit(store, 1)
    running = Running(1)
    holding = asyncio.create_task(running.generation(limit, 0, 1.0))
    await asyncio.sleep(0)
    leaving = asyncio.create_task(running.generation(limit, 0, 1.0))
    staying = asyncio.create_task(running.generation(limit, 0, 1.0))
    await asyncio.sleep(0.5)
    leaving.cancel()
    await asyncio.gather(holding, staying)
    assert len(running.finished[0]) == 2
    assert running.finished[0][1] - running.finished[0][0] == pytest.approx(1.0, abs=0.01)
    assert store.releases == 1
    assert await store.slots_held(f"generations:{FOLDER}") == 0
    await limit.aclose()


@pytest.mark.looptime
async def test_a_slot_that_expired_is_not_handed_on() -> None:
    loop = asyncio.get_running_loop()
    store = CountingStore(loop.time)
    limit = SharedGenerationLimit(store, 1, ttl=3.0)
    running = Running(1)

    async def stolen() -> None:
        # Renewed every second; Redis loses it (a failover) and gives it to another holder.
        await asyncio.sleep(0.5)
        store.forget(f"generations:{FOLDER}")
        assert await store.acquire_slot(f"generations:{FOLDER}", "elsewhere", limit=1, ttl=2.5)

    thief = asyncio.create_task(stolen())
    first = asyncio.create_task(running.generation(limit, 0, 2.0))
    await asyncio.sleep(0)
    second = asyncio.create_task(running.generation(limit, 0, 1.0))
    await asyncio.gather(thief, first, second)
    # The second did not run on the lost slot: it waited for "elsewhere" to expire (3.0 s).
    assert running.finished[0][1] >= 3.0 + 1.0
    await limit.aclose()


@pytest.mark.looptime
async def test_a_generation_after_a_quiet_spell_asks_at_once() -> None:
    """The pace of refused asks does not outlive the queue it was for."""
    loop = asyncio.get_running_loop()
    store = CountingStore(loop.time)
    name = f"generations:{FOLDER}"
    assert await store.acquire_slot(name, "elsewhere", limit=2, ttl=60.0)
    limit = SharedGenerationLimit(store, 2, replicas=lambda: 2)  # a share of one
    running = Running(1)
    held = asyncio.create_task(running.generation(limit, 0, 30.0))
    await asyncio.sleep(0)
    # Refused for 30 s at its share: the asker's pace grows to AT_SHARE_POLL. The slot held
    # here is then handed to it, and it leaves nothing waiting.
    await asyncio.gather(held, running.generation(limit, 0, 1.0))
    await store.release_slot(name, "elsewhere")
    await asyncio.sleep(10.0)
    asked = loop.time()
    started: list[float] = []

    async def later() -> None:
        async with limit.slot(FOLDER) as waited:
            started.append(waited)

    await later()
    assert started == [pytest.approx(0.0, abs=0.001)], (started, asked)
    await limit.aclose()


class AwayStore(CountingStore):
    """The in-process store that can be away (every call fails, as Redis cut off)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        super().__init__(clock)
        self.away = False

    def _check(self) -> None:
        if self.away:
            raise CoordinationUnavailableError("Redis unreachable (test): away")

    async def acquire_slot(
        self, semaphore: str, holder: str, *, limit: int, ttl: float, short: float = 0.0,
        within: float = 0.0, rebuild: float = 0.0,
    ) -> bool:
        self._check()
        return await super().acquire_slot(semaphore, holder, limit=limit, ttl=ttl, short=short,
                                          rebuild=rebuild)

    async def renew_slots(
        self, semaphore: str, holders: Sequence[str], ttl: float, *, within: float = 0.0,
        rebuild: float = 0.0,
    ) -> list[bool]:
        self._check()
        return await super().renew_slots(semaphore, holders, ttl, rebuild=rebuild)


@pytest.mark.looptime
async def test_the_shared_count_lost_with_generations_in_flight_is_counted_again() -> None:
    """Issue 67: Redis came back empty while each replica streamed one generation; the next
    renewal found their slots gone and let them run uncounted, so the replicas admitted twice
    the cap and Yandex answered 429. Now the renewal counts them again, and no new slot is
    granted until every replica has renewed (counted its own)."""
    loop = asyncio.get_running_loop()
    store = CountingStore(loop.time)
    caps = [SharedGenerationLimit(store, 2, ttl=3.0, replicas=lambda: 2) for _ in range(2)]
    running = Running(2)
    streaming = [asyncio.create_task(running.generation(cap, i, 5.0))
                 for i, cap in enumerate(caps)]
    await asyncio.sleep(0.5)
    assert running.most == 2
    store.forget(f"generations:{FOLDER}")  # Redis is back, empty: both still stream
    await asyncio.sleep(1.0)  # each replica has renewed once since (every ttl / 3)
    later = [asyncio.create_task(running.generation(cap, i, 1.0))
             for i, cap in enumerate(caps) for _ in range(2)]
    await asyncio.gather(*streaming, *later)
    assert running.most == 2  # never more than the cap at once
    assert await store.slots_held(f"generations:{FOLDER}") == 0
    for cap in caps:
        await cap.aclose()


@pytest.mark.looptime
async def test_a_generation_started_while_the_store_was_away_is_counted_when_it_is_back() -> (
    None
):
    """A replica cut off from Redis runs its generations under its share of the cap (not the
    whole cap: the others do the same), and tells the store of them once it answers, so a
    replica asking then is not let in over them."""
    loop = asyncio.get_running_loop()
    store = AwayStore(loop.time)
    caps = [SharedGenerationLimit(store, 2, ttl=3.0, replicas=lambda: 2) for _ in range(2)]
    running = Running(2)
    store.away = True
    alone = [asyncio.create_task(running.generation(caps[0], 0, 5.0)) for _ in range(2)]
    await asyncio.sleep(0.5)
    assert running.now[0] == 1  # its share, while it cannot count with the others
    store.away = False
    await asyncio.sleep(1.0)  # its next renewal (every ttl / 3) told the store
    others = [asyncio.create_task(running.generation(caps[1], 1, 1.0)) for _ in range(2)]
    await asyncio.gather(*alone, *others)
    assert running.most == 2
    for cap in caps:
        await cap.aclose()


@pytest.mark.looptime
async def test_an_ask_right_after_the_store_came_back_empty_waits_for_the_recount() -> None:
    """Issue 67: Redis came back empty while each replica streamed one generation, and a
    replica asked for another slot before any renewal had counted them again: it was granted
    on the emptied count, three generations ran under a cap of two, and Yandex answered 429.
    A replica that used the cap before and finds the store without its mark holds new grants
    back until every replica has renewed (counted its own)."""
    loop = asyncio.get_running_loop()
    store = CountingStore(loop.time)
    caps = [SharedGenerationLimit(store, 2, ttl=3.0, replicas=lambda: 2) for _ in range(2)]
    running = Running(2)
    streaming = [asyncio.create_task(running.generation(cap, i, 5.0))
                 for i, cap in enumerate(caps)]
    await asyncio.sleep(0.6)  # each renewed at 0.5 s (a period, less the half it may ride)
    assert running.most == 2
    store.forget(f"generations:{FOLDER}")  # Redis is back, empty: both still stream
    await asyncio.sleep(0.05)  # their next renewals are due at 1.5 s
    later = [asyncio.create_task(running.generation(cap, i, 1.0))
             for i, cap in enumerate(caps)]
    await asyncio.gather(*streaming, *later)
    assert running.most == 2  # never more than the cap at once
    for cap in caps:
        await cap.aclose()
