"""A database failover under webhook replicas (`python -m bot run` on PostgreSQL and Redis):
PostgreSQL is reached through a loopback TCP proxy that, while answers stream, resets every
live connection and refuses new ones for `outage` seconds, then lets them through again. Half
the chats asked their next question just before (its turn starts during the outage), the
others ask it during the outage, with a few new chats. Used by test_db_failover.py and
bench/bench_failover.py.

What a user may see of it is delay: every question answered exactly once, in order, with the
answers before it in its prompt, and no error message."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from tests.coordination.proxy import TcpProxy
from tests.e2e.cluster import Replicas, webhook_cluster
from tests.e2e.harness import BotDiedError
from tests.ports import free_port

BOT_USERNAME = "fm_test_bot"
# Eight words: the fake streams its echo a word or so a chunk.
TAIL = "about the sea and the light"
NOTICE = ("I am unavailable for a moment (my storage is being switched over). Your messages "
          "are kept: I will answer them as soon as I am back.")


@dataclass
class Failover:
    """The replicas, the proxy in front of PostgreSQL, and what the scenario measured."""

    r: Replicas
    db: TcpProxy
    busy: list[int]  # chats with an answer streaming when the database goes away
    late: list[int]  # chats whose first question arrives during the outage
    recovered: float = 0.0  # seconds from the database's return to the last answer
    back: float = 0.0  # when the database came back (time.monotonic)
    back_at: float = 0.0  # the same, as time.time() (for the bots' log lines)
    # Past DATABASE_OUTAGE_GRACE: the notice, which `texts` leaves out (`notices` counts it).
    notice: str = NOTICE
    # Where this scenario began, when it is not the replicas' first: the model's requests
    # and each replica's log lines before it are another scenario's.
    requests_from: int = 0
    logs_from: dict[str, int] = field(default_factory=dict)
    redis_url: str = ""  # the replicas' Redis

    def again(self, busy: Sequence[int], late: Sequence[int]) -> Failover:
        """Another scenario on the same replicas (chats of its own, which no scenario before
        it used): what it checks is counted from now."""
        return Failover(
            self.r, self.db, list(busy), list(late), notice=self.notice, redis_url=self.redis_url,
            requests_from=len(self.r.fm.requests),
            logs_from={name: bot.log_mark() for name, bot in self.r.bots.items()},
        )

    async def alone(self, name: str) -> Failover:
        """The same cluster down to replica `name`: the others killed and out of the proxy,
        which sends every update to `name` from now on."""
        # Every backend the proxy began with (`sent` keeps them), in the replicas' order.
        backends = dict(zip(self.r.bots, self.r.proxy.sent, strict=True))
        for other, bot in self.r.bots.items():
            if other != name:
                await bot.kill()
        self.r.proxy.backends = [backends[name]]
        return replace(self, r=replace(self.r, bots={name: self.r.bots[name]}))

    def texts(self, chat_id: int) -> list[str]:
        return [t for t in self.shown(chat_id) if t != self.notice]

    def shown(self, chat_id: int) -> list[str]:
        chat = self.r.tg.chats.get(chat_id)
        return [] if chat is None else [m.text or "" for m in chat.bot_messages]

    def notices(self, chat_id: int) -> int:
        return self.shown(chat_id).count(self.notice)

    def ask(self, chat_id: int, n: int) -> None:
        text = f"question {abs(chat_id)}.{n} {TAIL}"
        if chat_id > 0:
            self.r.tg.send_user_message(chat_id, text)
        else:
            self.r.tg.send_user_message(
                chat_id, f"@{BOT_USERNAME} {text}", chat_type="supergroup",
                title=f"Group {chat_id}", user={"id": -chat_id, "first_name": "G"},
            )

    def expected(self, chat_id: int) -> list[str]:
        who = "G: " if chat_id < 0 else ""
        count = 2 if chat_id in self.busy else 1
        return [f"Echo: {who}question {abs(chat_id)}.{i} {TAIL}" for i in range(1, count + 1)]

    def wrong(self) -> dict[int, list[str]]:
        return {ch: self.texts(ch) for ch in [*self.busy, *self.late]
                if self.texts(ch) != self.expected(ch)}

    def logs(self) -> str:
        """The replicas' logs in this scenario."""
        return "\n".join(f"--- {name}:\n{bot.log_text()[self.logs_from.get(name, 0):]}"
                         for name, bot in self.r.bots.items())

    def answered(self, chat_id: int, n: int) -> bool:
        """Whether the chat shows the answer to its question `n`."""
        return self.expected(chat_id)[n - 1] in self.texts(chat_id)

    def messages(self, name: str) -> list[str]:
        """Replica `name`'s log messages in this scenario."""
        since = self.logs_from.get(name, 0)
        return [str(r.get("message", "")) for r in self.r.bots[name].log_records(since)]

    async def wait_for(self, predicate: Any, timeout: float) -> None:  # noqa: ASYNC109
        def check() -> object:
            for name, bot in self.r.bots.items():
                if not bot.running:
                    raise BotDiedError(f"{name} exited with {bot.returncode}:\n{bot.log_tail()}")
            return predicate()

        try:
            await self.r.tg.wait_for(check, timeout)
        except TimeoutError:
            tails = "\n".join(f"--- {n}:\n{b.log_tail(40)}" for n, b in self.r.bots.items())
            raise AssertionError(f"timed out; wrong chats: {self.wrong()}\n{tails}") from None

    def prompts(self) -> list[list[tuple[str, str]]]:
        """Each chat completion's messages as (role, text), in arrival order (this scenario's)."""
        out = []
        for request in self.r.fm.requests[self.requests_from:]:
            body = request.json
            if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
                continue
            out.append([
                (str(m.get("role")), str(m.get("text") or m.get("content") or ""))
                for m in body["messages"] if isinstance(m, dict)
            ])
        return out

    def history_problems(self) -> list[str]:
        """Second questions sent to the model without the first exchange before them."""
        problems = []
        for chat_id in self.busy:
            first, second = (f"question {abs(chat_id)}.{i} {TAIL}" for i in (1, 2))
            for messages in self.prompts():
                if not messages or second not in messages[-1][1]:
                    continue
                before = messages[:-1]
                asked = any(r == "user" and first in t for r, t in before)
                answered = any(r == "assistant" and "Echo: " in t and first in t
                               for r, t in before)
                if not (asked and answered):
                    problems.append(f"chat {chat_id}: {messages}")
        return problems


def through(proxy_port: int, url: str) -> str:
    return make_url(url).set(host="127.0.0.1", port=proxy_port).render_as_string(
        hide_password=False
    )


@asynccontextmanager
async def failover_cluster(
    names: Sequence[str], workdir: Path, *, postgres_url: str, redis_url: str,
    busy: Sequence[int] = (), late: Sequence[int] = (), extra: dict[str, str] | None = None,
    webhook_parallel: bool = False,
) -> AsyncIterator[Failover]:
    pg = make_url(postgres_url)
    db = TcpProxy(pg.host or "127.0.0.1", pg.port or 5432)
    db.port = free_port()
    await db.start()
    try:
        async with webhook_cluster(
            names, workdir, database_url=through(db.port, postgres_url), redis_url=redis_url,
            label="E2E-db-failover", ready_within=120,
            extra={"YANDEX_MAX_CONCURRENT_GENERATIONS": "60", **(extra or {})},
            webhook_parallel=webhook_parallel,
        ) as r:
            yield Failover(r, db, list(busy), list(late), redis_url=redis_url)
    finally:
        await db.stop()


async def ride_out(
    f: Failover, outage: float, *, interval: float = 0.45,
    meanwhile: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """The scenario (module docstring); fills `f.recovered` and `f.back`. An answer streams
    in 9 chunks `interval` apart (about 4 s): the database goes away while every first
    answer streams. `meanwhile` runs once every question of the outage is asked, while the
    database is still away."""
    fm = f.r.fm
    fm.default_chunks, fm.default_interval = 9, interval
    for chat_id in f.busy:
        f.ask(chat_id, 1)
        await asyncio.sleep(0.02)
    # Every first question reached the model (on a busy machine the first answers may end
    # before the last start, so this counts requests, not streams at once).
    await f.wait_for(
        lambda: sum(1 for m in f.prompts() if m and TAIL in m[-1][1]) >= len(f.busy), 60
    )
    # Every other chat asks again now: stored, its turn queued behind the streaming answer,
    # it starts while the database is away (and waits for it).
    early = f.busy[::2]
    for chat_id in early:
        f.ask(chat_id, 2)
    await f.wait_for(lambda: not f.r.tg.updates.pending, 30)
    await asyncio.sleep(0.5)  # the first frames are out (and their ids being noted)
    await f.db.stop()
    cut = time.monotonic()
    await asyncio.sleep(1.0)
    # Asked while the database is away: the other chats' second question, and first
    # questions of chats that had nothing streaming.
    for chat_id in f.busy:
        if chat_id not in early:
            f.ask(chat_id, 2)
            await asyncio.sleep(0.02)
    for chat_id in f.late:
        f.ask(chat_id, 1)
        await asyncio.sleep(0.02)
    if meanwhile is not None:
        await meanwhile()
    await asyncio.sleep(max(0.0, outage - (time.monotonic() - cut)))
    await f.db.start()
    f.back = back = time.monotonic()
    f.back_at = time.time()
    await f.wait_for(lambda: not f.wrong(), 120)
    f.recovered = time.monotonic() - back
    # The sweep would find an answer it thinks was cut short 2 s after the database is back,
    # and answer it again at once: give it more than that.
    await asyncio.sleep(4.0)
