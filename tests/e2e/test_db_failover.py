"""PostgreSQL failing over while answers stream (issue 50), one test in four steps on two
clusters: under three webhook replicas behind a round-robin proxy (8 s); under one (a 20 s
failover; an 8 s one takes the same path, shorter), the same cluster down to its replica a;
on a alone again, with the chats' leases lost mid-outage; past the outage grace, on a replica
of its own (its DATABASE_OUTAGE_GRACE differs). A bot interpreter costs about 4 CPU-seconds
to start (issue 82): the one-replica steps go on the three replicas' a rather than fresh
ones, with chats of their own, and count what they check (log lines, model requests) from
where they began. tests/e2e/failover.py has the scenario: no user sees
an error, every question is answered exactly once, in order, with its history in the
prompt; the log says once that the database went away and once that it is back, without
tracebacks. Skipped when PostgreSQL is not reachable (the `postgres_url` fixture says so)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest
import redis

from tests.e2e.failover import Failover, failover_cluster, ride_out
from tests.e2e.harness import run_step

# Not in the "replicas" xdist group of the two other replica tests (test_replicas_polling.py
# says why they share one): on the process step's two workers the three of them one after
# the other took longer than everything else together. It shares a group with the two
# single-bot stories instead (test_faults_process.py, test_faults_webhook.py), so that each
# worker gets about half the step: xdist hands out the largest groups first, then keeps two
# or three tests waiting on each worker, which left the stories behind the replicas.
BALANCE = "failover-and-stories"
pytestmark = [pytest.mark.process, pytest.mark.timeout(720), pytest.mark.xdist_group(BALANCE)]

PRIVATE = list(range(1, 9))  # answering when the database goes away
GROUPS = [-100_002, -100_001]
LATE = [21, 22, 23]  # first asking during the outage
# The one-replica steps on the three replicas' cluster (its replica a): chats of their own.
ALONE_PRIVATE = list(range(31, 39))
ALONE_GROUP = -100_003
ALONE_LATE = [41, 42]


def check(f: Failover, notices: int = 0) -> None:
    assert not f.wrong(), f"{f.wrong()}\n{f.logs()[-8000:]}"
    told = {ch: f.notices(ch) for ch in [*f.busy, *f.late]}
    assert told == dict.fromkeys(told, notices), told
    assert not f.history_problems(), f.history_problems()
    logs = f.logs()
    for expected in ("Traceback", "Task exception was never retrieved", "turn failed",
                     "answer job failed"):
        assert expected not in logs, f"{expected!r} in the logs:\n{logs[-8000:]}"
    for name in f.r.bots:
        messages = f.messages(name)
        gone = [m for m in messages if m.startswith("database unreachable")]
        back = [m for m in messages if m.startswith("database is back")]
        assert len(gone) <= 1, (name, gone)
        assert len(back) == len(gone), (name, gone, back)
    print(f"every answer of the outage delivered {f.recovered:.1f} s after the database "
          f"returned")


async def three_replicas_ride_out_an_8_s_failover(cluster: Failover) -> None:
    f = cluster.again(busy=[*PRIVATE, *GROUPS], late=LATE)
    await ride_out(f, 8.0)
    check(f)


async def one_replica_rides_out_a_20_s_failover(cluster: Failover) -> None:
    """On the cluster of the step before, down to its replica a (b and c killed)."""
    f = (await cluster.alone("a")).again(busy=[*ALONE_PRIVATE[:4], ALONE_GROUP],
                                         late=ALONE_LATE)
    await ride_out(f, 20.0)
    check(f)
    assert any(m.startswith("database unreachable") for m in f.messages("a"))


async def answers_delivered_while_the_database_is_away_are_not_sent_again_when_leases_are_lost(
    cluster: Failover,
) -> None:
    """A replica starved of CPU may get no Redis answer to its lease renewals for a few
    seconds mid-outage and give its chats' leases up. An answer it delivered while the
    database was away (stored once the database is back) must not be answered again by the
    chat's next holder. The leases are taken from it here by deleting them in Redis. On the
    replica of the step before, alone, with chats it has not seen."""
    f = (await cluster.alone("a")).again(busy=ALONE_PRIVATE[4:8], late=[])
    bot_id = f.r.tg.token.split(":", 1)[0]

    async def lose_the_leases() -> None:
        # Delivered, and not stored yet: the database is still away.
        await f.wait_for(lambda: all(f.answered(ch, 1) for ch in f.busy), 8)
        client = redis.Redis.from_url(f.redis_url)
        try:
            keys = list(client.scan_iter(match=f"fmbot:{bot_id}:lease:chat:*"))
            assert keys, "no chat lease held"
            client.delete(*keys)
        finally:
            client.close()
        await f.wait_for(
            lambda: sum("was lost" in m for m in f.messages("a")) >= len(keys), 8
        )

    await ride_out(f, 14.0, meanwhile=lose_the_leases)
    check(f)


async def past_the_grace_each_waiting_chat_is_told_once_and_still_answered(
    cluster: Failover,
) -> None:
    """DATABASE_OUTAGE_GRACE=3 and an 8 s outage: every chat whose question waits (refused by
    the webhook, which Telegram posts again) gets the notice once, in its language, then
    its answers as without it."""
    f = cluster.again(busy=[*PRIVATE[:3], GROUPS[0]], late=LATE[:2])
    await ride_out(f, 8.0)
    check(f, notices=1)


@dataclass
class Cluster:
    """Replicas (their names, what their environment adds) and the steps run on them."""

    names: tuple[str, ...]
    steps: tuple[Callable[[Failover], Awaitable[None]], ...]
    extra: dict[str, str] = field(default_factory=dict)
    webhook_parallel: bool = False


CLUSTERS = (
    Cluster(("a", "b", "c"), (
        three_replicas_ride_out_an_8_s_failover,
        one_replica_rides_out_a_20_s_failover,
        answers_delivered_while_the_database_is_away_are_not_sent_again_when_leases_are_lost,
    )),
    Cluster(("a",), (past_the_grace_each_waiting_chat_is_told_once_and_still_answered,),
            extra={"DATABASE_OUTAGE_GRACE": "3"}, webhook_parallel=True),
)


async def test_replicas_ride_out_a_database_failover(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: str, redis_url: str
) -> None:
    """The four steps (module docstring), one after the other, on three clusters; a failure
    names its step."""
    n = 0
    for c, cluster in enumerate(CLUSTERS, 1):
        async with failover_cluster(
            cluster.names, tmp_path_factory.mktemp(f"cluster-{c}"), postgres_url=postgres_url,
            redis_url=redis_url, extra=cluster.extra, webhook_parallel=cluster.webhook_parallel,
        ) as base:
            for step in cluster.steps:
                n += 1
                await run_step(n, 4, step, base)
